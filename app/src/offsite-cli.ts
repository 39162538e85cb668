/**
 * `node dist/cli.js offsite ...`: the commands of the off-site container (see offsite.ts).
 *   run                                   the container's main process: copy, prune, check on schedule
 *   sync                                  one copy round now; exit 1 if any copy failed
 *   snapshots --instance I [--json]       the instance's snapshots in the repository
 *   fetch --instance I [--snapshot S]     bring a snapshot back into /backups/I (newest by default)
 *   check | prune                         run that maintenance step now
 *   health                                exit 1 when the last round failed or is overdue (healthcheck)
 */
import { Cron } from "croner";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { offsiteFailed, sendNotification } from "./notify";
import { Offsite, OffsiteError, type OffsiteSettings, offsiteSettings, resticRunner, tagValue, writeJsonAtomic } from "./offsite";

const STATUS = "status.json";

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** Deliveries to fleet:notify still under way; awaited before a one-shot command exits. */
const deliveries = new Set<Promise<unknown>>();

/**
 * Sends `offsite.failed` to fleet:notify (`NOTIFY_URL`, unset: nothing). Best-effort: the sender
 * never throws and gives up after its timeout (src/notify.ts), so a copy never waits on it.
 */
function notifyFailure(env: NodeJS.ProcessEnv, instance: string, error: string): void {
  const p = sendNotification(env.NOTIFY_URL, offsiteFailed({ stack: env.FLEET_STACK || null, instance, error }));
  deliveries.add(p);
  void p.finally(() => deliveries.delete(p));
}

/** Instances whose last copy failed: a failure is notified once per episode, not every round. */
const failing = new Set<string>();

/**
 * Every off-site event passes here: one JSON line on stdout (docker logs). A failed check or prune
 * is notified here; failed copies are notified by {@link round}, once per instance and episode.
 */
function report(env: NodeJS.ProcessEnv, event: string, detail: object): void {
  out({ at: new Date().toISOString(), event, ...detail });
  if (event === "check-failed" || event === "prune-failed") {
    notifyFailure(env, "repository", `restic ${event.slice(0, -"-failed".length)}: ${(detail as { error?: string }).error ?? "failed"}`);
  }
}

function build(env: NodeJS.ProcessEnv): { settings: OffsiteSettings; offsite: Offsite } {
  const settings = offsiteSettings(env);
  const restic = resticRunner(settings.resticOptions, { ...env, RESTIC_CACHE_DIR: path.join(settings.stateDir, "cache") });
  const offsite = new Offsite(settings, restic);
  for (const event of ["copied", "copy-failed", "check-ok", "check-failed", "prune-failed"] as const) {
    offsite.on(event, (detail: object) => report(env, event, detail));
  }
  return { settings, offsite };
}

async function round(settings: OffsiteSettings, offsite: Offsite, env: NodeJS.ProcessEnv): Promise<boolean> {
  let statuses: Record<string, { ok: boolean; error: string | null }>;
  try {
    await offsite.ensureRepository();
    statuses = await offsite.syncAll();
  } catch (err) {
    statuses = Object.fromEntries(settings.instances.map((i) => [i, { ok: false, error: (err as Error).message }]));
  }
  const ok = Object.values(statuses).every((s) => s.ok);
  writeJsonAtomic(path.join(settings.stateDir, STATUS), { at: new Date().toISOString(), ok, instances: statuses });
  for (const [instance, s] of Object.entries(statuses)) {
    if (s.ok) {
      failing.delete(instance);
      continue;
    }
    process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), instance, error: s.error })}\n`);
    if (!failing.has(instance)) notifyFailure(env, instance, s.error ?? "failed");
    failing.add(instance);
  }
  return ok;
}

async function daemon(settings: OffsiteSettings, offsite: Offsite, env: NodeJS.ProcessEnv): Promise<number> {
  // A copier killed mid-run leaves its lock in the repository; this removes locks whose holder is gone.
  await offsite.ensureRepository().catch(() => undefined);
  await offsite.unlock().catch(() => undefined);
  let busy: Promise<unknown> = Promise.resolve();
  const serial = (fn: () => Promise<unknown>): void => {
    busy = busy.then(fn).catch(() => undefined);
  };
  serial(() => round(settings, offsite, env));
  const timer = setInterval(() => serial(() => round(settings, offsite, env)), settings.intervalSeconds * 1000);
  const check = new Cron(settings.checkCron, { protect: true }, () => serial(() => offsite.check()));
  const prune = new Cron(settings.pruneCron, { protect: true }, () => serial(() => offsite.prune()));
  out({
    offsite: "running",
    instances: settings.instances,
    every: settings.intervalSeconds,
    check: settings.checkCron,
    prune: settings.pruneCron,
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      clearInterval(timer);
      check.stop();
      prune.stop();
      void busy.then(() => resolve());
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return 0;
}

/** Runs an `offsite` subcommand; returns the exit code. */
export async function runOffsiteCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { instance: { type: "string" }, snapshot: { type: "string" }, json: { type: "boolean" } },
  });
  const [command] = positionals;
  if (command === "health") {
    const stateDir = env.OFFSITE_STATE_DIR || "/state";
    const interval = Number(env.OFFSITE_INTERVAL_SECONDS || 60);
    let status: { at: string; ok: boolean; instances: Record<string, { ok: boolean; error: string | null }> };
    try {
      status = JSON.parse(readFileSync(path.join(stateDir, STATUS), "utf8")) as typeof status;
    } catch {
      process.stdout.write("no copy round finished yet\n");
      return 1;
    }
    const age = (Date.now() - Date.parse(status.at)) / 1000;
    const failed = Object.entries(status.instances).filter(([, s]) => !s.ok);
    for (const [i, s] of failed) process.stdout.write(`${i}: ${s.error ?? "failed"}\n`);
    if (age > 3 * interval + 600) process.stdout.write(`the last copy round finished ${Math.round(age)} s ago\n`);
    return failed.length === 0 && age <= 3 * interval + 600 ? 0 : 1;
  }
  const { settings, offsite } = build(env);
  const instance = () => {
    if (!values.instance) throw new OffsiteError("--instance NAME is required");
    return values.instance;
  };
  switch (command) {
    case "run":
      return daemon(settings, offsite, env);
    case "sync": {
      const ok = await round(settings, offsite, env);
      await Promise.all(deliveries);
      return ok ? 0 : 1;
    }
    case "snapshots": {
      const list = await offsite.snapshots(instance());
      const rows = list.map((s) => ({
        snapshot: s.short_id,
        time: s.time,
        id: tagValue(s, "id"),
        reason: tagValue(s, "reason"),
        versions: tagValue(s, "versions"),
      }));
      if (values.json) out(rows);
      else for (const r of rows) process.stdout.write(`${r.snapshot}  ${r.time}  ${r.reason ?? ""}  ${r.id ?? ""}\n`);
      return 0;
    }
    case "fetch":
      out(await offsite.fetch(instance(), values.snapshot));
      return 0;
    case "check":
    case "prune":
      try {
        await (command === "check" ? offsite.check() : offsite.prune());
      } finally {
        await Promise.all(deliveries);
      }
      return 0;
    default:
      throw new OffsiteError(`unknown command offsite ${command ?? ""} (run, sync, snapshots, fetch, check, prune, health)`.trim());
  }
}
