/**
 * One command of the app image on the node that holds an instance's volumes: a Swarm
 * `replicated-job` constrained to that node, with the app service's image and mounts, hardened as
 * the service is, its output read back with `docker service logs`. It reaches any node through the
 * manager, and it runs while the app service is scaled to 0 (a restore). The program's pre-update
 * backup (components/swarm-instance.ts SWARM_PRE_UPDATE_BACKUP_SCRIPT) is the same kind of job.
 */
import { APP_USER, backupEnvironment } from "../../components/instance-inputs";
import { LABEL } from "../../components/app-contract";
import { lines, type CommandResult, type DockerRunner } from "./docker";
import { firstLine } from "./errors";

/** What a job needs of an instance's app service. */
export interface SwarmApp {
  readonly stack: string;
  readonly service: string;
  readonly instance: string;
  /** The node that holds the instance's volumes. */
  readonly node: string;
  /** The image the service runs (pinned by digest). */
  readonly image: string;
  /** The service's volume and bind mounts, as `--mount` values. */
  readonly mounts: readonly string[];
}

/** Sleeps without giving up the thread: the commands run docker synchronously. */
export const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** How a job is waited for; tests pass a sleep that returns at once. */
export interface JobOptions {
  readonly sleep?: (ms: number) => void;
  /** Seconds before a job that has not finished fails (its node may be down). Default 600. */
  readonly timeoutSeconds?: number;
  /** A suffix that makes the job's name unique. Default: the time in base 36. */
  readonly suffix?: string;
}

/** A job's service name: the app service's, the purpose, a unique suffix (a service name has at most 63 characters). */
export function jobName(service: string, purpose: string, suffix: string): string {
  const tail = `-${purpose}-${suffix}`;
  return `${service.slice(0, 63 - tail.length)}${tail}`;
}

/** `docker service create` of a job that runs `command` once on the instance's node. */
export function jobCreateArgs(app: SwarmApp, name: string, command: readonly string[]): string[] {
  const labels = [
    `${LABEL.managed}=true`,
    `${LABEL.stack}=${app.stack}`,
    `${LABEL.instance}=${app.instance}`,
    `${LABEL.role}=job`,
  ];
  return [
    "service",
    "create",
    "--quiet",
    "--detach",
    "--name",
    name,
    "--mode",
    "replicated-job",
    "--restart-condition",
    "none",
    ...labels.flatMap((l) => ["--label", l, "--container-label", l]),
    "--constraint",
    `node.hostname==${app.node}`,
    "--user",
    APP_USER,
    "--read-only",
    "--cap-drop",
    "ALL",
    "--mount",
    "type=tmpfs,dst=/tmp",
    ...Object.entries(backupEnvironment(app.instance)).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
    ...app.mounts.flatMap((m) => ["--mount", m]),
    app.image,
    ...command,
  ];
}

/** `docker inspect` of a job's task: state, container id, error. */
export const jobTaskArgs = (task: string): string[] => [
  "inspect",
  "--type",
  "task",
  "--format",
  "{{.Status.State}}\t{{if .Status.ContainerStatus}}{{.Status.ContainerStatus.ContainerID}}{{end}}\t{{.Status.Err}}",
  task,
];

/** Swarm task states after which a job's task does not run again. */
const DONE = new Set(["complete", "failed", "rejected", "shutdown", "orphaned", "remove"]);

/**
 * Runs `command` (argv after the image) once on the instance's node and returns its exit (0 when
 * the task completed, else 1), its stdout and its stderr. The job is removed afterwards, whatever
 * happened; so is its finished container when it ran on the engine the CLI talks to.
 */
export function runOnNode(
  docker: DockerRunner,
  app: SwarmApp,
  command: readonly string[],
  purpose: string,
  o: JobOptions = {},
): CommandResult {
  const sleep = o.sleep ?? sleepSync;
  const name = jobName(app.service, purpose, o.suffix ?? Date.now().toString(36));
  const created = docker(jobCreateArgs(app, name, command));
  if (created.status !== 0) {
    return { status: 1, stdout: "", stderr: `docker service create ${name} failed: ${firstLine(created.stderr)}` };
  }
  let state = "pending";
  let container = "";
  let error = "";
  try {
    const deadline = (o.timeoutSeconds ?? 600) * 2;
    for (let i = 0; i < deadline && !DONE.has(state); i++) {
      const task = lines(docker(["service", "ps", "--no-trunc", "-q", name]).stdout)[0];
      if (task) {
        const [s = "", c = "", e = ""] = docker(jobTaskArgs(task)).stdout.trim().split("\t");
        [state, container, error] = [s || state, c, e];
      }
      if (!DONE.has(state)) sleep(500);
    }
    const logs = docker(["service", "logs", "--raw", name]);
    if (state === "complete") return { status: 0, stdout: logs.stdout, stderr: logs.stderr };
    const why = DONE.has(state)
      ? `${state}${error ? `: ${error}` : ""}`
      : `not finished after ${o.timeoutSeconds ?? 600} s`;
    return {
      status: 1,
      stdout: logs.stdout,
      stderr: `${logs.stderr}${logs.stderr.endsWith("\n") || logs.stderr === "" ? "" : "\n"}job ${name} on node ${app.node}: ${why}`,
    };
  } finally {
    docker(["service", "rm", name]);
    if (container) docker(["rm", container]);
  }
}
