/**
 * When scheduled backups are stale: the newest is older than twice the schedule's interval. One
 * definition for the backup sidecar's `backup.stale` notification (backup-schedule.ts), the
 * dashboard (dashboard.ts) and `npm run status` (ops/core/status-model.ts, outside the image).
 * Depends on croner only, so the operator commands can import it without the app's database.
 */
import { Cron } from "croner";

/** How many runs ahead the interval of a schedule is measured (an irregular one, such as weekdays only, takes its longest gap). */
const RUNS_MEASURED = 10;

/** The longest gap between two runs of `cron` among its next runs after `from`, in seconds. */
export function scheduleIntervalSeconds(cron: string, from: Date): number {
  const runs = new Cron(cron, { paused: true }).nextRuns(RUNS_MEASURED, from);
  let longest = 0;
  for (let i = 1; i < runs.length; i++) longest = Math.max(longest, (runs[i]!.getTime() - runs[i - 1]!.getTime()) / 1000);
  return longest;
}

/** The age in seconds past which the backups of `cron` are stale, measured at `at`. */
export function staleLimitSeconds(cron: string, at: Date): number {
  return 2 * scheduleIntervalSeconds(cron, at);
}
