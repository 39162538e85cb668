// `npm run restore -- <instance> [<backup-id> | --latest] [--list] [--stack S] [--yes]`
//
// Finds the instance's app container by its labels and runs the app's own backup CLI in it:
// `backup list --json` to list, `backup restore <id> --live` to restore while the server keeps
// running (maintenance mode, atomic swap, reopen, migrate; see docs/architecture.md).
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { COMPACT } from "../core/history";
import { loadStackConfig, StackConfigError } from "../../components/stack-config";
import { restoreFromOffsite } from "./restore-offsite";

/** What a finished command returned. */
export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `docker ...`; `stream` sends the output to the terminal instead of capturing it. */
export type DockerRunner = (args: string[], opts?: { stream?: boolean }) => CommandResult;

/** A user-facing error: printed as one message, exit 1, no stack trace. */
export class CliError extends Error {
  override readonly name = "CliError";
}

/** One backup as `backup list --json` describes it. Only `id` is required. */
export interface BackupInfo {
  readonly id: string;
  readonly from?: string;
  readonly to?: string;
  readonly reason?: string;
  readonly createdAt?: string;
  readonly [key: string]: unknown;
}

/**
 * The `docker ps` arguments that find an instance's healthy app container (docs/architecture.md
 * labels). Healthy only: after a failed roll the unhealthy new container runs beside the old one,
 * and the old one is what serves.
 */
export function appContainerQuery(stack: string, instance: string): string[] {
  return [
    "ps",
    "--filter",
    "label=fleet.managed=true",
    "--filter",
    `label=fleet.stack=${stack}`,
    "--filter",
    `label=fleet.instance=${instance}`,
    "--filter",
    "label=fleet.role=app",
    "--filter",
    "health=healthy",
    "--format",
    '{{.ID}}\t{{.Names}}\t{{.Label "fleet.version"}}',
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
  const found = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const [id = "", name = "", version = ""] = l.split("\t");
      return { id, name, version };
    });
  if (found.length === 0) {
    throw new CliError(
      `no healthy app container for instance ${instance} in stack ${stack} ` +
        `(labels fleet.stack=${stack}, fleet.instance=${instance}, fleet.role=app). ` +
        "Check the name (the instance file's base name) and that it is deployed: `docker ps -a --filter label=fleet.instance=" +
        `${instance}\`.`,
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
export function backupListCommand(container: string): string[] {
  return ["exec", container, "node", "dist/cli.js", "backup", "list", "--json"];
}

/** `docker exec <container> node dist/cli.js backup restore <id> --live` */
export function backupRestoreCommand(container: string, backupId: string, trust = false): string[] {
  return [
    "exec",
    container,
    "node",
    "dist/cli.js",
    "backup",
    "restore",
    backupId,
    "--live",
    ...(trust ? ["--trust"] : []),
  ];
}

/**
 * Parses `backup list --json`. The app prints one JSON array of summaries
 * (`{id, createdAt, reason, appVersion, schemaVersion, fromVersion, toVersion, entries, bytes}`,
 * app/src/backup.ts); an object with a `backups` array and `from`/`to` spellings are accepted too.
 * @throws CliError when the output is not that
 */
export function parseBackupList(stdout: string): BackupInfo[] {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch {
    throw new CliError(
      `backup list --json printed something that is not JSON: ${JSON.stringify(stdout.slice(0, 120))}`,
    );
  }
  const list = Array.isArray(raw) ? raw : isObject(raw) && Array.isArray(raw.backups) ? raw.backups : undefined;
  if (!list) throw new CliError("backup list --json printed JSON without a list of backups");
  return list.map((b: unknown, i: number) => {
    if (!isObject(b) || typeof b.id !== "string" || b.id === "") {
      throw new CliError(`backup list --json: entry ${i} has no string "id"`);
    }
    const out: Record<string, unknown> = { ...b };
    // Accept the common spellings of the version and time fields.
    out.from = str(b.from) ?? str(b.fromVersion) ?? str(isObject(b.versions) ? b.versions.from : undefined);
    out.to = str(b.to) ?? str(b.toVersion) ?? str(isObject(b.versions) ? b.versions.to : undefined);
    out.createdAt = str(b.createdAt) ?? str(b.created) ?? str(b.time);
    return out as unknown as BackupInfo;
  });
}

/**
 * The backup a version transition left: `from` = the version rolled back to, `to` = the version
 * rolled back from. The app records both in the manifest and in the name
 * (for example `homebrews-20261127T101500Z-from-1.3.0-to-1.4.0`), so either is enough.
 * With several matches (a failed roll and its retry each take one), the newest wins: it holds the
 * data as it was just before the new version touched it.
 */
export function transitionBackup(backups: readonly BackupInfo[], from: string, to: string): BackupInfo | undefined {
  const named = new RegExp(`(^|[^0-9A-Za-z.])from[-_=]?${escape(from)}[-_,]+to[-_=]?${escape(to)}($|[^0-9A-Za-z.])`);
  const matches = backups.filter(
    (b) => (b.from === from && b.to === to) || (b.from === undefined && b.to === undefined && named.test(b.id)),
  );
  return newest(matches);
}

/** The newest backup by `createdAt`, else by id (ids start with a timestamp). */
export function newest(backups: readonly BackupInfo[]): BackupInfo | undefined {
  return [...backups].sort((a, b) => {
    const ta = a.createdAt ?? "";
    const tb = b.createdAt ?? "";
    if (ta !== tb) return ta < tb ? 1 : -1;
    return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  })[0];
}

/** The backups as a table: id, created, reason, app version, from, to. */
export function renderBackupTable(backups: readonly BackupInfo[]): string {
  const table = new Table({
    head: ["id", "created", "reason", "app", "from", "to"],
    style: { head: [], border: [] },
    chars: COMPACT,
  });
  for (const b of backups) {
    const app = typeof b.appVersion === "string" ? b.appVersion : "";
    table.push([b.id, b.createdAt ?? "", b.reason ?? "", app, b.from ?? "", b.to ?? ""]);
  }
  return table.toString();
}

/**
 * The stack config values fleet's CLIs need, through the one reader (components/stack-config.ts);
 * an unset dockerHost is undefined.
 * @throws CliError when the stack config is invalid, with every problem
 */
export function readStackConfig(repoRoot: string, stack: string): { dockerHost?: string; instancesDir: string } {
  try {
    const config = loadStackConfig(repoRoot, stack);
    return {
      ...(config.dockerHost !== "" ? { dockerHost: config.dockerHost } : {}),
      instancesDir: config.instancesDir,
    };
  } catch (e) {
    if (e instanceof StackConfigError) throw new CliError(e.message);
    throw e;
  }
}

/** The real docker runner; `dockerHost` (the stack's `fleet:dockerHost`) becomes DOCKER_HOST. */
export function realDocker(dockerHost?: string): DockerRunner {
  const env = dockerHost ? { ...process.env, DOCKER_HOST: dockerHost } : process.env;
  return (args, opts) => {
    const r = spawnSync("docker", args, {
      env,
      encoding: "utf8",
      stdio: opts?.stream ? "inherit" : ["ignore", "pipe", "pipe"],
    });
    if (r.error) {
      const code = (r.error as NodeJS.ErrnoException).code;
      throw new CliError(
        code === "ENOENT"
          ? "the docker command was not found; install Docker and try again."
          : `could not run docker: ${r.error.message}`,
      );
    }
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
}

/** Asks a yes/no question on the terminal; anything but y/yes is no. */
export async function askYesNo(question: string): Promise<boolean> {
  const readline = await import("node:readline/promises");
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Effects of the restore command. */
export interface RestoreDeps {
  readonly docker: DockerRunner;
  readonly confirm: (question: string) => Promise<boolean>;
  /** Whether a person can answer a question (stdin is a terminal). */
  readonly interactive: boolean;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const RESTORE_USAGE =
  "usage: npm run restore -- <instance> [<backup-id> | --latest] [--list] [--stack S] [--yes]\n" +
  "       npm run restore -- <instance> --from-offsite [<snapshot>] [--list] [--stack S] [--yes] [--trust]\n" +
  "  Without a backup id or --latest it lists the instance's backups. --from-offsite brings a\n" +
  "  snapshot (the newest by default) back from the off-site repository first (docs/backups.md).\n" +
  "  --trust accepts a backup signed by another key (a new host or data volume); its content is checked all the same.";

/** Runs `npm run restore`; returns the exit code. */
export async function runRestore(argv: string[], d: RestoreDeps): Promise<number> {
  try {
    return await restore(argv, d);
  } catch (e) {
    if (e instanceof CliError) {
      d.err(`fleet restore: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

async function restore(argv: string[], d: RestoreDeps): Promise<number> {
  const args = parseCli(
    argv,
    {
      latest: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      stack: { type: "string", default: "dev" },
      yes: { type: "boolean", default: false },
      "from-offsite": { type: "boolean", default: false },
      trust: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    RESTORE_USAGE,
  );
  if (args.values.help) {
    d.out(RESTORE_USAGE);
    return 0;
  }
  const [instance, backupId, ...extra] = args.positionals;
  if (!instance) throw new CliError(`missing the instance name.\n${RESTORE_USAGE}`);
  if (extra.length > 0) throw new CliError(`unexpected arguments: ${extra.join(" ")}.\n${RESTORE_USAGE}`);
  if (args.values["from-offsite"]) {
    if (args.values.latest)
      throw new CliError("--from-offsite restores the newest snapshot without --latest; drop it.");
    return restoreFromOffsite(d, {
      stack: String(args.values.stack),
      instance,
      ...(backupId ? { snapshot: backupId } : {}),
      list: Boolean(args.values.list),
      yes: Boolean(args.values.yes),
      trust: Boolean(args.values.trust),
    });
  }
  if (backupId && args.values.latest) throw new CliError("give either a backup id or --latest, not both.");
  if (args.values.list && (backupId || args.values.latest))
    throw new CliError("--list only lists; drop the backup id and --latest.");
  const stack = String(args.values.stack);

  const container = findAppContainer(d.docker, stack, instance);
  const listed = d.docker(backupListCommand(container.id));
  if (listed.status !== 0) {
    throw new CliError(
      `backup list failed in ${container.name} (exit ${listed.status}): ${firstLine(listed.stderr) || firstLine(listed.stdout)}`,
    );
  }
  const backups = parseBackupList(listed.stdout);

  if (!backupId && !args.values.latest) {
    d.out(`Backups of ${instance} (stack ${stack}, container ${container.name}, version ${container.version}):`);
    d.out(backups.length ? renderBackupTable(backups) : "  (none yet)");
    d.out("Restore one with: npm run restore -- " + instance + " <backup-id>   (or --latest)");
    return 0;
  }

  const chosen = backupId ? backups.find((b) => b.id === backupId) : newest(backups);
  if (!chosen) {
    throw new CliError(
      backupId
        ? `instance ${instance} has no backup ${JSON.stringify(backupId)}; list them with npm run restore -- ${instance} --list`
        : `instance ${instance} has no backups yet.`,
    );
  }
  const ok = await confirmOrYes(
    d,
    Boolean(args.values.yes),
    `Restore ${instance} (stack ${stack}) from backup ${chosen.id}? The app takes a safety backup first.`,
  );
  if (!ok) {
    d.out("Restore cancelled; nothing was changed.");
    return 1;
  }
  return restoreInto(d, instance, container, chosen.id, Boolean(args.values.trust));
}

/**
 * Runs the live restore in a container, streaming the app's own output. Returns the exit code.
 */
export function restoreInto(
  d: Pick<RestoreDeps, "docker" | "out" | "err">,
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

/** Asks unless `--yes`; refuses to guess when nobody can answer. */
export async function confirmOrYes(
  d: Pick<RestoreDeps, "confirm" | "interactive">,
  yes: boolean,
  question: string,
): Promise<boolean> {
  if (yes) return true;
  if (!d.interactive) throw new CliError("stdin is not a terminal, so nobody can confirm; pass --yes to go ahead.");
  return d.confirm(question);
}

/** parseArgs with errors turned into CliErrors that carry the usage. */
export function parseCli<T extends NonNullable<Parameters<typeof parseArgs>[0]>["options"]>(
  argv: string[],
  options: T,
  usage: string,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError(`${e instanceof Error ? e.message : String(e)}\n${usage}`);
  }
}

/** `--stack S` / `--stack=S` from raw arguments (read before parseArgs, to find the stack file). */
export function stackFromArgv(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--stack" && argv[i + 1]) return argv[i + 1] as string;
    if (a.startsWith("--stack=")) return a.slice("--stack=".length);
  }
  return "dev";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The first non-blank line of a command's output, trimmed ("" when there is none). */
export function firstLine(s: string): string {
  return (
    s
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l !== "") ?? ""
  );
}

/** The entry point when run as a script (`npm run restore`). */
async function main(): Promise<void> {
  const repoRoot = path.resolve(__dirname, "..", "..");
  const stack = stackFromArgv(process.argv.slice(2));
  let dockerHost: string | undefined;
  try {
    dockerHost = readStackConfig(repoRoot, stack).dockerHost;
  } catch (e) {
    process.stderr.write(
      `fleet restore: could not read Pulumi.${stack}.yaml: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    process.exitCode = 1;
    return;
  }
  process.exitCode = await runRestore(process.argv.slice(2), {
    docker: realDocker(dockerHost),
    confirm: askYesNo,
    interactive: Boolean(process.stdin.isTTY),
    out: (l) => process.stdout.write(l + "\n"),
    err: (l) => process.stderr.write(l + "\n"),
  });
}

if (/restore\.[cm]?[jt]s$/.test(process.argv[1] ?? "")) {
  main().catch((e: unknown) => {
    process.stderr.write(`fleet restore: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
