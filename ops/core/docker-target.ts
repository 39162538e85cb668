/**
 * What `status` and `logs` ask a plain Docker host, as argv builders (tested as data) and parsers
 * of what Docker prints. `observeDocker` runs them through a {@link DockerRunner} and returns the
 * target-neutral {@link Observation} of ops/core/status-model.ts; another target (Swarm) supplies
 * its own observation and reuses the model, the table and the command.
 */
import {
  backupListArgs,
  BackupSummary,
  BACKUP_DIR,
  ContractError,
  DATA_DIR,
  LABEL,
  labelFilters,
  LAST_RUN_FILE,
  LastRun,
  offsiteSnapshotsArgs,
  OffsiteSnapshot,
  parseAppJson,
} from "../../components/app-contract";
import { ROUTES_DIR, SOCKETS_DIR } from "../../components/proxy-config";
import { dockerOk, lastProbeOutput, lines, type DockerRunner } from "./docker";
import { firstLine } from "./errors";
import type { Observation, ObservedContainer, ObservedData } from "./status-model";

/** A fleet container of the stack, as {@link stackContainersArgs} lists it. */
export interface StackContainer {
  readonly id: string;
  readonly role: string;
  readonly instance: string;
}

/** `docker ps -a` of every fleet container of a stack: id, role, instance. */
export function stackContainersArgs(stack: string): string[] {
  return [
    "ps",
    "-a",
    "--no-trunc",
    ...labelFilters({ stack }),
    "--format",
    `{{.ID}}\t{{.Label "${LABEL.role}"}}\t{{.Label "${LABEL.instance}"}}`,
  ];
}

/** Parses {@link stackContainersArgs}' output. */
export function parseStackContainers(stdout: string): StackContainer[] {
  return lines(stdout).map((l) => {
    const [id = "", role = "", instance = ""] = l.split("\t");
    return { id, role, instance };
  });
}

/** The fields of `docker inspect` that status reads. */
interface Inspected {
  Id: string;
  Name: string;
  RestartCount?: number;
  State: { Status: string; StartedAt: string; Health?: { Status: string; Log?: { Output?: string }[] } | null };
  Config: { Labels?: Record<string, string> | null };
}

/** Parses `docker inspect <id>...` into app containers. */
export function parseInspect(stdout: string): ObservedContainer[] {
  const all = JSON.parse(stdout) as Inspected[];
  return all.map((c) => ({
    id: c.Id,
    name: c.Name.replace(/^\//, ""),
    instance: c.Config.Labels?.[LABEL.instance] ?? "",
    version: c.Config.Labels?.[LABEL.version] ?? "",
    state: c.State.Status,
    health: c.State.Health?.Status ?? "none",
    lastProbe: lastProbeOutput(c.State.Health?.Log),
    startedAt: c.State.StartedAt,
    restarts: c.RestartCount ?? 0,
  }));
}

/** Lists the proxy's route symlinks, one `<link>\t<target>` line each (components/proxy-config.ts). */
export function routesArgs(proxy: string): string[] {
  const script = `for f in ${ROUTES_DIR}/*.sock; do [ -L "$f" ] && printf '%s\\t%s\\n' "$f" "$(readlink "$f")"; done; true`;
  return ["exec", proxy, "sh", "-c", script];
}

/** instance -> the short container id its route's socket belongs to (`<SOCKETS_DIR>/<name>/<id>.sock`). */
export function parseRoutes(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines(stdout)) {
    const [link = "", target = ""] = l.split("\t");
    const instance = link.slice(ROUTES_DIR.length + 1).replace(/\.sock$/, "");
    const m = new RegExp(`^${SOCKETS_DIR}/([^/]+)/([0-9a-f]+)\\.sock$`).exec(target);
    if (m && m[1] === instance && m[2]) out.set(instance, m[2]);
  }
  return out;
}

/** Separates the parts of {@link instanceDataArgs}' output. */
export const SEPARATOR = "--fleet-status--";

/** One exec in an instance's container: data size, the last backup attempt, the backup list. */
export function instanceDataArgs(container: string): string[] {
  const script =
    `du -sb ${DATA_DIR} | cut -f1; echo ${SEPARATOR}; cat ${BACKUP_DIR}/${LAST_RUN_FILE} 2>/dev/null; ` +
    `echo; echo ${SEPARATOR}; exec "$@"`;
  return ["exec", container, "sh", "-c", script, "sh", ...backupListArgs()];
}

/** Parses {@link instanceDataArgs}' output against the app's contract. */
export function parseInstanceData(stdout: string): Omit<ObservedData, "offsite"> {
  const [du = "", lastRun = "", list = ""] = stdout.split(`${SEPARATOR}\n`);
  const bytes = Number.parseInt(du.trim(), 10);
  return {
    dataBytes: Number.isFinite(bytes) ? bytes : null,
    lastRun: lastRun.trim() === "" ? null : parseAppJson(LAST_RUN_FILE, LastRun, lastRun),
    backups: parseAppJson("backup list --json", BackupSummary.array(), list),
  };
}

/** The container to read an instance's data through: a running app container, else its backup sidecar. */
function readerOf(stack: readonly StackContainer[], observed: readonly ObservedContainer[], instance: string) {
  const running = observed.filter((c) => c.instance === instance && c.state === "running");
  const app = running.find((c) => c.health === "healthy") ?? running[0];
  if (app) return app.id;
  return stack.find((c) => c.instance === instance && c.role === "backup")?.id;
}

/** Observes a stack on a Docker host: containers, routes, and each instance's backups and data. */
export function observeDocker(docker: DockerRunner, stack: string): Observation {
  const all = parseStackContainers(dockerOk(docker, stackContainersArgs(stack)));
  const apps = all.filter((c) => c.role === "app");
  const containers = apps.length === 0 ? [] : parseInspect(dockerOk(docker, ["inspect", ...apps.map((c) => c.id)]));
  const proxy = all.find((c) => c.role === "proxy");
  // No proxy yet (never deployed): no instance has a route.
  let routes: Map<string, string> | null = proxy ? null : new Map();
  if (proxy) {
    const r = docker(routesArgs(proxy.id));
    if (r.status === 0) routes = parseRoutes(r.stdout);
  }
  const offsite = all.find((c) => c.role === "offsite");
  const data = new Map<string, ObservedData>();
  for (const instance of [...new Set(containers.map((c) => c.instance))]) {
    const reader = readerOf(all, containers, instance);
    const snaps = offsite ? readOffsite(docker, offsite.id, instance) : null;
    if (!reader) continue;
    const r = docker(instanceDataArgs(reader));
    try {
      if (r.status !== 0) throw new ContractError(`exit ${r.status}: ${firstLine(r.stderr) || firstLine(r.stdout)}`);
      data.set(instance, { ...parseInstanceData(r.stdout), offsite: snaps });
    } catch (e) {
      if (!(e instanceof ContractError)) throw e;
      const error = `the backups could not be read: ${e.message}`;
      data.set(instance, { backups: [], lastRun: null, dataBytes: null, offsite: snaps, error });
    }
  }
  return { containers, routes, data };
}

function readOffsite(docker: DockerRunner, container: string, instance: string): OffsiteSnapshot[] | null {
  const r = docker(["exec", container, ...offsiteSnapshotsArgs(instance)]);
  if (r.status !== 0) return null;
  try {
    return parseAppJson("offsite snapshots --json", OffsiteSnapshot.array(), r.stdout);
  } catch {
    return null;
  }
}

/**
 * The proxy's view of who listens where. The proxy runs in the host's network namespace, so its
 * /proc/net/tcp{,6} list the host's sockets; a listening socket whose inode is an open fd of a
 * process in the proxy container is the proxy's (proc(5): /proc/net/tcp, /proc/PID/fd).
 */
export function listenersArgs(proxy: string): string[] {
  return [
    "exec",
    proxy,
    "sh",
    "-c",
    `cat /proc/net/tcp /proc/net/tcp6; echo ${SEPARATOR}; ls -l /proc/[0-9]*/fd 2>/dev/null; true`,
  ];
}

/** The ports the proxy's processes listen on, from {@link listenersArgs}' output. */
export function parseProxyPorts(stdout: string): Set<number> {
  const [tcp = "", fds = ""] = stdout.split(`${SEPARATOR}\n`);
  const mine = new Set([...fds.matchAll(/socket:\[(\d+)\]/g)].map((m) => m[1]));
  const ports = new Set<number>();
  for (const line of lines(tcp)) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode; st 0A is LISTEN.
    if (f[3] === "0A" && mine.has(f[9])) ports.add(Number.parseInt(f[1]?.split(":")[1] ?? "", 16));
  }
  return ports;
}
