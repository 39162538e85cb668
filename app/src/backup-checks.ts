import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { closeSync, constants, fstatSync, linkSync, lstatSync, openSync, readdirSync, readSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Db, integrityCheck, openFile, stmt } from "./db";
import { applyPending, type Migration, readApplied } from "./migrations";

/*
 * A backup is untrusted input until proven otherwise: it may come from another instance, another
 * host, an off-site copy, or an attacker who could write to BACKUP_DIR. These checks are pure
 * functions of their arguments (paths, the migrations, the key), with no app state, so they run
 * the same in the main thread, a worker thread or the CLI.
 */

/** A sha256 as the app writes it: 64 lowercase hex digits. Every blob path derives from one. */
export const SHA256_RE = /^[0-9a-f]{64}$/;
/** A manifest `files` key: the snapshot, or a blob under its two-digit shard. */
const FILE_KEY_RE = /^(?:app\.db|uploads\/([0-9a-f]{2})\/(\1[0-9a-f]{62}))$/;
/** Name of the per-instance key file in DATA_DIR that signs backup manifests. */
export const BACKUP_KEY_FILE = ".backup-key";
const MAX_SHOWN = 5;

/**
 * Opens a regular file for reading, never following a symbolic link and never blocking on a FIFO
 * or a device (O_NOFOLLOW | O_NONBLOCK, then fstat); anything else is refused with the reason.
 */
export function openRegular(file: string): number {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new Error(`${file}: not a regular file`);
  }
  return fd;
}

/** Reads a regular file of at most `maxBytes` (see {@link openRegular}). */
export function readRegular(file: string, maxBytes: number): Buffer {
  const fd = openRegular(file);
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new Error(`${file}: ${size} bytes, more than the ${maxBytes} allowed`);
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** sha256 (hex) of a regular file, read in 1 MiB chunks. */
export function sha256Regular(file: string): string {
  const hash = createHash("sha256");
  const fd = openRegular(file);
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let n: number;
    while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** Why a manifest `files` key is not a path the app writes, or null. */
export function fileKeyProblem(key: string): string | null {
  return FILE_KEY_RE.test(key) ? null : `${JSON.stringify(key.slice(0, 100))}: not app.db or uploads/<2 hex>/<sha256>`;
}

/**
 * Problems with the files of a backup directory: the directory itself, anything that is not a
 * plain directory or regular file (symbolic links, FIFOs, sockets, devices), files the manifest does
 * not list, and listed names that are not paths the app writes (a blob must be named by its hash).
 */
export function treeProblems(dir: string, files: Record<string, { sha256: string }>): string[] {
  const problems: string[] = [];
  const top = lstatSync(dir);
  if (!top.isDirectory()) return [`${dir}: not a directory (${top.isSymbolicLink() ? "a symbolic link" : "a special file"})`];
  for (const [key, f] of Object.entries(files)) {
    const bad = fileKeyProblem(key);
    if (bad) problems.push(bad);
    else if (key !== "app.db" && path.posix.basename(key) !== f.sha256)
      problems.push(`${key}: the name is not the file's sha256 ${f.sha256}`);
  }
  const walk = (rel: string) => {
    for (const ent of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? path.posix.join(rel, ent.name) : ent.name;
      if (ent.isSymbolicLink()) problems.push(`${r}: is a symbolic link`);
      else if (ent.isDirectory()) walk(r);
      else if (!ent.isFile()) problems.push(`${r}: is not a regular file`);
      else if (r !== "manifest.json" && !Object.hasOwn(files, r)) problems.push(`${r}: not listed in the manifest`);
    }
  };
  walk("");
  return problems;
}

/** The schema (sqlite_master) that the first `n` migrations build, cached per migration set. */
const schemaCache = new Map<string, string>();
function schemaOf(db: Db): string {
  const rows = stmt(db, "SELECT type, name, tbl_name AS tbl, sql FROM sqlite_master ORDER BY type, name").all();
  return JSON.stringify(rows);
}
function expectedSchema(migrations: Migration[]): string {
  const key = migrations.map((m) => m.checksum).join(",");
  let s = schemaCache.get(key);
  if (s === undefined) {
    const mem = openFile(":memory:");
    try {
      applyPending(mem, migrations);
      s = schemaOf(mem);
    } finally {
      mem.close();
    }
    schemaCache.set(key, s);
  }
  return s;
}

/** What {@link snapshotProblems} compares against the manifest. */
export interface SnapshotClaims {
  readonly schemaVersion: number;
  readonly migrations: string[];
  readonly rowCounts: Record<string, number>;
  readonly files: Record<string, unknown>;
}

/** Rows of every ordinary table (not the full-text index's own tables), as the manifest records them. */
export function tableCounts(db: Db): Record<string, number> {
  const tables = stmt(db, "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as {
    name: string;
    sql: string;
  }[];
  const virtual = tables.filter((t) => /^CREATE VIRTUAL TABLE/i.test(t.sql)).map((t) => t.name);
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    if (virtual.some((v) => name === v || name.startsWith(`${v}_`))) continue;
    counts[name] = (stmt(db, `SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`).get() as { n: number }).n;
  }
  return counts;
}

/**
 * Problems with a backup's database, opened read-only: not a database, `integrity_check`,
 * `foreign_key_check`, applied migrations that are not the code's (name and checksum), a schema
 * other than the one those migrations build, attachment hashes that are not sha256 hex (they name
 * files), blobs the backup does not carry, and a manifest that disagrees with the database.
 * `migrations` are the code's; a backup newer than the code is reported, not checked further.
 */
export function snapshotProblems(dbFile: string, claims: SnapshotClaims, migrations: Migration[]): string[] {
  let db: Db;
  try {
    // Refuses a link or a special file before SQLite opens it.
    closeSync(openRegular(dbFile));
    db = openFile(dbFile, { readonly: true, fileMustExist: true });
  } catch (err) {
    return [`app.db: cannot be opened (${(err as Error).message})`];
  }
  try {
    const problems: string[] = [];
    let integrity: string;
    try {
      integrity = integrityCheck(db);
    } catch (err) {
      return [`app.db: not a SQLite database (${(err as Error).message})`];
    }
    if (integrity !== "ok") return [`app.db: integrity_check: ${integrity}`];
    const fk = stmt(db, "PRAGMA foreign_key_check").all() as { table: string; rowid: number; parent: string }[];
    if (fk.length > 0) {
      problems.push(
        `app.db: foreign_key_check: ${fk.length} rows point at missing rows (${fk
          .slice(0, MAX_SHOWN)
          .map((r) => `${r.table} ${r.rowid} -> ${r.parent}`)
          .join(", ")})`,
      );
    }
    const applied = readApplied(db);
    if (applied.length === 0) return [...problems, "app.db: has no schema (no applied migrations)"];
    if (applied.length > migrations.length) {
      return [
        ...problems,
        `app.db: schema version ${applied.length} is newer than this app's ${migrations.length}; use a newer app version`,
      ];
    }
    for (const [i, a] of applied.entries()) {
      const m = migrations[i]!;
      if (a.version !== i + 1 || a.name !== m.name || a.checksum !== m.checksum) {
        problems.push(
          `app.db: applied migration ${a.version} ${JSON.stringify(a.name)} is not this app's ${m.name} (name or checksum differs)`,
        );
        return problems;
      }
    }
    if (schemaOf(db) !== expectedSchema(migrations.slice(0, applied.length))) {
      problems.push(
        `app.db: the schema differs from the one migrations 1-${applied.length} build (tables, indexes or triggers were changed)`,
      );
    }
    if (claims.schemaVersion !== applied.length || claims.migrations.join() !== applied.map((a) => a.name).join()) {
      problems.push(`manifest: schemaVersion ${claims.schemaVersion} and migrations do not match the database (${applied.length})`);
    }
    const counts = tableCounts(db);
    if (
      JSON.stringify(counts) !== JSON.stringify(Object.fromEntries(Object.entries(claims.rowCounts).sort(([a], [b]) => (a < b ? -1 : 1))))
    ) {
      problems.push(`manifest: rowCounts ${JSON.stringify(claims.rowCounts)} do not match the database ${JSON.stringify(counts)}`);
    }
    const hasAttachments = stmt(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'attachments'").get();
    if (hasAttachments) {
      const shas = stmt(db, "SELECT DISTINCT sha256 FROM attachments ORDER BY sha256").pluck().all() as unknown[];
      const bad = shas.filter((s) => typeof s !== "string" || !SHA256_RE.test(s));
      if (bad.length > 0) {
        problems.push(
          `app.db: ${bad.length} attachment hashes are not 64 lowercase hex digits (${bad
            .slice(0, MAX_SHOWN)
            .map((s) => JSON.stringify(String(s).slice(0, 80)))
            .join(", ")})`,
        );
      }
      const missing = (shas.filter((s) => typeof s === "string" && SHA256_RE.test(s)) as string[]).filter(
        (s) => !Object.hasOwn(claims.files, `uploads/${s.slice(0, 2)}/${s}`),
      );
      if (missing.length > 0)
        problems.push(`app.db: ${missing.length} attachments have no file in the backup (${missing.slice(0, MAX_SHOWN).join(", ")})`);
    }
    return problems;
  } finally {
    db.close();
  }
}

/**
 * The instance's backup key: 32 random bytes in `DATA_DIR/.backup-key` (mode 0600), created on
 * first use. It lives with the data, not with the backups: whoever can write BACKUP_DIR cannot sign.
 * Created with link(2), so two processes that start at once end up with the same key.
 */
export function backupKey(dataDir: string): Buffer {
  const file = path.join(dataDir, BACKUP_KEY_FILE);
  const read = () => {
    const hex = readRegular(file, 1024).toString("utf8").trim();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file}: not a backup key (64 hex digits); move it away to make a new one`);
    return Buffer.from(hex, "hex");
  };
  try {
    return read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  return read();
}

/** Short public name of a key: the first 16 hex digits of its sha256. */
export function keyId(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}

/** JSON with object keys sorted at every level: the bytes that a signature covers. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A manifest signature: HMAC-SHA256 of the canonical manifest without its signature. */
export interface ManifestSignature {
  readonly alg: "hmac-sha256";
  readonly keyId: string;
  readonly value: string;
}

/** Signs a manifest (every field but `signature`; the files' sha256 make it cover the whole backup). */
export function signManifest(manifest: object, key: Buffer): ManifestSignature {
  const rest: Record<string, unknown> = { ...(manifest as Record<string, unknown>) };
  delete rest.signature;
  return { alg: "hmac-sha256", keyId: keyId(key), value: createHmac("sha256", key).update(canonicalJson(rest)).digest("hex") };
}

/**
 * Why a backup may not come from this instance, or []: another instance's name, no signature, or
 * a signature by another key or over other content. `--trust` (API: `{"trust": true}`) accepts
 * such a backup; its content is checked all the same.
 */
export function provenanceProblems(
  manifest: { instance: string; signature?: ManifestSignature | undefined },
  key: Buffer,
  instance: string,
): string[] {
  const problems: string[] = [];
  if (manifest.instance !== instance)
    problems.push(`made by instance ${JSON.stringify(manifest.instance)}, not ${JSON.stringify(instance)}`);
  const sig = manifest.signature;
  if (!sig) {
    problems.push("the manifest is not signed");
  } else if (sig.keyId !== keyId(key)) {
    problems.push(`signed by another key (${sig.keyId}; this instance's key is ${keyId(key)}, e.g. another host or a new data volume)`);
  } else {
    const expected = Buffer.from(signManifest(manifest, key).value, "hex");
    const got = Buffer.from(sig.value, "hex");
    if (expected.length !== got.length || !timingSafeEqual(expected, got))
      problems.push("the signature does not match the manifest (it was changed)");
  }
  return problems;
}
