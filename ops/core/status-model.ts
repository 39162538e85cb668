/**
 * The row model of `npm run status` (and of the dashboard): what is declared (the instance files
 * and the stack config) against what a deploy target observed, one {@link StatusRow} per instance,
 * with every way it is off spelled out in `problems`. Pure: the target's observation comes in as
 * data ({@link Observation}), so a Docker host and a Swarm cluster can both feed it.
 */
import { staleLimitSeconds } from "../../app/src/backup-stale";
import type { InstanceSpec } from "../../components/spec";
import type { BackupSummary, LastRun, OffsiteSnapshot } from "../../components/app-contract";

/** One app container (or task) of an instance, as the target sees it. */
export interface ObservedContainer {
  readonly id: string;
  readonly name: string;
  readonly instance: string;
  readonly version: string;
  /** `running`, `exited`, `restarting`, ... */
  readonly state: string;
  /** `healthy`, `unhealthy`, `starting`, or `none` without a healthcheck. */
  readonly health: string;
  /** The last probe's output, trimmed, lines joined with " | ". */
  readonly lastProbe: string;
  readonly startedAt: string;
  readonly restarts: number;
}

/** What the target read inside an instance (through one of its containers). */
export interface ObservedData {
  readonly backups: readonly BackupSummary[];
  readonly lastRun: LastRun | null;
  readonly dataBytes: number | null;
  /** The instance's off-site snapshots, or null when the stack has no off-site copy. */
  readonly offsite: readonly OffsiteSnapshot[] | null;
  /** What could not be read (a failed exec), shown as a problem. */
  readonly error?: string;
}

/** Everything a target observed of a stack. */
export interface Observation {
  /** App containers of every instance, including ones no instance file declares any more. */
  readonly containers: readonly ObservedContainer[];
  /** instance -> the container id its route points to; null when the proxy could not be read. */
  readonly routes: ReadonlyMap<string, string> | null;
  /** What sends an instance its traffic, for messages. Default "the proxy". */
  readonly routedBy?: string;
  /** instance -> what the target itself says is off (a swarm: an update rolled back). Default none. */
  readonly problems?: ReadonlyMap<string, readonly string[]>;
  readonly data: ReadonlyMap<string, ObservedData>;
}

/** One instance's status. All times are ISO strings; ages in seconds at `now`. */
export interface StatusRow {
  readonly instance: string;
  /** The version the instance files and `fleet:version` declare; null for an undeclared instance. */
  readonly declared: string | null;
  /** Whether the instance file pins `declared`. */
  readonly pinned: boolean;
  /** The serving container's version (the route's target, else the newest running one). */
  readonly running: string | null;
  readonly container: string | null;
  readonly health: string;
  /** The last probe output when the serving container is not healthy. */
  readonly lastProbe: string | null;
  readonly uptimeSeconds: number | null;
  readonly restarts: number | null;
  /** The container the route points to (short id), or null without a route. */
  readonly route: string | null;
  readonly routeHealthy: boolean;
  readonly backup: {
    readonly enabled: boolean;
    readonly schedule: string | null;
    /** Newest backup's time, and the last attempt's outcome. */
    readonly lastAt: string | null;
    readonly ageSeconds: number | null;
    readonly ok: boolean | null;
    readonly error: string | null;
    readonly stale: boolean;
  };
  readonly offsite: { readonly lastAt: string; readonly ageSeconds: number; readonly snapshot: string } | null;
  readonly dataBytes: number | null;
  /** Every way the instance is off; empty when it is fine. */
  readonly problems: readonly string[];
}

const seconds = (from: string, now: Date) => Math.max(0, Math.round((now.getTime() - Date.parse(from)) / 1000));

/** The container that serves an instance: the route's target, else a healthy one, else the newest. */
function serving(containers: readonly ObservedContainer[], route: string | undefined): ObservedContainer | undefined {
  const byRoute = route === undefined ? undefined : containers.find((c) => c.id.startsWith(route));
  if (byRoute) return byRoute;
  const newest = [...containers].sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
  return newest.find((c) => c.health === "healthy") ?? newest[0];
}

/** The status rows: one per declared instance, then one per undeclared instance with containers. */
export function statusRows(
  instances: readonly InstanceSpec[],
  stackVersion: string,
  observed: Observation,
  now: Date,
): StatusRow[] {
  const declared = new Map(instances.map((i) => [i.name, i]));
  const names = [
    ...instances.map((i) => i.name),
    ...[...new Set(observed.containers.map((c) => c.instance))].filter((n) => !declared.has(n)).sort(),
  ];
  return names.map((name) => row(name, declared.get(name), stackVersion, observed, now));
}

function row(name: string, spec: InstanceSpec | undefined, stackVersion: string, o: Observation, now: Date): StatusRow {
  const problems: string[] = [];
  const mine = o.containers.filter((c) => c.instance === name);
  const routeId = o.routes?.get(name);
  const c = serving(mine, routeId);
  const declaredVersion = spec ? (spec.version ?? stackVersion) : null;
  if (!spec) problems.push("no instance file declares it (its data volume is kept)");
  if (!c) problems.push("no app container: not deployed, or removed");
  else {
    if (c.state !== "running") problems.push(`container ${c.name} is ${c.state}`);
    else if (c.health !== "healthy") problems.push(`${c.health}: ${c.lastProbe || "no probe output yet"}`);
    if (declaredVersion !== null && c.version !== declaredVersion) {
      problems.push(`runs ${c.version || "?"}, declared ${declaredVersion}`);
    }
  }
  const target = routeId === undefined ? undefined : mine.find((m) => m.id.startsWith(routeId));
  const routeHealthy = target !== undefined && target.state === "running" && target.health === "healthy";
  if (o.routes === null) problems.push("the proxy's routes could not be read");
  else if (routeId === undefined) problems.push(`no route: ${o.routedBy ?? "the proxy"} does not send traffic to it`);
  else if (!target) problems.push(`the route points to ${routeId}, which is not one of its containers`);
  else if (!routeHealthy) {
    problems.push(
      `the route points to ${target.name}, which is ${target.state === "running" ? target.health : target.state}`,
    );
  }

  problems.push(...(o.problems?.get(name) ?? []));
  const data = o.data.get(name);
  if (data?.error) problems.push(data.error);
  const newest = data?.backups[0];
  const enabled = spec?.backup.enabled ?? false;
  const schedule = spec && enabled ? spec.backup.schedule : null;
  const lastAt = newest?.createdAt ?? null;
  const ageSeconds = lastAt === null ? null : seconds(lastAt, now);
  const failed = data?.lastRun && !data.lastRun.ok ? data.lastRun : null;
  if (failed) problems.push(`the last backup failed at ${failed.at}: ${failed.error ?? "no error text"}`);
  let stale = false;
  if (schedule !== null && data && !data.error) {
    const limit = staleLimitSeconds(schedule, now);
    // Without any backup yet, the clock starts when the container did (a first deploy).
    const since = ageSeconds ?? (c ? seconds(c.startedAt, now) : 0);
    stale = since > limit;
    if (stale) {
      problems.push(
        lastAt === null
          ? `no backup yet, ${since} s after start; the schedule "${schedule}" allows ${limit} s`
          : `the newest backup is ${ageSeconds} s old; twice the schedule "${schedule}" is ${limit} s`,
      );
    }
  }
  const snap = data?.offsite?.at(-1);
  return {
    instance: name,
    declared: declaredVersion,
    pinned: spec?.version !== undefined,
    running: c?.version ?? null,
    container: c?.name ?? null,
    health: c ? (c.state === "running" ? c.health : c.state) : "missing",
    lastProbe: c && c.state === "running" && c.health !== "healthy" ? c.lastProbe || null : null,
    uptimeSeconds: c && c.state === "running" ? seconds(c.startedAt, now) : null,
    restarts: c?.restarts ?? null,
    route: routeId ?? null,
    routeHealthy,
    backup: {
      enabled,
      schedule,
      lastAt,
      ageSeconds,
      ok: data?.lastRun ? data.lastRun.ok : newest ? true : null,
      error: failed?.error ?? null,
      stale,
    },
    offsite: snap ? { lastAt: snap.time, ageSeconds: seconds(snap.time, now), snapshot: snap.snapshot } : null,
    dataBytes: data?.dataBytes ?? null,
    problems,
  };
}

/** A duration as the table shows it: 45s, 12m, 5h, 3d. */
export function showAge(s: number | null): string {
  if (s === null) return "-";
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** Bytes as the table shows them: 512B, 1.5K, 12M, 3.2G. */
export function showBytes(b: number | null): string {
  if (b === null) return "-";
  const units = ["B", "K", "M", "G", "T"];
  let v = b;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v}B` : `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

/** The table's columns for one row. */
export function statusCells(r: StatusRow): string[] {
  const backup =
    r.backup.lastAt === null
      ? r.backup.enabled
        ? "none yet"
        : "off"
      : `${showAge(r.backup.ageSeconds)} ago ${r.backup.ok === false ? "FAILED" : "ok"}${r.backup.stale ? " STALE" : ""}`;
  return [
    r.instance,
    r.declared === null ? "-" : `${r.declared}${r.pinned ? " (pin)" : ""}`,
    r.running ?? "-",
    r.health + (r.lastProbe ? `: ${r.lastProbe.slice(0, 60)}` : ""),
    r.uptimeSeconds === null ? "-" : `${showAge(r.uptimeSeconds)} / ${r.restarts ?? 0}`,
    r.route === null ? "-" : `${r.route} ${r.routeHealthy ? "ok" : "BAD"}`,
    backup,
    r.offsite ? `${showAge(r.offsite.ageSeconds)} ago` : "-",
    showBytes(r.dataBytes),
    r.problems.length === 0 ? "ok" : "OFF",
  ];
}

/** The table's header. */
export const STATUS_HEAD = [
  "instance",
  "declared",
  "running",
  "health",
  "up / restarts",
  "route",
  "backup",
  "off-site",
  "data",
  "",
] as const;
