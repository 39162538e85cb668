/**
 * What `status` and `logs` ask a Docker Swarm (`fleet:target swarm`), as argv builders (tested as
 * data) and parsers of what the manager prints. `observeSwarm` returns the target-neutral
 * {@link Observation} of ops/core/status-model.ts, as ops/core/docker-target.ts does for one host:
 * an instance's "container" is its service's current task, its route is the published port
 * (Swarm sends it to the running task), and Swarm's own verdicts (an update rolled back or
 * paused, a task that cannot be placed) become problems of the instance.
 */
import { ContractError, LABEL, labelFilters } from "../../components/app-contract";
import { dockerOk, lines, logFlags, type DockerRunner } from "./docker";
import { CliError, firstLine } from "./errors";
import { instanceDataArgs, parseInstanceData } from "./docker-target";
import type { Observation, ObservedContainer, ObservedData } from "./status-model";
import { runOnNode, type JobOptions, type SwarmApp } from "./swarm-jobs";

/** The label the swarm target puts on an app service: the node that holds the instance's volumes. */
export const NODE_LABEL = "fleet.node";

/** `docker service ls -q` of every fleet service of a stack (apps and backup services). */
export const stackServicesArgs = (stack: string): string[] => ["service", "ls", "-q", ...labelFilters({ stack })];

/** The fields of `docker service inspect` that the swarm target reads. */
interface InspectedService {
  ID: string;
  Spec: {
    Name: string;
    Labels?: Record<string, string> | null;
    Mode?: { Replicated?: { Replicas?: number } };
    TaskTemplate: {
      ContainerSpec: {
        Image: string;
        Mounts?: {
          Type: string;
          Source?: string;
          Target: string;
          VolumeOptions?: { Labels?: Record<string, string> };
        }[];
      };
      Placement?: { Constraints?: string[] | null };
    };
  };
  UpdateStatus?: { State?: string; Message?: string } | null;
}

/** A fleet service as the commands use it. */
export interface FleetService {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly instance: string;
  readonly version: string;
  /** The node its tasks are constrained to (`fleet.node`, else `node.hostname==` in the placement). */
  readonly node: string;
  readonly image: string;
  readonly replicas: number;
  /** The spec's volume and bind mounts, as `docker service create --mount` takes them. */
  readonly mounts: readonly string[];
  /** `UpdateStatus.State` (`updating`, `completed`, `rollback_completed`, `paused`, ...), "" when never updated. */
  readonly updateState: string;
  readonly updateMessage: string;
}

/** `--mount` flags of a service's volume and bind mounts (tmpfs mounts are the job's own). */
function mountFlags(mounts: InspectedService["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"]): string[] {
  return (mounts ?? [])
    .filter((m) => (m.Type === "volume" || m.Type === "bind") && m.Source)
    .map((m) =>
      [
        `type=${m.Type}`,
        `src=${m.Source}`,
        `dst=${m.Target}`,
        // A job may be the first to create the volume on its node (a move): it gets the same labels.
        ...Object.entries(m.VolumeOptions?.Labels ?? {}).map(([k, v]) => `volume-label=${k}=${v}`),
      ].join(","),
    );
}

/** Parses `docker service inspect <id>...`. */
export function parseServices(stdout: string): FleetService[] {
  return (JSON.parse(stdout) as InspectedService[]).map((s) => {
    const labels = s.Spec.Labels ?? {};
    const constraint = (s.Spec.TaskTemplate.Placement?.Constraints ?? []).find((c) => c.startsWith("node.hostname=="));
    return {
      id: s.ID,
      name: s.Spec.Name,
      role: labels[LABEL.role] ?? "",
      instance: labels[LABEL.instance] ?? "",
      version: labels[LABEL.version] ?? "",
      node: labels[NODE_LABEL] ?? constraint?.slice("node.hostname==".length) ?? "",
      image: s.Spec.TaskTemplate.ContainerSpec.Image,
      replicas: s.Spec.Mode?.Replicated?.Replicas ?? 0,
      mounts: mountFlags(s.Spec.TaskTemplate.ContainerSpec.Mounts),
      updateState: s.UpdateStatus?.State ?? "",
      updateMessage: s.UpdateStatus?.Message ?? "",
    };
  });
}

/** Every fleet service of a stack, inspected. */
export function stackServices(docker: DockerRunner, stack: string): FleetService[] {
  const ids = lines(dockerOk(docker, stackServicesArgs(stack)));
  return ids.length === 0 ? [] : parseServices(dockerOk(docker, ["service", "inspect", ...ids]));
}

/** `docker service ps -q` of services: their tasks, current and past (Swarm keeps a few per slot). */
export const serviceTasksArgs = (services: readonly string[]): string[] => [
  "service",
  "ps",
  "--no-trunc",
  "-q",
  ...services,
];

/** The fields of `docker inspect --type task` that the swarm target reads. */
interface InspectedTask {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Spec: { ContainerSpec?: { Labels?: Record<string, string> | null } };
  Status: {
    Timestamp: string;
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string } | null;
  };
}

/** One task of a service. */
export interface SwarmTask {
  readonly id: string;
  readonly serviceId: string;
  readonly slot: number;
  readonly nodeId: string;
  readonly desired: string;
  /** Swarm's task state: `new` ... `starting`, `running`, `complete`, `failed`, `shutdown`, `rejected`, ... */
  readonly state: string;
  readonly since: string;
  /** The error when it failed, else Swarm's message (`started`, `no suitable node ...`). */
  readonly message: string;
  readonly containerId: string;
  readonly version: string;
}

/** Parses `docker inspect --type task <id>...`. */
export function parseTasks(stdout: string): SwarmTask[] {
  return (JSON.parse(stdout) as InspectedTask[]).map((t) => ({
    id: t.ID,
    serviceId: t.ServiceID,
    slot: t.Slot ?? 0,
    nodeId: t.NodeID ?? "",
    desired: t.DesiredState,
    state: t.Status.State,
    since: t.Status.Timestamp,
    message: t.Status.Err || t.Status.Message || "",
    containerId: t.Status.ContainerStatus?.ContainerID ?? "",
    version: t.Spec.ContainerSpec?.Labels?.[LABEL.version] ?? "",
  }));
}

/** The tasks of services, inspected. */
export function serviceTasks(docker: DockerRunner, services: readonly string[]): SwarmTask[] {
  if (services.length === 0) return [];
  const ids = lines(dockerOk(docker, serviceTasksArgs(services)));
  return ids.length === 0 ? [] : parseTasks(dockerOk(docker, ["inspect", "--type", "task", ...ids]));
}

/** `docker node ls`: id, hostname, and whether it is the node the CLI talks to. */
export const nodesArgs = (): string[] => ["node", "ls", "--format", "{{.ID}}\t{{.Hostname}}\t{{.Self}}"];

/** The swarm's nodes by id, and the id of the one `fleet:dockerHost` reaches. */
export function parseNodes(stdout: string): { names: Map<string, string>; self: string } {
  const names = new Map<string, string>();
  let self = "";
  for (const l of lines(stdout)) {
    const [id = "", host = "", isSelf = ""] = l.split("\t");
    names.set(id, host);
    if (isSelf === "true") self = id;
  }
  return { names, self };
}

/** States of a task that still runs or is on its way to (Swarm's TaskState before `running`). */
const ACTIVE = new Set(["new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"]);
/** States of a task that failed (Swarm replaced it, or will). */
const FAILED = new Set(["failed", "rejected"]);

/** Whether a task still holds (or is about to hold) its node's volumes. */
export const taskIsLive = (t: SwarmTask): boolean => t.state === "running" || ACTIVE.has(t.state);

/**
 * A task as an {@link ObservedContainer}. Swarm reports `running` only once the healthcheck has
 * passed (moby daemon/cluster/executor/container/controller.go: Start waits for "healthy"), and
 * fails the task when it turns unhealthy, so a running task is healthy and a `starting` one is a
 * running container whose healthcheck has not passed yet.
 */
function observedTask(t: SwarmTask, service: FleetService, node: string, restarts: number): ObservedContainer {
  const running = t.state === "running" || t.state === "starting";
  return {
    id: t.containerId || t.id,
    // A task not placed yet has no node.
    name: `${service.name}.${t.slot}${node || t.nodeId ? `@${node || t.nodeId}` : ""}`,
    instance: service.instance,
    version: t.version,
    state: running ? "running" : t.state,
    health: t.state === "running" ? "healthy" : t.state === "starting" ? "starting" : "none",
    lastProbe: t.state === "running" ? "" : t.message,
    startedAt: t.since,
    restarts,
  };
}

/** What the swarm target adds to an instance's problems: an update Swarm rolled back or paused. */
export function updateProblems(s: FleetService): string[] {
  const verdict: Record<string, string> = {
    rollback_completed: "Swarm rolled the last update back",
    rollback_paused: "Swarm paused the roll back of the last update",
    paused: "Swarm paused the last update",
    rollback_started: "Swarm is rolling the last update back",
  };
  const v = verdict[s.updateState];
  return v ? [`${v}${s.updateMessage ? `: ${s.updateMessage}` : ""}`] : [];
}

/** Observes a stack on a swarm: its app services' tasks, and each instance's backups and data. */
export function observeSwarm(docker: DockerRunner, stack: string, o: JobOptions = {}): Observation {
  const services = stackServices(docker, stack);
  const apps = services.filter((s) => s.role === "app");
  const { names, self } = parseNodes(dockerOk(docker, nodesArgs()));
  const tasks = serviceTasks(
    docker,
    apps.map((s) => s.id),
  );
  const containers: ObservedContainer[] = [];
  const routes = new Map<string, string>();
  const problems = new Map<string, string[]>();
  const data = new Map<string, ObservedData>();
  for (const s of apps) {
    const mine = tasks.filter((t) => t.serviceId === s.id);
    const restarts = mine.filter((t) => FAILED.has(t.state)).length;
    const current = mine.filter((t) => t.desired === "running" || taskIsLive(t));
    containers.push(...current.map((t) => observedTask(t, s, names.get(t.nodeId) ?? "", restarts)));
    const serving = current.find((t) => t.state === "running");
    if (serving) routes.set(s.instance, (serving.containerId || serving.id).slice(0, 12));
    problems.set(s.instance, updateProblems(s));
    const local = serving && serving.nodeId === self ? serving.containerId : "";
    data.set(s.instance, readData(docker, swarmApp(stack, s), local, o));
  }
  return { containers, routes, routedBy: "Swarm's published port", problems, data };
}

/**
 * An instance's data, last backup attempt and backups: by `docker exec` in its running task when
 * that runs on the node the CLI talks to, else by a job on the instance's node (ops/core/swarm-jobs.ts).
 */
function readData(docker: DockerRunner, app: SwarmApp, localContainer: string, o: JobOptions): ObservedData {
  const argv = instanceDataArgs(localContainer || "-");
  const r = localContainer ? docker(argv) : runOnNode(docker, app, argv.slice(2), "status", o);
  try {
    if (r.status !== 0) throw new ContractError(`exit ${r.status}: ${firstLine(r.stderr) || firstLine(r.stdout)}`);
    return { ...parseInstanceData(r.stdout), offsite: null };
  } catch (e) {
    if (!(e instanceof ContractError)) throw e;
    return {
      backups: [],
      lastRun: null,
      dataBytes: null,
      offsite: null,
      error: `the backups could not be read on node ${app.node}: ${e.message}`,
    };
  }
}

/** What a job on an instance's node needs of its app service. */
export function swarmApp(stack: string, s: FleetService): SwarmApp {
  return { stack, service: s.name, instance: s.instance, node: s.node, image: s.image, mounts: s.mounts };
}

/** `docker service logs` of one service. */
export function serviceLogsArgs(
  service: string,
  o: { follow: boolean; since?: string; tail?: string; json: boolean },
): string[] {
  // --raw: the lines as the app wrote them, as `docker logs` prints them (no task prefix).
  return ["service", "logs", "--raw", ...logFlags(o), service];
}

/** An instance's services on a swarm. */
export interface SwarmInstanceServices {
  readonly app: FleetService;
  /** The backup service; undefined when the instance file turns backups off. */
  readonly backup: FleetService | undefined;
}

/**
 * Finds an instance's app service (and its backup service) by their labels.
 * @throws CliError when the instance has no app service in the stack
 */
export function findSwarmInstance(docker: DockerRunner, stack: string, instance: string): SwarmInstanceServices {
  const mine = stackServices(docker, stack).filter((s) => s.instance === instance);
  const app = mine.find((s) => s.role === "app");
  if (!app) {
    throw new CliError(
      `no app service for instance ${instance} in stack ${stack} (labels fleet.stack=${stack}, ` +
        `fleet.instance=${instance}, fleet.role=app). Check the name (the instance file's base name) and that ` +
        `it is deployed: \`docker service ls --filter label=fleet.instance=${instance}\`.`,
    );
  }
  return { app, backup: mine.find((s) => s.role === "backup") };
}

/** The services whose logs `npm run logs` shows on a swarm: the app service, then (with --all) the backup service. */
export function logServices(docker: DockerRunner, stack: string, instance: string, all: boolean) {
  const { app, backup } = findSwarmInstance(docker, stack, instance);
  return [app, ...(all && backup ? [backup] : [])].map((s) => ({ prefix: s.name, service: s.name }));
}
