/**
 * An instance's backups on its deploy target, as `restore` and `rollback` use them: where it runs,
 * the version it runs, its backups, and a restore. On one Docker host (`fleet:target docker`) they
 * go through the healthy app container (ops/core/backups.ts, a live restore); on a swarm through the
 * app service (ops/core/swarm-restore.ts, a restore with the writer stopped).
 */
import type { BackupSummary } from "../../components/app-contract";
import type { StackConfig } from "../../components/stack-config";
import { findAppContainer, listBackups, restoreInto } from "./backups";
import type { DockerRunner } from "./docker";
import type { Output } from "./errors";
import { restoreOnSwarm, swarmBackups, type SwarmRestoreOptions } from "./swarm-restore";
import { findSwarmInstance } from "./swarm-target";

/** An instance's backups on its target. */
export interface InstanceBackups {
  /** Where it runs, for messages: `container X, version V` or `service S on node N, version V`. */
  readonly where: string;
  /** The version it runs (its label). */
  readonly version: string;
  /** What a restore does first, for the question before it. */
  readonly safety: string;
  list(): BackupSummary[];
  /** Restores one backup; returns the exit code. */
  restore(backupId: string, trust?: boolean): number;
}

/** What finding an instance's backups needs: the runner, the stack's target, and (on a swarm) how to wait. */
export interface BackupsDeps extends Output {
  readonly docker: DockerRunner;
  /** `fleet:target`; default `docker`. */
  readonly target?: StackConfig["target"];
  /** Waiting for jobs and tasks on a swarm; tests pass a sleep that returns at once. */
  readonly swarm?: SwarmRestoreOptions;
}

/**
 * Finds an instance on the stack's target.
 * @throws CliError when it is not deployed (or, on one host, a roll is under way)
 */
export function instanceBackups(d: BackupsDeps, stack: string, instance: string): InstanceBackups {
  if (d.target === "swarm") {
    const s = findSwarmInstance(d.docker, stack, instance);
    return {
      where: `service ${s.app.name} on node ${s.app.node}, version ${s.app.version}`,
      version: s.app.version,
      safety:
        "fleet takes and verifies a backup first, stops the service while the data is swapped, and starts it again",
      list: () => swarmBackups(d.docker, stack, s, d.swarm),
      restore: (id, trust = false) => restoreOnSwarm(d, stack, s, id, trust, d.swarm),
    };
  }
  const container = findAppContainer(d.docker, stack, instance);
  return {
    where: `container ${container.name}, version ${container.version}`,
    version: container.version,
    safety: "The app takes a safety backup first",
    list: () => listBackups(d.docker, container),
    restore: (id, trust = false) => restoreInto(d, instance, container, id, trust),
  };
}
