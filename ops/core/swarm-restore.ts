/**
 * An instance's backups on a swarm, for `restore` and `rollback`: listed in the instance's task
 * (or by a job on its node), and a restore that stops the writer. The steps, each checked:
 *
 * 1. a backup of the current data, taken and verified on the instance's node while it serves
 *    (nothing is stopped when this fails);
 * 2. the app service and its backup service scaled to 0, waiting until no task of either runs
 *    (SQLite has one writer, and the restore swaps the database file);
 * 3. the offline `backup restore` in a job on the node that holds the volume (the app takes its
 *    own safety backup under its lock, and puts it back if migrating the restored copy fails);
 * 4. both services scaled back to what they were, whatever step 3 did, waiting until the app's
 *    task runs (Swarm reports `running` only once its healthcheck has passed).
 */
import {
  backupCreateArgs,
  backupListArgs,
  backupRestoreOfflineArgs,
  BackupSummary,
  backupVerifyArgs,
  ContractError,
  CreatedBackup,
  parseAppJson,
  RestoredBackup,
  VerifiedBackup,
} from "../../components/app-contract";
import type { z } from "zod";
import { dockerOk, type CommandResult, type DockerRunner } from "./docker";
import { CliError, firstLine, type Output } from "./errors";
import { runOnNode, sleepSync, type JobOptions, type SwarmApp } from "./swarm-jobs";
import {
  nodesArgs,
  parseNodes,
  serviceTasks,
  swarmApp,
  taskIsLive,
  type FleetService,
  type SwarmInstanceServices,
} from "./swarm-target";

/** The container of the app's running task when it runs on the node the CLI talks to, else "". */
export function localTaskContainer(docker: DockerRunner, app: FleetService): string {
  const { self } = parseNodes(dockerOk(docker, nodesArgs()));
  const running = serviceTasks(docker, [app.id]).find((t) => t.state === "running" && t.nodeId === self);
  return running?.containerId ?? "";
}

/** Runs the app's CLI for an instance: in its running task on this node, else in a job on its node. */
export function runInInstance(
  docker: DockerRunner,
  app: SwarmApp,
  localContainer: string,
  argv: readonly string[],
  purpose: string,
  o: JobOptions = {},
): CommandResult {
  return localContainer ? docker(["exec", localContainer, ...argv]) : runOnNode(docker, app, argv, purpose, o);
}

/** Parses what the app printed, or fails naming the step and what went wrong. */
function parsed<T extends z.ZodType>(step: string, schema: T, r: CommandResult): z.infer<T> {
  try {
    if (r.status !== 0) throw new ContractError(`exit ${r.status}: ${firstLine(r.stderr) || firstLine(r.stdout)}`);
    return parseAppJson(step, schema, r.stdout.trim());
  } catch (e) {
    if (e instanceof ContractError) throw new CliError(`${step} failed: ${e.message}`);
    throw e;
  }
}

/** The backups of an instance on a swarm. */
export function swarmBackups(
  docker: DockerRunner,
  stack: string,
  s: SwarmInstanceServices,
  o: JobOptions = {},
): BackupSummary[] {
  const local = localTaskContainer(docker, s.app);
  return parsed(
    `backup list on node ${s.app.node}`,
    BackupSummary.array(),
    runInInstance(docker, swarmApp(stack, s.app), local, backupListArgs(), "list", o),
  );
}

/** `docker service scale --detach <service>=<n> ...` */
export const scaleArgs = (to: readonly { service: string; replicas: number }[]): string[] => [
  "service",
  "scale",
  "--detach",
  ...to.map((t) => `${t.service}=${t.replicas}`),
];

/** Effects of a swarm restore beyond the runner; tests pass a sleep that returns at once. */
export interface SwarmRestoreOptions extends JobOptions {
  /** Seconds to wait for the tasks to stop, and for the app's task to run again. Default 300. */
  readonly waitSeconds?: number;
}

/**
 * Polls until `done` holds, every half second, for at most `seconds`.
 * @returns whether it held in time
 */
function waitFor(done: () => boolean, seconds: number, sleep: (ms: number) => void): boolean {
  for (let i = 0; i < seconds * 2; i++) {
    if (done()) return true;
    sleep(500);
  }
  return done();
}

/**
 * Restores backup `backupId` into an instance on a swarm (the steps at the top of this file).
 * Returns the exit code; the output names every step.
 */
export function restoreOnSwarm(
  d: Output & { readonly docker: DockerRunner },
  stack: string,
  s: SwarmInstanceServices,
  backupId: string,
  trust = false,
  o: SwarmRestoreOptions = {},
): number {
  const { docker } = d;
  const sleep = o.sleep ?? sleepSync;
  const wait = o.waitSeconds ?? 300;
  const app = swarmApp(stack, s.app);
  const instance = s.app.instance;
  const node = s.app.node;

  const local = localTaskContainer(docker, s.app);
  const created = parsed(
    `the safety backup of ${instance} on node ${node}`,
    CreatedBackup,
    runInInstance(docker, app, local, backupCreateArgs({ reason: "pre-restore", ifExists: true }), "backup", o),
  );
  if ("id" in created) {
    const verified = parsed(
      `verifying the safety backup ${created.id}`,
      VerifiedBackup,
      runInInstance(docker, app, local, backupVerifyArgs(created.id), "verify", o),
    );
    if (!verified.ok) {
      throw new CliError(`the safety backup ${created.id} failed verification: ${verified.problems.join("; ")}`);
    }
    d.out(`Safety backup ${created.id} of ${instance} taken and verified on node ${node}.`);
  } else {
    d.out(`${instance} has no database on node ${node} yet: nothing to keep.`);
  }

  const services = [s.app, ...(s.backup ? [s.backup] : [])];
  const ids = services.map((x) => x.id);
  d.out(`Stopping ${services.map((x) => x.name).join(" and ")} (scale to 0) ...`);
  dockerOk(docker, scaleArgs(services.map((x) => ({ service: x.name, replicas: 0 }))));
  let code = 1;
  try {
    if (!waitFor(() => !serviceTasks(docker, ids).some(taskIsLive), wait, sleep)) {
      throw new CliError(`the tasks of ${instance} did not stop within ${wait} s; nothing was restored.`);
    }
    d.out(`Restoring ${instance} from ${backupId} on node ${node} ...`);
    const restored = parsed(
      `restoring ${backupId}`,
      RestoredBackup,
      runOnNode(docker, app, backupRestoreOfflineArgs(backupId, trust), "restore", o),
    );
    d.out(
      `Restored ${restored.restored} (schema ${restored.schemaVersion}` +
        `${restored.migrationsApplied.length ? `, migrated: ${restored.migrationsApplied.join(", ")}` : ""}` +
        `${restored.safetyBackup ? `; the app's own safety backup: ${restored.safetyBackup}` : ""}).`,
    );
    code = 0;
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    d.err(`fleet restore: ${e.message}; the app kept its data.`);
  } finally {
    d.out(`Starting ${services.map((x) => x.name).join(" and ")} again ...`);
    const back = docker(scaleArgs(services.map((x) => ({ service: x.name, replicas: Math.max(1, x.replicas) }))));
    const running = () => serviceTasks(docker, [s.app.id]).some((t) => t.state === "running");
    if (back.status !== 0 || !waitFor(running, wait, sleep)) {
      d.err(
        `fleet restore: ${s.app.name} is not running again after ${wait} s` +
          `${back.status !== 0 ? ` (docker service scale: ${firstLine(back.stderr)})` : ""}; ` +
          `see \`docker service ps ${s.app.name}\`, and start it with \`docker service scale ${s.app.name}=1\`.`,
      );
      code = 1;
    }
  }
  if (code === 0) d.out(`${instance} runs again on node ${node}, healthy.`);
  return code;
}
