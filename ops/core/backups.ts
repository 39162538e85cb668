/**
 * An instance's backups through its running app container: finding the container, listing its
 * backups (parsed exactly as the app prints them, components/app-contract.ts), choosing one, and
 * the live restore. Used by `restore` and `rollback`.
 */
import {
  backupListArgs,
  backupRestoreLiveArgs,
  BackupSummary,
  ContractError,
  LABEL,
  labelFilters,
  parseAppJson,
} from "../../components/app-contract";
import { lines, type DockerRunner } from "./docker";
import { CliError, firstLine, type Output } from "./errors";
import { renderTable } from "./tables";

/**
 * The `docker ps` arguments that find an instance's healthy app container. Healthy only: after a
 * failed roll the unhealthy new container runs beside the old one, and the old one is what serves.
 */
export function appContainerQuery(stack: string, instance: string): string[] {
  return [
    "ps",
    ...labelFilters({ stack, instance, role: "app" }),
    "--filter",
    "health=healthy",
    "--format",
    `{{.ID}}\t{{.Names}}\t{{.Label "${LABEL.version}"}}`,
  ];
}

/** A healthy app container. */
export interface AppContainer {
  readonly id: string;
  readonly name: string;
  readonly version: string;
}

/**
 * Finds exactly one healthy app container of an instance.
 * @throws CliError when there is none (not deployed, stopped) or more than one (a roll is under way)
 */
export function findAppContainer(docker: DockerRunner, stack: string, instance: string): AppContainer {
  const r = docker(appContainerQuery(stack, instance));
  if (r.status !== 0) {
    throw new CliError(
      `docker ps failed (exit ${r.status}): ${firstLine(r.stderr) || "no output"}; is Docker running?`,
    );
  }
  const found = lines(r.stdout).map((l) => {
    const [id = "", name = "", version = ""] = l.split("\t");
    return { id, name, version };
  });
  if (found.length === 0) {
    throw new CliError(
      `no healthy app container for instance ${instance} in stack ${stack} ` +
        `(labels ${LABEL.stack}=${stack}, ${LABEL.instance}=${instance}, ${LABEL.role}=app). ` +
        "Check the name (the instance file's base name) and that it is deployed: " +
        `\`docker ps -a --filter label=${LABEL.instance}=${instance}\`.`,
    );
  }
  if (found.length > 1) {
    throw new CliError(
      `${found.length} healthy app containers for instance ${instance} (${found.map((c) => c.name).join(", ")}); ` +
        "a roll is probably under way. Wait for `pulumi up` to finish and try again.",
    );
  }
  return found[0] as AppContainer;
}

/** `docker exec <container> node dist/cli.js backup list --json` */
export const backupListCommand = (container: string): string[] => ["exec", container, ...backupListArgs()];

/** `docker exec <container> node dist/cli.js backup restore <id> --live [--trust]` */
export const backupRestoreCommand = (container: string, backupId: string, trust = false): string[] => [
  "exec",
  container,
  ...backupRestoreLiveArgs(backupId, trust),
];

/**
 * Parses `backup list --json`: exactly the app's array of summaries (app/src/backup.ts).
 * @throws CliError naming the field when the output is anything else
 */
export function parseBackupList(stdout: string): BackupSummary[] {
  try {
    return parseAppJson("backup list --json", BackupSummary.array(), stdout);
  } catch (e) {
    if (e instanceof ContractError) throw new CliError(e.message);
    throw e;
  }
}

/** Lists an instance's backups in its container. */
export function listBackups(docker: DockerRunner, container: AppContainer): BackupSummary[] {
  const listed = docker(backupListCommand(container.id));
  if (listed.status !== 0) {
    throw new CliError(
      `backup list failed in ${container.name} (exit ${listed.status}): ${firstLine(listed.stderr) || firstLine(listed.stdout)}`,
    );
  }
  return parseBackupList(listed.stdout);
}

/**
 * The backup a version transition left: `fromVersion` = the version rolled back to, `toVersion` =
 * the version rolled back from. With several (a failed roll and its retry each take one), the
 * newest wins: it holds the data as it was just before the new version touched it.
 */
export function transitionBackup(
  backups: readonly BackupSummary[],
  from: string,
  to: string,
): BackupSummary | undefined {
  return newest(backups.filter((b) => b.fromVersion === from && b.toVersion === to));
}

/** The newest backup by `createdAt`, then by id (ids start with a timestamp). */
export function newest(backups: readonly BackupSummary[]): BackupSummary | undefined {
  return [...backups].sort((a, b) => {
    if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
    return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  })[0];
}

/** The backups as a table: id, created, reason, app version, from, to. */
export function renderBackupTable(backups: readonly BackupSummary[]): string {
  return renderTable(
    ["id", "created", "reason", "app", "from", "to"],
    backups.map((b) => [b.id, b.createdAt, b.reason, b.appVersion, b.fromVersion ?? "", b.toVersion ?? ""]),
  );
}

/** Runs the live restore in a container, streaming the app's own output. Returns the exit code. */
export function restoreInto(
  d: Output & { readonly docker: DockerRunner },
  instance: string,
  container: AppContainer,
  backupId: string,
  trust = false,
): number {
  d.out(`Restoring ${instance} from ${backupId} in ${container.name} ...`);
  const r = d.docker(backupRestoreCommand(container.id, backupId, trust), { stream: true });
  if (r.status !== 0) {
    d.err(
      `fleet restore: restoring ${instance} from ${backupId} failed (exit ${r.status}); the app kept its data (see its output above).`,
    );
    return 1;
  }
  d.out(`Restored ${instance} from ${backupId}.`);
  return 0;
}
