import { randomBytes } from "node:crypto";
import {
  closeSync,
  fstatSync,
  constants as fsConstants,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { z } from "zod";
import { withBlobReadLock } from "./blobs";
import {
  backupKey,
  fileKeyProblem,
  openRegular,
  provenanceProblems,
  readRegular,
  SHA256_RE,
  sha256Regular,
  signManifest,
  snapshotProblems,
  tableCounts,
  treeProblems,
} from "./backup-checks";
import { integrityCheck, openDatabase, openFile, openReadOnly, type Paths, stmt } from "./db";
import { applyPending, type Migration, migrationStatus, readApplied } from "./migrations";

/** Name of the snapshot file inside a backup directory. */
export const BACKUP_DB = "app.db";
const MANIFEST = "manifest.json";
const LAST_RUN = ".last-run.json";
const ID_RE = /^[a-z0-9][a-z0-9._+-]{0,199}$/;
const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

const fileEntry = z.object({ sha256: z.string().regex(SHA256_RE), size: z.number().int().nonnegative() });
const signature = z.object({
  alg: z.literal("hmac-sha256"),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  value: z.string().regex(/^[0-9a-f]{64}$/),
});
/** A manifest is read before anything else is checked; it is never larger than this. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** What `manifest.json` of a backup holds. */
export const manifestSchema = z.object({
  format: z.literal(1),
  id: z.string().regex(ID_RE),
  instance: z.string(),
  createdAt: z.string(),
  reason: z.string(),
  fromVersion: z.string().nullable(),
  toVersion: z.string().nullable(),
  appVersion: z.string(),
  schemaVersion: z.number().int().nonnegative(),
  migrations: z.array(z.string()),
  rowCounts: z.record(z.string(), z.number().int().nonnegative()),
  integrity: z.literal("ok"),
  files: z.record(z.string(), fileEntry).superRefine((files, ctx) => {
    for (const key of Object.keys(files)) {
      if (fileKeyProblem(key) !== null)
        ctx.addIssue({ code: "custom", path: [key], message: "must be app.db or uploads/<2 hex>/<sha256>" });
    }
  }),
  /** HMAC of the manifest with the instance's key (src/backup-checks.ts); absent in older backups. */
  signature: signature.optional(),
});

/** A parsed backup manifest. */
export type BackupManifest = z.infer<typeof manifestSchema>;

/** A bad request about backups (unknown id, bad flag value); the API maps it to 4xx. */
export class BackupError extends Error {
  override name = "BackupError";
  constructor(
    message: string,
    readonly statusCode: 400 | 404 | 409 | 422 = 400,
  ) {
    super(message);
  }
}

/** Options of {@link createBackup}. */
export interface CreateBackupOptions {
  readonly paths: Paths;
  readonly instance: string;
  readonly appVersion: string;
  readonly reason?: string;
  /** Version being updated from (pre-update backups). */
  readonly from?: string;
  /** Version being updated to. */
  readonly to?: string;
  readonly now?: Date;
}

/** Result of {@link createBackup}. */
export interface CreatedBackup {
  readonly id: string;
  readonly path: string;
  readonly manifest: BackupManifest;
}

function fsyncPath(p: string): void {
  const fd = openSync(p, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(".", "");
}

/** Path of an upload blob, content-addressed: `uploads/ab/abcdef...`. */
export function blobPath(uploadsDir: string, sha256: string): string {
  // The hash names a file: anything else (a row from a crafted backup) never becomes a path.
  if (!SHA256_RE.test(sha256)) throw new Error(`not a sha256 (64 lowercase hex digits): ${JSON.stringify(sha256.slice(0, 80))}`);
  return path.join(uploadsDir, sha256.slice(0, 2), sha256);
}

/**
 * Takes a consistent backup: `VACUUM INTO` a snapshot (one read transaction, so concurrent writers
 * neither block nor tear it), checks it, copies the uploads it references and writes the manifest.
 * The live database is opened read-only: this never migrates or changes it.
 * The backup appears in BACKUP_DIR atomically (built in a dot-directory, then renamed).
 */
export function createBackup(opts: CreateBackupOptions): CreatedBackup {
  const { paths } = opts;
  for (const [flag, v] of [
    ["--from", opts.from],
    ["--to", opts.to],
  ] as const) {
    if (v !== undefined && !VERSION_RE.test(v)) {
      throw new BackupError(`${flag} ${JSON.stringify(v)}: must be a version like 1.2.3 (letters, digits, . + _ -)`);
    }
  }
  const reason = opts.reason ?? "manual";
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(reason)) {
    throw new BackupError(`--reason ${JSON.stringify(reason)}: must be 1-40 lowercase letters, digits or dashes`);
  }
  if (!existsSync(paths.dbFile)) throw new BackupError(`no database at ${paths.dbFile}`, 404);
  mkdirSync(paths.backupDir, { recursive: true });
  cleanStaleTemp(paths.backupDir);

  const now = opts.now ?? new Date();
  const tmp = path.join(paths.backupDir, `.tmp-${stamp(now)}-${randomBytes(4).toString("hex")}`);
  mkdirSync(tmp);
  try {
    const snapshot = path.join(tmp, BACKUP_DB);
    const live = openReadOnly(paths.dbFile);
    try {
      stmt(live, "VACUUM INTO ?").run(snapshot);
    } finally {
      live.close();
    }

    const snap = openFile(snapshot);
    let schemaVersion: number;
    let migrations: string[];
    let rowCounts: Record<string, number>;
    let blobs: string[];
    try {
      // A self-contained single file: no -wal next to it when restored or verified.
      snap.exec("PRAGMA journal_mode = DELETE");
      const integrity = integrityCheck(snap);
      if (integrity !== "ok") throw new Error(`integrity_check of the snapshot failed: ${String(integrity)}`);
      const applied = readApplied(snap);
      schemaVersion = applied.length ? applied[applied.length - 1]!.version : 0;
      migrations = applied.map((a) => a.name);
      rowCounts = tableCounts(snap);
      const hasAttachments = stmt(snap, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'attachments'").get();
      blobs = hasAttachments ? (stmt(snap, "SELECT DISTINCT sha256 FROM attachments ORDER BY sha256").pluck().all() as string[]) : [];
    } finally {
      snap.close();
    }

    const files: Record<string, { sha256: string; size: number }> = {};
    for (const sha of blobs) {
      const source = blobPath(paths.uploadsDir, sha); // throws before any path is built from a non-hash
      const rel = path.posix.join("uploads", sha.slice(0, 2), sha);
      const dest = path.join(tmp, rel);
      mkdirSync(path.dirname(dest), { recursive: true });
      copyFileSync(source, dest, fsConstants.COPYFILE_FICLONE);
      const actual = sha256Regular(dest);
      if (actual !== sha) throw new Error(`upload ${sha} is corrupt in ${paths.uploadsDir} (content hashes to ${actual})`);
      fsyncPath(dest);
      files[rel] = { sha256: sha, size: statSync(dest).size };
    }
    fsyncPath(snapshot);
    files[BACKUP_DB] = { sha256: sha256Regular(snapshot), size: statSync(snapshot).size };

    const versions = opts.from || opts.to ? `-from-${opts.from ?? "none"}-to-${opts.to ?? "none"}` : "";
    let id = `${opts.instance}-${stamp(now).toLowerCase()}-v${opts.appVersion}-s${String(schemaVersion).padStart(4, "0")}${versions}`
      .toLowerCase()
      .replace(/[^a-z0-9._+-]/g, "-");
    while (existsSync(path.join(paths.backupDir, id))) id = `${id}-${randomBytes(2).toString("hex")}`;

    const unsigned: BackupManifest = {
      format: 1,
      id,
      instance: opts.instance,
      createdAt: now.toISOString(),
      reason,
      fromVersion: opts.from ?? null,
      toVersion: opts.to ?? null,
      appVersion: opts.appVersion,
      schemaVersion,
      migrations,
      rowCounts,
      integrity: "ok",
      files,
    };
    const manifest: BackupManifest = { ...unsigned, signature: signManifest(unsigned, backupKey(paths.dataDir)) };
    writeFileSync(path.join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    fsyncPath(path.join(tmp, MANIFEST));
    const final = path.join(paths.backupDir, id);
    renameSync(tmp, final);
    fsyncPath(paths.backupDir);
    return { id, path: final, manifest };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function cleanStaleTemp(backupDir: string): void {
  const hourAgo = Date.now() - 3600_000;
  for (const name of readdirSync(backupDir)) {
    if (!name.startsWith(".tmp-")) continue;
    const p = path.join(backupDir, name);
    if (statSync(p).mtimeMs < hourAgo) rmSync(p, { recursive: true, force: true });
  }
}

/** Resolves a backup id to its directory; rejects ids that are not plain names. */
export function backupPath(backupDir: string, id: string): string {
  if (!ID_RE.test(id)) throw new BackupError(`backup id ${JSON.stringify(id)} is not valid (see backup list)`);
  const p = path.join(backupDir, id);
  if (!existsSync(path.join(p, MANIFEST))) {
    throw new BackupError(`no backup ${JSON.stringify(id)} in ${backupDir} (see backup list)`, 404);
  }
  return p;
}

/** Reads and validates a backup's manifest. */
export function readManifest(backupDir: string, id: string): BackupManifest {
  const file = path.join(backupPath(backupDir, id), MANIFEST);
  let raw: unknown;
  try {
    raw = JSON.parse(readRegular(file, MAX_MANIFEST_BYTES).toString("utf8"));
  } catch (err) {
    throw new BackupError(`${file}: not valid JSON (${(err as Error).message})`, 422);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BackupError(`${file}: field ${issue.path.join(".") || "(root)"}: ${issue.message}`, 422);
  }
  return parsed.data;
}

/** One line of `backup list`. */
export interface BackupSummary {
  readonly id: string;
  readonly createdAt: string;
  readonly reason: string;
  readonly appVersion: string;
  readonly schemaVersion: number;
  readonly fromVersion: string | null;
  readonly toVersion: string | null;
  readonly entries: number | null;
  readonly bytes: number;
}

/** Backups in BACKUP_DIR, newest first. Directories without a readable manifest are skipped. */
export function listBackups(backupDir: string): BackupSummary[] {
  if (!existsSync(backupDir)) return [];
  const out: BackupSummary[] = [];
  for (const name of readdirSync(backupDir)) {
    if (name.startsWith(".") || !ID_RE.test(name)) continue;
    if (!existsSync(path.join(backupDir, name, MANIFEST))) continue;
    let m: BackupManifest;
    try {
      m = readManifest(backupDir, name);
    } catch {
      continue;
    }
    out.push({
      id: m.id,
      createdAt: m.createdAt,
      reason: m.reason,
      appVersion: m.appVersion,
      schemaVersion: m.schemaVersion,
      fromVersion: m.fromVersion,
      toVersion: m.toVersion,
      entries: m.rowCounts.entries ?? null,
      bytes: Object.values(m.files).reduce((a, f) => a + f.size, 0),
    });
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
}

/** Outcome of {@link verifyBackup}. */
export interface VerifyResult {
  readonly id: string;
  readonly ok: boolean;
  readonly problems: string[];
}

function listFiles(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const ent of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? path.posix.join(rel, ent.name) : ent.name;
    if (ent.isDirectory()) out.push(...listFiles(root, r));
    else out.push(r);
  }
  return out;
}

/**
 * Checks a backup as untrusted input: the manifest; the directory tree (no links, no special files,
 * nothing unlisted, every name a path the app writes); the sha256 and size of every file; and the
 * snapshot: with the code's `migrations`, everything {@link snapshotProblems} checks, else its
 * `integrity_check` only.
 */
export function verifyBackup(backupDir: string, id: string, migrations?: Migration[]): VerifyResult {
  const dir = backupPath(backupDir, id);
  let manifest: BackupManifest;
  try {
    manifest = readManifest(backupDir, id);
  } catch (err) {
    return { id, ok: false, problems: [(err as Error).message] };
  }
  const problems: string[] = [];
  if (manifest.id !== id) problems.push(`manifest id ${manifest.id} does not match the directory name ${id}`);
  if (!manifest.files[BACKUP_DB]) problems.push(`manifest lists no ${BACKUP_DB}`);
  problems.push(...treeProblems(dir, manifest.files));
  if (problems.length > 0) return { id, ok: false, problems };
  for (const [rel, f] of Object.entries(manifest.files)) {
    const p = path.join(dir, rel);
    try {
      const fd = openRegular(p);
      let size: number;
      try {
        size = fstatSync(fd).size;
      } finally {
        closeSync(fd);
      }
      if (size !== f.size) problems.push(`${rel}: size ${size}, manifest says ${f.size}`);
      const sha = sha256Regular(p);
      if (sha !== f.sha256) problems.push(`${rel}: sha256 ${sha}, manifest says ${f.sha256}`);
    } catch (err) {
      problems.push((err as NodeJS.ErrnoException).code === "ENOENT" ? `${rel}: missing` : `${rel}: ${(err as Error).message}`);
    }
  }
  if (problems.length === 0) {
    const snapshot = path.join(dir, BACKUP_DB);
    if (migrations) {
      problems.push(...snapshotProblems(snapshot, manifest, migrations));
    } else {
      const db = openReadOnly(snapshot);
      try {
        const integrity = integrityCheck(db);
        if (integrity !== "ok") problems.push(`${BACKUP_DB}: integrity_check: ${String(integrity)}`);
      } finally {
        db.close();
      }
    }
  }
  return { id, ok: problems.length === 0, problems };
}

/**
 * Everything a restore checks before it touches anything, with no app state, so it runs anywhere
 * (main thread, worker, CLI): the schema is not newer than the code (409); {@link verifyBackup}
 * with the migrations (422); and, unless `trust`, that the backup is this instance's: its name and
 * the manifest's HMAC with the key in DATA_DIR (422). Returns the manifest.
 */
export function checkRestorable(opts: {
  paths: Paths;
  id: string;
  migrations: Migration[];
  instance: string;
  trust?: boolean;
}): BackupManifest {
  const { paths, id, migrations } = opts;
  const manifest = readManifest(paths.backupDir, id);
  if (manifest.schemaVersion > migrations.length) {
    throw new BackupError(
      `backup ${id} has schema version ${manifest.schemaVersion} but this app only knows ${migrations.length}; restore it with a newer app version`,
      409,
    );
  }
  const verified = verifyBackup(paths.backupDir, id, migrations);
  if (!verified.ok) throw new BackupError(`backup ${id} failed verification: ${verified.problems.join("; ")}`, 422);
  if (opts.trust !== true) {
    const foreign = provenanceProblems(manifest, backupKey(paths.dataDir), opts.instance);
    if (foreign.length > 0) {
      throw new BackupError(
        `backup ${id} is not known to be this instance's: ${foreign.join("; ")}. If you know where it comes from (an off-site copy, a new host), restore it with --trust (API: {"trust": true})`,
        422,
      );
    }
  }
  return manifest;
}

/**
 * Deletes all but the newest `keep` backups; with `reason`, only among the backups of that reason.
 * The scheduled job prunes only its own backups, so the pre-update and pre-restore backups that a
 * rollback needs are never pruned by the schedule.
 */
export function pruneBackups(backupDir: string, keep: number, reason?: string): { deleted: string[]; kept: string[] } {
  if (!Number.isInteger(keep) || keep < 1) {
    throw new BackupError(`--keep ${JSON.stringify(keep)}: must be an integer of at least 1`);
  }
  const all = listBackups(backupDir).filter((b) => reason === undefined || b.reason === reason);
  const deleted: string[] = [];
  for (const b of all.slice(keep)) {
    rmSync(path.join(backupDir, b.id), { recursive: true, force: true });
    deleted.push(b.id);
  }
  return { deleted, kept: all.slice(0, keep).map((b) => b.id) };
}

/** Outcome of the last backup attempt, written next to the backups for metrics and the UI. */
export interface LastRun {
  readonly at: string;
  readonly ok: boolean;
  readonly reason: string;
  readonly id: string | null;
  readonly error: string | null;
}

/** Records the outcome of a backup attempt (best effort: a full disk must not hide the original error). */
export function recordRun(backupDir: string, run: LastRun): void {
  try {
    mkdirSync(backupDir, { recursive: true });
    const tmp = path.join(backupDir, `${LAST_RUN}.${process.pid}`);
    writeFileSync(tmp, JSON.stringify(run));
    renameSync(tmp, path.join(backupDir, LAST_RUN));
  } catch {
    // ignored on purpose, see above
  }
}

/** The last recorded backup attempt, or null. */
export function readLastRun(backupDir: string): LastRun | null {
  try {
    return JSON.parse(readFileSync(path.join(backupDir, LAST_RUN), "utf8")) as LastRun;
  } catch {
    return null;
  }
}

/** The last backup attempt and the newest backup on disk (for the UI and the API). */
export function backupStatus(backupDir: string): { lastRun: LastRun | null; newest: BackupSummary | null } {
  return { lastRun: readLastRun(backupDir), newest: listBackups(backupDir)[0] ?? null };
}

/** {@link createBackup} that also records the outcome for metrics. */
export function createBackupRecorded(opts: CreateBackupOptions): CreatedBackup {
  const reason = opts.reason ?? "manual";
  try {
    const created = withBlobReadLock(opts.paths, () => createBackup(opts));
    recordRun(opts.paths.backupDir, { at: new Date().toISOString(), ok: true, reason, id: created.id, error: null });
    return created;
  } catch (err) {
    if (!(err instanceof BackupError)) {
      recordRun(opts.paths.backupDir, {
        at: new Date().toISOString(),
        ok: false,
        reason,
        id: null,
        error: (err as Error).message,
      });
    }
    throw err;
  }
}

/**
 * Replaces the database file with `sourceDb` atomically and adds the backup's uploads.
 * Uploads are content-addressed, so adding the backup's blobs next to the current ones is safe.
 * Every connection to the live database must be closed (the caller holds the lock).
 */
export function swapInDatabase(paths: Paths, sourceDb: string, uploadsSrc: string | null, expectedSha256?: string): void {
  mkdirSync(paths.uploadsDir, { recursive: true });
  if (uploadsSrc && existsSync(uploadsSrc)) {
    for (const rel of listFiles(uploadsSrc)) {
      const dest = path.join(paths.uploadsDir, rel);
      if (existsSync(dest)) continue;
      mkdirSync(path.dirname(dest), { recursive: true });
      const tmp = `${dest}.restore-${process.pid}`;
      copyFileSync(path.join(uploadsSrc, rel), tmp);
      fsyncPath(tmp);
      renameSync(tmp, dest);
    }
  }
  const staged = path.join(paths.dataDir, `.restore-${randomBytes(4).toString("hex")}.db`);
  copyFileSync(sourceDb, staged);
  // The copy is what goes live: it must be the file that was checked.
  if (expectedSha256 !== undefined && sha256Regular(staged) !== expectedSha256) {
    rmSync(staged, { force: true });
    throw new BackupError(`${sourceDb} changed while it was being restored; nothing was restored`, 409);
  }
  fsyncPath(staged);
  // A -wal left next to the old file would be replayed into the new one.
  for (const suffix of ["-wal", "-shm"]) {
    const p = `${paths.dbFile}${suffix}`;
    if (existsSync(p)) unlinkSync(p);
  }
  renameSync(staged, paths.dbFile);
  fsyncPath(paths.dataDir);
}

/** Result of a restore. */
export interface RestoreResult {
  readonly restored: string;
  readonly safetyBackup: string | null;
  readonly schemaVersion: number;
  readonly migrationsApplied: string[];
}

/**
 * Restores backup `id` into DATA_DIR: verify, safety backup of the current state, atomic swap,
 * open and migrate (so a backup from an older schema works). If migrating the restored database
 * fails, the safety backup is swapped back in. Live connections must be closed by the caller
 * (`beforeSwap`); the caller holds the cross-process lock.
 */
export function restoreBackup(opts: {
  paths: Paths;
  id: string;
  migrations: Migration[];
  instance: string;
  appVersion: string;
  /** Called after the safety backup, right before the files are swapped (close live connections here). */
  beforeSwap?: () => void;
  log?: (msg: string) => void;
  /** Accept a backup of another instance or key (an off-site copy on a new host); its content is checked all the same. */
  trust?: boolean;
}): RestoreResult {
  const { paths, id, migrations } = opts;
  const log = opts.log ?? (() => {});
  // Every check before anything changes: a refused backup leaves the instance as it was.
  const manifest = checkRestorable(opts);
  let safety: CreatedBackup | null = null;
  if (existsSync(paths.dbFile)) {
    safety = createBackupRecorded({
      paths,
      instance: opts.instance,
      appVersion: opts.appVersion,
      reason: "pre-restore",
    });
    log(`safety backup ${safety.id}`);
  }
  opts.beforeSwap?.();
  const dir = backupPath(paths.backupDir, id);
  swapInDatabase(paths, path.join(dir, BACKUP_DB), path.join(dir, "uploads"), manifest.files[BACKUP_DB]!.sha256);
  log(`restored ${id}`);
  const db = openDatabase(paths.dbFile);
  try {
    const applied = applyPending(db, migrations, log);
    // The backup's sessions were not ended by logouts after it was taken: a restore ends them all.
    if (stmt(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sessions'").get()) db.exec("DELETE FROM sessions");
    const status = migrationStatus(db, migrations);
    return { restored: id, safetyBackup: safety?.id ?? null, schemaVersion: status.current, migrationsApplied: applied };
  } catch (err) {
    db.close();
    if (safety) {
      const sdir = path.join(paths.backupDir, safety.id);
      swapInDatabase(paths, path.join(sdir, BACKUP_DB), null);
      log(`migrating the restored database failed; put back the safety backup ${safety.id}`);
    }
    throw err;
  } finally {
    if (db.open) db.close();
  }
}
