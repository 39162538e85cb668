/**
 * Off-site copies with restic. This runs in the fleet's off-site container (the app image plus the
 * restic binary, app/Dockerfile.offsite), one per Docker host: it mounts the backups of every
 * instance that takes part at `/backups/<instance>` and copies each new backup directory into one
 * restic repository, so blobs and pages shared between backups and instances are stored once.
 * Command builders are pure (tested as data); {@link Offsite} runs them.
 */
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { listBackups } from "./backup";

/** Retention of snapshots per instance (restic forget --keep-*). */
export interface Retention {
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
}

/** Settings of the off-site container, from its environment ({@link offsiteSettings}). */
export interface OffsiteSettings {
  /** Instances to copy; each has its backups at `<backupsRoot>/<instance>`. */
  readonly instances: string[];
  readonly backupsRoot: string;
  /** Where status and the restic cache live (a volume of the off-site container). */
  readonly stateDir: string;
  readonly retention: Retention;
  /** Seconds between two looks for new backups. */
  readonly intervalSeconds: number;
  /** Cron expression of `restic check --read-data-subset`. */
  readonly checkCron: string;
  /** Cron expression of `restic forget --prune`. */
  readonly pruneCron: string;
  /** Extra restic options (`-o sftp.command=...`), derived from the SSH settings. */
  readonly resticOptions: string[];
}

const INSTANCE_RE = /^[a-z][a-z0-9-]{0,62}$/;
const int = (name: string, dflt: number) =>
  z.coerce
    .number({ error: `${name}: must be a whole number` })
    .int({ error: `${name}: must be a whole number` })
    .min(0, { error: `${name}: must be at least 0` })
    .default(dflt);

/** The environment this mode reads (components/app-contract.ts names it for the program). */
export const envSchema = z.object({
  RESTIC_REPOSITORY: z.string({ error: "RESTIC_REPOSITORY: is required (a local path, sftp:, s3: or rest: URL)" }).min(1),
  RESTIC_PASSWORD: z.string({ error: "RESTIC_PASSWORD: is required" }).min(1),
  OFFSITE_INSTANCES: z
    .string({ error: "OFFSITE_INSTANCES: is required (comma-separated instance names)" })
    .transform((v) => v.split(",").filter((s) => s !== ""))
    .refine((v) => v.every((s) => INSTANCE_RE.test(s)), { error: "OFFSITE_INSTANCES: must be comma-separated instance names" }),
  OFFSITE_BACKUPS_ROOT: z.string().default("/backups"),
  OFFSITE_STATE_DIR: z.string().default("/state"),
  OFFSITE_KEEP_DAILY: int("OFFSITE_KEEP_DAILY", 7),
  OFFSITE_KEEP_WEEKLY: int("OFFSITE_KEEP_WEEKLY", 4),
  OFFSITE_KEEP_MONTHLY: int("OFFSITE_KEEP_MONTHLY", 12),
  OFFSITE_INTERVAL_SECONDS: int("OFFSITE_INTERVAL_SECONDS", 60),
  OFFSITE_CHECK_CRON: z.string().default("0 4 * * 0"),
  OFFSITE_PRUNE_CRON: z.string().default("30 4 * * *"),
  OFFSITE_SSH_KEY: z.string().optional(),
  OFFSITE_KNOWN_HOSTS: z.string().optional(),
});

/** An invalid off-site environment; the message names the variable. */
export class OffsiteError extends Error {
  override name = "OffsiteError";
}

/**
 * `sftp:user@host:/path` or `sftp://user@host[:port]//path` -> the parts ssh needs.
 * https://restic.readthedocs.io/en/stable/030_preparing_a_new_repo.html#sftp
 */
export function sftpTarget(repository: string): { user: string | null; host: string; port: number | null } | null {
  const url = /^sftp:\/\/(?:([^@/]+)@)?([^:/]+)(?::(\d+))?\//.exec(repository);
  if (url) return { user: url[1] ?? null, host: url[2]!, port: url[3] ? Number(url[3]) : null };
  const short = /^sftp:(?:([^@:]+)@)?([^:]+):/.exec(repository);
  if (short) return { user: short[1] ?? null, host: short[2]!, port: null };
  return null;
}

/**
 * The `-o sftp.command=...` restic needs to log in with a key and a pinned host key from files
 * (the container's user has no home directory). restic then runs exactly this command.
 */
export function sftpCommand(repository: string, keyFile: string, knownHostsFile: string): string[] {
  const t = sftpTarget(repository);
  if (!t) return [];
  const ssh = [
    "ssh",
    "-i",
    keyFile,
    "-o",
    `UserKnownHostsFile=${knownHostsFile}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    ...(t.port ? ["-p", String(t.port)] : []),
    t.user ? `${t.user}@${t.host}` : t.host,
    "-s",
    "sftp",
  ];
  return ["-o", `sftp.command=${ssh.join(" ")}`];
}

/** Reads and checks the off-site container's environment; writes the SSH key files it names. */
export function offsiteSettings(env: NodeJS.ProcessEnv, sshDir = "/tmp/fleet-ssh"): OffsiteSettings {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) if (env[key] !== undefined && env[key] !== "") input[key] = env[key]!;
  const parsed = envSchema.safeParse(input);
  if (!parsed.success)
    throw new OffsiteError(`invalid off-site environment:\n${parsed.error.issues.map((i) => `  ${i.message}`).join("\n")}`);
  const e = parsed.data;
  let resticOptions: string[] = [];
  if (sftpTarget(e.RESTIC_REPOSITORY)) {
    if (!e.OFFSITE_SSH_KEY || !e.OFFSITE_KNOWN_HOSTS) {
      throw new OffsiteError(
        `an sftp: repository needs OFFSITE_SSH_KEY (a private key) and OFFSITE_KNOWN_HOSTS (the server's host key line); see docs/backups.md`,
      );
    }
    mkdirSync(sshDir, { recursive: true, mode: 0o700 });
    const key = path.join(sshDir, "id");
    const known = path.join(sshDir, "known_hosts");
    writeFileSync(key, e.OFFSITE_SSH_KEY.endsWith("\n") ? e.OFFSITE_SSH_KEY : `${e.OFFSITE_SSH_KEY}\n`, { mode: 0o600 });
    chmodSync(key, 0o600);
    writeFileSync(known, e.OFFSITE_KNOWN_HOSTS.endsWith("\n") ? e.OFFSITE_KNOWN_HOSTS : `${e.OFFSITE_KNOWN_HOSTS}\n`);
    resticOptions = sftpCommand(e.RESTIC_REPOSITORY, key, known);
  }
  return {
    instances: e.OFFSITE_INSTANCES,
    backupsRoot: e.OFFSITE_BACKUPS_ROOT,
    stateDir: e.OFFSITE_STATE_DIR,
    retention: { daily: e.OFFSITE_KEEP_DAILY, weekly: e.OFFSITE_KEEP_WEEKLY, monthly: e.OFFSITE_KEEP_MONTHLY },
    intervalSeconds: e.OFFSITE_INTERVAL_SECONDS,
    checkCron: e.OFFSITE_CHECK_CRON,
    pruneCron: e.OFFSITE_PRUNE_CRON,
    resticOptions,
  };
}

/** What a backup's manifest says that the snapshot's tags carry. */
export interface BackupTags {
  readonly instance: string;
  readonly id: string;
  readonly reason: string;
  readonly fromVersion: string | null;
  readonly toVersion: string | null;
}

/** Tags of a snapshot: instance, reason, from->to versions and the backup id (restic tags cannot hold commas). */
export function snapshotTags(b: BackupTags): string[] {
  const tags = ["fleet", `instance=${b.instance}`, `reason=${b.reason}`, `id=${b.id}`];
  if (b.fromVersion !== null || b.toVersion !== null) tags.push(`versions=${b.fromVersion ?? "none"}->${b.toVersion ?? "none"}`);
  return tags;
}

/** `restic backup` of one backup directory; the instance is the snapshot's host, so retention groups by it. */
export function backupCommand(dir: string, b: BackupTags): string[] {
  return ["backup", "--json", "--host", b.instance, ...snapshotTags(b).flatMap((t) => ["--tag", t]), dir];
}

/** `restic snapshots --json` of one instance (or all fleet snapshots). */
export function snapshotsCommand(instance?: string): string[] {
  return ["snapshots", "--json", "--tag", "fleet", ...(instance ? ["--host", instance] : [])];
}

/** `restic forget` with the retention, per instance (host). */
export function forgetCommand(instance: string, r: Retention): string[] {
  return [
    "forget",
    "--host",
    instance,
    "--tag",
    "fleet",
    "--group-by",
    "host",
    "--keep-daily",
    String(r.daily),
    "--keep-weekly",
    String(r.weekly),
    "--keep-monthly",
    String(r.monthly),
  ];
}

/** `restic check` reading one tenth of the data, a different tenth each week (all of it in ten weeks). */
export function checkCommand(now: Date): string[] {
  const week = Math.floor(now.getTime() / (7 * 86_400_000));
  return ["check", `--read-data-subset=${(week % 10) + 1}/10`];
}

/** `restic restore` of one snapshot into a directory. */
export function restoreCommand(snapshot: string, target: string): string[] {
  return ["restore", snapshot, "--target", target];
}

/** One snapshot as `restic snapshots --json` prints it (the fields fleet reads). */
export interface Snapshot {
  readonly id: string;
  readonly short_id: string;
  readonly time: string;
  readonly hostname: string;
  readonly tags?: string[];
  readonly paths: string[];
}

/** The value of tag `key=...` of a snapshot, or null. */
export function tagValue(s: Pick<Snapshot, "tags">, key: string): string | null {
  const t = (s.tags ?? []).find((x) => x.startsWith(`${key}=`));
  return t === undefined ? null : t.slice(key.length + 1);
}

/** What a run of restic returned. */
export interface ResticResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs restic with arguments; the default spawns the binary (tests pass a fake). */
export type ResticRunner = (args: string[]) => Promise<ResticResult>;

/** The real restic: environment passed through (RESTIC_REPOSITORY, RESTIC_PASSWORD, AWS_*, RESTIC_CACHE_DIR). */
export function resticRunner(options: string[], env: NodeJS.ProcessEnv = process.env): ResticRunner {
  return (args) =>
    new Promise((resolve, reject) => {
      const child = spawn("restic", [...options, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
      child.on("error", (err) => reject(new OffsiteError(`cannot run restic: ${err.message}`)));
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

/** Events of the off-site copier: the hook point for notifications (also logged as JSON lines). */
export interface OffsiteEvents {
  copied: [{ instance: string; id: string; snapshot: string }];
  "copy-failed": [{ instance: string; id: string; error: string }];
  "check-ok": [{ subset: string }];
  "check-failed": [{ error: string }];
  "prune-failed": [{ error: string }];
}

/** Outcome of the last copy round for one instance, written next to its backups as `.offsite.json`. */
export interface OffsiteStatus {
  readonly at: string;
  readonly ok: boolean;
  /** Backups copied in that round. */
  readonly copied: string[];
  /** The newest backup known to be in the repository. */
  readonly newest: string | null;
  readonly error: string | null;
}

/** File name of {@link OffsiteStatus} in an instance's backup directory (the app's /metrics reads it). */
export const OFFSITE_STATUS = ".offsite.json";

/** Reads an instance's off-site status, or null when there is none. */
export function readOffsiteStatus(backupDir: string): OffsiteStatus | null {
  try {
    return JSON.parse(readFileSync(path.join(backupDir, OFFSITE_STATUS), "utf8")) as OffsiteStatus;
  } catch {
    return null;
  }
}

function lastLine(s: string): string {
  return (
    s
      .trim()
      .split("\n")
      .filter((l) => l.trim() !== "")
      .at(-1) ?? ""
  );
}

/** The copier: copies new backups, applies retention, checks the repository, fetches a snapshot back. */
export class Offsite extends EventEmitter<OffsiteEvents> {
  constructor(
    readonly settings: Pick<OffsiteSettings, "instances" | "backupsRoot" | "stateDir" | "retention">,
    private readonly restic: ResticRunner,
  ) {
    super();
  }

  private async run(args: string[]): Promise<string> {
    const r = await this.restic(args);
    if (r.status !== 0) throw new OffsiteError(`restic ${args[0]} failed (exit ${r.status}): ${lastLine(r.stderr) || lastLine(r.stdout)}`);
    return r.stdout;
  }

  /** Creates the repository unless it exists (`restic cat config` answers when it does). */
  async ensureRepository(): Promise<"exists" | "created"> {
    const r = await this.restic(["cat", "config"]);
    if (r.status === 0) return "exists";
    if (!/unable to open config file|does not exist|Is there a repository/i.test(r.stderr)) {
      throw new OffsiteError(`cannot open the repository: ${lastLine(r.stderr)}`);
    }
    await this.run(["init"]);
    return "created";
  }

  /** Removes stale locks (of copiers that were killed). */
  async unlock(): Promise<void> {
    await this.run(["unlock"]);
  }

  /** Snapshots of one instance, oldest first. */
  async snapshots(instance?: string): Promise<Snapshot[]> {
    const list = JSON.parse((await this.run(snapshotsCommand(instance))) || "[]") as Snapshot[] | null;
    return (list ?? []).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  }

  /**
   * Copies every backup of `instance` that the repository does not hold yet, oldest first.
   * A failed copy leaves the local backup as it is, emits `copy-failed`, and is retried next round.
   */
  async syncInstance(instance: string): Promise<OffsiteStatus> {
    const dir = path.join(this.settings.backupsRoot, instance);
    const copied: string[] = [];
    let status: OffsiteStatus;
    try {
      const have = new Set((await this.snapshots(instance)).map((s) => tagValue(s, "id")));
      const local = listBackups(dir).reverse();
      let newest: string | null = [...local].reverse().find((b) => have.has(b.id))?.id ?? null;
      for (const b of local) {
        if (have.has(b.id)) continue;
        const tags = { instance, id: b.id, reason: b.reason, fromVersion: b.fromVersion, toVersion: b.toVersion };
        try {
          const out = await this.run(backupCommand(path.join(dir, b.id), tags));
          const summary = out
            .split("\n")
            .map((l) => {
              try {
                return JSON.parse(l) as { message_type?: string; snapshot_id?: string };
              } catch {
                return {};
              }
            })
            .find((m) => m.message_type === "summary");
          const snapshot = summary?.snapshot_id ?? "";
          copied.push(b.id);
          newest = b.id;
          this.emit("copied", { instance, id: b.id, snapshot });
        } catch (err) {
          this.emit("copy-failed", { instance, id: b.id, error: (err as Error).message });
          throw err;
        }
      }
      status = { at: new Date().toISOString(), ok: true, copied, newest, error: null };
    } catch (err) {
      status = { at: new Date().toISOString(), ok: false, copied, newest: null, error: (err as Error).message };
    }
    writeJsonAtomic(path.join(dir, OFFSITE_STATUS), status);
    return status;
  }

  /** One round over every instance; resolves with the statuses (any `ok: false` is a failure). */
  async syncAll(): Promise<Record<string, OffsiteStatus>> {
    const out: Record<string, OffsiteStatus> = {};
    for (const i of this.settings.instances) out[i] = await this.syncInstance(i);
    return out;
  }

  /** Retention per instance, then one prune. */
  async prune(): Promise<void> {
    try {
      for (const i of this.settings.instances) await this.run(forgetCommand(i, this.settings.retention));
      await this.run(["prune"]);
    } catch (err) {
      this.emit("prune-failed", { error: (err as Error).message });
      throw err;
    }
  }

  /** `restic check` with a read of this week's data subset. */
  async check(now = new Date()): Promise<void> {
    const args = checkCommand(now);
    try {
      await this.run(args);
      this.emit("check-ok", { subset: args[1]!.split("=")[1]! });
    } catch (err) {
      this.emit("check-failed", { error: (err as Error).message });
      throw err;
    }
  }

  /**
   * Fetches a snapshot of `instance` back into its backup directory (newest when `snapshot` is
   * undefined) and returns the backup id. It lands under a `.tmp-` name first and is renamed in
   * place, so a half-fetched backup never looks like one. The caller restores it with the
   * ordinary restore, which verifies every checksum and the database's integrity.
   */
  async fetch(instance: string, snapshot?: string): Promise<{ id: string; snapshot: string; alreadyLocal: boolean }> {
    const all = await this.snapshots(instance);
    const chosen = snapshot === undefined ? all.at(-1) : all.find((s) => s.id === snapshot || s.short_id === snapshot);
    if (!chosen) {
      throw new OffsiteError(
        snapshot === undefined
          ? `the repository holds no snapshot of instance ${instance}`
          : `the repository holds no snapshot ${snapshot} of instance ${instance} (list them with --list)`,
      );
    }
    const id = tagValue(chosen, "id");
    const source = chosen.paths[0];
    if (!id || !source || chosen.paths.length !== 1 || path.basename(source) !== id) {
      throw new OffsiteError(`snapshot ${chosen.short_id} is not a fleet backup (tags ${JSON.stringify(chosen.tags ?? [])})`);
    }
    const dir = path.join(this.settings.backupsRoot, instance);
    const final = path.join(dir, id);
    if (existsSync(final)) return { id, snapshot: chosen.id, alreadyLocal: true };
    mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.tmp-offsite-${chosen.short_id}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    try {
      await this.run(restoreCommand(chosen.id, tmp));
      renameSync(path.join(tmp, source), final);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return { id, snapshot: chosen.id, alreadyLocal: false };
  }
}

/** Writes JSON to `file` atomically (temp file, rename); best effort: a full disk must not hide the outcome it records. */
export function writeJsonAtomic(file: string, value: unknown): void {
  try {
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, file);
  } catch {
    // ignored on purpose, see above
  }
}
