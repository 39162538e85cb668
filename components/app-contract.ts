/**
 * The app image's contract as the program and the operator commands use it, in one place: the
 * image's CLI (app/src/cli.ts) as argv arrays, the env names of its paths, the labels that find
 * its containers, and the JSON it prints, parsed exactly as app/src/backup.ts writes it (a
 * schema, not a guess: a renamed field fails here, in a test, instead of showing as blank).
 * Pure: builders return argv arrays and tests compare them.
 */
import { z } from "zod";
import type { envSchema as appEnvSchema } from "../app/src/config";
import type { envSchema as dashboardEnvSchema } from "../app/src/dashboard";
import type { envSchema as offsiteEnvSchema } from "../app/src/offsite";
import type { Role } from "./naming";

/** The app's CLI inside its image (WORKDIR /app). */
export const APP_CLI = ["node", "dist/cli.js"] as const;
/** The dashboard mode of the image (app/src/dashboard-server.ts). */
export const DASHBOARD_SERVER = ["node", "dist/dashboard-server.js"] as const;
/** Where the app keeps its data and its backups inside a container (env DATA_DIR, BACKUP_DIR). */
export const DATA_DIR = "/data";
export const BACKUP_DIR = "/backups";

/**
 * The env names fleet sets on the image's containers, per mode. Each is a key of that mode's own
 * schema (`envSchema` of app/src/config.ts, dashboard.ts, offsite.ts), so a name the image stops
 * reading fails the typecheck here.
 */
export const ENV = {
  appName: "APP_NAME",
  appTitle: "APP_TITLE",
  port: "PORT",
  dataDir: "DATA_DIR",
  backupDir: "BACKUP_DIR",
  socketDir: "APP_SOCKET_DIR",
  adminToken: "ADMIN_TOKEN",
  statusToken: "STATUS_TOKEN",
  notifyUrl: "NOTIFY_URL",
  stack: "FLEET_STACK",
} as const satisfies Record<string, keyof (typeof appEnvSchema)["shape"]>;

/** The dashboard mode's env names ({@link DASHBOARD_SERVER}). */
export const DASHBOARD_ENV = {
  port: "PORT",
  socketDir: "APP_SOCKET_DIR",
  adminToken: "ADMIN_TOKEN",
  stack: "FLEET_STACK",
  socketsDir: "DASHBOARD_SOCKETS_DIR",
  instances: "DASHBOARD_INSTANCES",
  statusTokens: "DASHBOARD_STATUS_TOKENS",
} as const satisfies Record<string, keyof (typeof dashboardEnvSchema)["shape"]>;

/** The off-site copier's env names (`offsite run`); restic's own are passed through as they are. */
export const OFFSITE_ENV = {
  repository: "RESTIC_REPOSITORY",
  password: "RESTIC_PASSWORD",
  instances: "OFFSITE_INSTANCES",
  keepDaily: "OFFSITE_KEEP_DAILY",
  keepWeekly: "OFFSITE_KEEP_WEEKLY",
  keepMonthly: "OFFSITE_KEEP_MONTHLY",
  intervalSeconds: "OFFSITE_INTERVAL_SECONDS",
  checkCron: "OFFSITE_CHECK_CRON",
  pruneCron: "OFFSITE_PRUNE_CRON",
  sshKey: "OFFSITE_SSH_KEY",
  knownHosts: "OFFSITE_KNOWN_HOSTS",
} as const satisfies Record<string, keyof (typeof offsiteEnvSchema)["shape"]>;

/** `NAME=value` of one env entry, the form a container's `envs` take. */
export const envEntry = (name: string, value: string | number): string => `${name}=${value}`;
/** The last backup attempt's record in BACKUP_DIR (app/src/backup.ts `LAST_RUN`). */
export const LAST_RUN_FILE = ".last-run.json";

/** Label keys (components/naming.ts `fleetLabels` sets them). */
export const LABEL = {
  managed: "fleet.managed",
  stack: "fleet.stack",
  instance: "fleet.instance",
  role: "fleet.role",
  version: "fleet.version",
} as const;

/** One `docker ps` label filter: `--filter label=<key>=<value>`. */
export function labelFilter<K extends keyof typeof LABEL>(key: K, value: K extends "role" ? Role : string): string[] {
  return ["--filter", `label=${LABEL[key]}=${value}`];
}

/** `docker ps` filters for fleet's containers of a stack, optionally one instance and role. */
export function labelFilters(q: LabelQuery) {
  return labelPairs(q).flatMap((l) => ["--filter", `label=${l}`]);
}

/** What {@link labelFilters} and {@link labelPairs} select on. */
export interface LabelQuery {
  readonly stack: string;
  readonly instance?: string;
  readonly role?: Role;
}

/** The `key=value` labels a query selects on, for scripts that build their own filters. */
export function labelPairs(q: LabelQuery): string[] {
  return [
    `${LABEL.managed}=true`,
    `${LABEL.stack}=${q.stack}`,
    ...(q.instance !== undefined ? [`${LABEL.instance}=${q.instance}`] : []),
    ...(q.role !== undefined ? [`${LABEL.role}=${q.role}`] : []),
  ];
}

/** `backup list --json` */
export const backupListArgs = (): string[] => [...APP_CLI, "backup", "list", "--json"];
/**
 * `backup restore <id> [--live] [--trust]`: `--live` through the running server (maintenance mode,
 * swap, reopen); without it into a stopped app's volume.
 */
export const backupRestoreArgs = (id: string, o: { live: boolean; trust: boolean }): string[] => [
  ...APP_CLI,
  "backup",
  "restore",
  id,
  ...(o.live ? ["--live"] : []),
  ...(o.trust ? ["--trust"] : []),
];
/** `backup restore <id> --live [--trust]` */
export const backupRestoreLiveArgs = (id: string, trust = false): string[] =>
  backupRestoreArgs(id, { live: true, trust });
/**
 * `backup create [--reason R] [--from F --to T] [--if-exists]`. The values are passed as they are, so
 * a shell script may pass quoted shell expansions (`"$FLEET_VERSION"`).
 */
export const backupCreateArgs = (
  o: { reason?: string; from?: string; to?: string; ifExists?: boolean } = {},
): string[] => [
  ...APP_CLI,
  "backup",
  "create",
  ...(o.reason !== undefined ? ["--reason", o.reason] : []),
  ...(o.from !== undefined ? ["--from", o.from] : []),
  ...(o.to !== undefined ? ["--to", o.to] : []),
  ...(o.ifExists === true ? ["--if-exists"] : []),
];
/** `backup schedule --cron C --keep N`: the backup sidecar's loop. */
export const backupScheduleArgs = (cron: string, keep: number): string[] => [
  ...APP_CLI,
  "backup",
  "schedule",
  "--cron",
  cron,
  "--keep",
  String(keep),
];
/** `backup verify <id>` */
export const backupVerifyArgs = (id: string): string[] => [...APP_CLI, "backup", "verify", id];
/** `offsite run`: the off-site container's loop. */
export const offsiteRunArgs = (): string[] => [...APP_CLI, "offsite", "run"];
/** `offsite health`: its healthcheck. */
export const offsiteHealthArgs = (): string[] => [...APP_CLI, "offsite", "health"];
/** `offsite sync`: one copy round now. */
export const offsiteSyncArgs = (): string[] => [...APP_CLI, "offsite", "sync"];
/** `backup restore <id> [--trust]`: offline, into DATA_DIR, with no server running on it. */
export const backupRestoreOfflineArgs = (id: string, trust = false): string[] =>
  backupRestoreArgs(id, { live: false, trust });
/** `offsite snapshots --instance I --json` (the off-site container). */
export const offsiteSnapshotsArgs = (instance: string): string[] => [
  ...APP_CLI,
  "offsite",
  "snapshots",
  "--instance",
  instance,
  "--json",
];
/** `offsite fetch --instance I --snapshot S` (the off-site container). */
export const offsiteFetchArgs = (instance: string, snapshot: string): string[] => [
  ...APP_CLI,
  "offsite",
  "fetch",
  "--instance",
  instance,
  "--snapshot",
  snapshot,
];

/** One entry of `backup list --json` (app/src/backup.ts `BackupSummary`). */
export const BackupSummary = z.object({
  id: z.string().min(1),
  createdAt: z.string(),
  reason: z.string(),
  appVersion: z.string(),
  schemaVersion: z.number(),
  fromVersion: z.string().nullable(),
  toVersion: z.string().nullable(),
  entries: z.number().nullable(),
  bytes: z.number(),
});
export type BackupSummary = z.infer<typeof BackupSummary>;

/** The last backup attempt (app/src/backup.ts `LastRun`), in {@link LAST_RUN_FILE}. */
export const LastRun = z.object({
  at: z.string(),
  ok: z.boolean(),
  reason: z.string(),
  id: z.string().nullable(),
  error: z.string().nullable(),
});
export type LastRun = z.infer<typeof LastRun>;

/** One snapshot of `offsite snapshots --json` (app/src/offsite.ts). */
export const OffsiteSnapshot = z.object({
  snapshot: z.string(),
  time: z.string(),
  id: z.string().nullable(),
  reason: z.string().nullable(),
  versions: z.string().nullable(),
});
export type OffsiteSnapshot = z.infer<typeof OffsiteSnapshot>;

/** `offsite fetch` prints the id of the backup it brought back. */
export const FetchedBackup = z.object({ id: z.string().min(1) });

/** What `backup create` prints (app/src/cli.ts). */
export const CreatedBackup = z.union([
  z.object({ id: z.string().min(1), path: z.string() }),
  z.object({ skipped: z.string() }),
]);

/** What `backup verify` prints (app/src/backup.ts `VerifyResult`). */
export const VerifiedBackup = z.object({ id: z.string(), ok: z.boolean(), problems: z.array(z.string()) });

/** What an offline `backup restore` prints (app/src/backup.ts `RestoreResult`). */
export const RestoredBackup = z.object({
  restored: z.string(),
  safetyBackup: z.string().nullable(),
  schemaVersion: z.number(),
  migrationsApplied: z.array(z.string()),
});

/** The app printed something that is not what its contract says. */
export class ContractError extends Error {}

/**
 * Parses what the app printed against a schema.
 * @throws ContractError naming the command, the field and what was printed
 */
export function parseAppJson<T extends z.ZodType>(what: string, schema: T, stdout: string): z.infer<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch {
    throw new ContractError(`${what} printed something that is not JSON: ${JSON.stringify(stdout.slice(0, 120))}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue && issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    throw new ContractError(`${what} printed JSON the app does not print: at ${at}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}
