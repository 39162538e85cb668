/**
 * The app image's contract as the program and the operator commands use it, in one place: the
 * image's CLI (app/src/cli.ts) as argv arrays, the env names of its paths, the labels that find
 * its containers, and the JSON it prints, parsed exactly as app/src/backup.ts writes it (a
 * schema, not a guess: a renamed field fails here, in a test, instead of showing as blank).
 * Pure: builders return argv arrays and tests compare them.
 */
import { z } from "zod";
import type { Role } from "./naming";

/** The app's CLI inside its image (WORKDIR /app). */
export const APP_CLI = ["node", "dist/cli.js"] as const;
/** Where the app keeps its data and its backups inside a container (env DATA_DIR, BACKUP_DIR). */
export const DATA_DIR = "/data";
export const BACKUP_DIR = "/backups";
/** The env names of those paths and of the instance's name. */
export const ENV = { dataDir: "DATA_DIR", backupDir: "BACKUP_DIR", appName: "APP_NAME" } as const;
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
export function labelFilters(q: { readonly stack: string; readonly instance?: string; readonly role?: Role }) {
  return [
    ...labelFilter("managed", "true"),
    ...labelFilter("stack", q.stack),
    ...(q.instance !== undefined ? labelFilter("instance", q.instance) : []),
    ...(q.role !== undefined ? labelFilter("role", q.role) : []),
  ];
}

/** `backup list --json` */
export const backupListArgs = (): string[] => [...APP_CLI, "backup", "list", "--json"];
/** `backup restore <id> --live [--trust]`: through the running server (maintenance mode, swap, reopen). */
export const backupRestoreLiveArgs = (id: string, trust = false): string[] => [
  ...APP_CLI,
  "backup",
  "restore",
  id,
  "--live",
  ...(trust ? ["--trust"] : []),
];
/** `backup create --reason R --if-exists`: prints the new backup's id, or that there is no database yet. */
export const backupCreateArgs = (reason: string): string[] => [
  ...APP_CLI,
  "backup",
  "create",
  "--reason",
  reason,
  "--if-exists",
];
/** `backup verify <id>`: prints {@link VerifiedBackup}; exits 1 when it is not ok. */
export const backupVerifyArgs = (id: string): string[] => [...APP_CLI, "backup", "verify", id];
/** `backup restore <id> [--trust]`: offline, into DATA_DIR, with no server running on it. */
export const backupRestoreOfflineArgs = (id: string, trust = false): string[] => [
  ...APP_CLI,
  "backup",
  "restore",
  id,
  ...(trust ? ["--trust"] : []),
];
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
