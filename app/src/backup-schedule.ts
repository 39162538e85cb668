/**
 * The backup sidecar's loop (`node dist/cli.js backup schedule`): a scheduled backup on the cron
 * expression, pruning, and the notifications (src/notify.ts) of a failed run and of stale backups.
 * A notification is sent without waiting for it: it never delays or fails a backup.
 */
import { existsSync } from "node:fs";
import { BackupError, type BackupSummary, createBackupRecorded, listBackups, pruneBackups, recordRun } from "./backup";
import { staleLimitSeconds } from "./backup-stale";
import type { Paths } from "./db";
import { backupFailed, backupStale, type NotificationPayload, type NotifyResult, sendNotification } from "./notify";

/** Whether the scheduled backups are stale: the newest is older than `limitSeconds`, or there is none after the sidecar ran that long. */
export function staleness(
  backups: readonly BackupSummary[],
  a: { readonly reason: string; readonly limitSeconds: number; readonly startedAt: Date; readonly now: Date },
): { stale: boolean; newest: BackupSummary | null; ageSeconds: number } {
  const newest = backups.find((b) => b.reason === a.reason) ?? null;
  const since = newest ? Date.parse(newest.createdAt) : a.startedAt.getTime();
  const ageSeconds = Math.max(0, Math.round((a.now.getTime() - since) / 1000));
  return { stale: ageSeconds > a.limitSeconds, newest, ageSeconds };
}

/** What the scheduler needs; tests pass fakes for the clock and the sender. */
export interface SchedulerOptions {
  readonly paths: Paths;
  readonly instance: string;
  readonly appVersion: string;
  readonly cron: string;
  readonly keep: number;
  readonly reason: string;
  readonly notifyUrl: string | undefined;
  readonly stack: string | undefined;
  /** One JSON line per run (stdout). */
  readonly out: (obj: unknown) => void;
  /** One line per error (stderr). */
  readonly err: (line: string) => void;
  readonly now?: () => Date;
  readonly send?: (url: string | undefined, payload: NotificationPayload) => Promise<NotifyResult>;
}

/** One scheduled backup run and the staleness check, with their notifications. */
export class BackupScheduler {
  private readonly startedAt: Date;
  /** Whether a stale notification was sent and no backup succeeded since (one notification per episode). */
  private staleNotified = false;
  /** Notifications still being delivered (tests wait for them; the loop never does). */
  readonly pending = new Set<Promise<NotifyResult>>();

  constructor(private readonly o: SchedulerOptions) {
    this.startedAt = this.now();
  }

  private now(): Date {
    return this.o.now ? this.o.now() : new Date();
  }

  private notify(payload: NotificationPayload): void {
    if (this.o.notifyUrl === undefined || this.o.notifyUrl === "") return;
    const p = (this.o.send ?? sendNotification)(this.o.notifyUrl, payload);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** The cron callback: back up (when there is a database), prune, then check staleness. */
  run(): void {
    const at = this.now().toISOString();
    const { paths, reason } = this.o;
    if (!existsSync(paths.dbFile)) {
      this.o.out({ at, skipped: "no database" });
      return;
    }
    try {
      const created = createBackupRecorded({ paths, instance: this.o.instance, appVersion: this.o.appVersion, reason });
      const pruned = pruneBackups(paths.backupDir, this.o.keep, reason);
      this.o.out({ at, id: created.id, pruned: pruned.deleted });
      this.staleNotified = false;
    } catch (err) {
      const error = (err as Error).message;
      if (err instanceof BackupError) recordRun(paths.backupDir, { at, ok: false, reason, id: null, error });
      this.o.err(JSON.stringify({ at, error }));
      this.notify(backupFailed({ stack: this.o.stack ?? null, instance: this.o.instance, schedule: this.o.cron, error }, this.now()));
    }
    this.checkStale();
  }

  /** Sends `backup.stale` once when the newest scheduled backup is older than twice the schedule's interval. */
  checkStale(): void {
    const now = this.now();
    if (!existsSync(this.o.paths.dbFile) || this.staleNotified) return;
    const limitSeconds = staleLimitSeconds(this.o.cron, now);
    let backups: BackupSummary[];
    try {
      backups = listBackups(this.o.paths.backupDir);
    } catch (err) {
      // An unreadable backups directory already failed the run (and notified); the loop goes on.
      this.o.err(JSON.stringify({ at: now.toISOString(), error: `stale check: ${(err as Error).message}` }));
      return;
    }
    const s = staleness(backups, { reason: this.o.reason, limitSeconds, startedAt: this.startedAt, now });
    if (!s.stale) return;
    this.staleNotified = true;
    this.o.err(JSON.stringify({ at: now.toISOString(), stale: s.newest?.id ?? null, ageSeconds: s.ageSeconds }));
    this.notify(
      backupStale(
        {
          stack: this.o.stack ?? null,
          instance: this.o.instance,
          schedule: this.o.cron,
          newest: s.newest ? { id: s.newest.id, createdAt: s.newest.createdAt } : null,
          ageSeconds: s.ageSeconds,
          limitSeconds,
        },
        now,
      ),
    );
  }
}
