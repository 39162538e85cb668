import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { APP_ROOT } from "./config";
import { type Db, stmt } from "./db";

/** Migrations shipped with the app: `migrations/NNNN_name.sql`. */
export const DEFAULT_MIGRATIONS_DIR = path.join(APP_ROOT, "migrations");

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** One migration file. `version` is its NNNN prefix. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly sql: string;
}

/** A row of `schema_migrations`. */
export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly appliedAt: string;
}

/** The app refuses to start (or to migrate) for this reason. */
export class MigrationError extends Error {
  override name = "MigrationError";
}

/** Reads and orders the migration files; rejects names that do not match, gaps and duplicates. */
export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const m = FILE_RE.exec(file);
    if (!m) {
      throw new MigrationError(`${path.join(dir, file)}: migration file names must look like 0001_create_things.sql`);
    }
    const sql = readFileSync(path.join(dir, file), "utf8");
    const version = Number(m[1]);
    if (version !== migrations.length + 1) {
      throw new MigrationError(
        `${path.join(dir, file)}: expected version ${String(migrations.length + 1).padStart(4, "0")} next; versions must be consecutive from 0001`,
      );
    }
    migrations.push({ version, name: file, checksum: sha256(sql), sql });
  }
  return migrations;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  checksum TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

/** Applied migrations, or [] for a database that has none yet. Never writes. */
export function readApplied(db: Db): AppliedMigration[] {
  const exists = stmt(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!exists) return [];
  return stmt(
    db,
    "SELECT version, name, checksum, applied_at AS appliedAt FROM schema_migrations ORDER BY version",
  ).all() as AppliedMigration[];
}

/** Highest applied version (0 for an empty database). */
export function schemaVersionOf(db: Db): number {
  const applied = readApplied(db);
  return applied.length === 0 ? 0 : applied[applied.length - 1]!.version;
}

/** Comparison of the database with the code's migrations. */
export interface MigrationStatus {
  readonly applied: AppliedMigration[];
  readonly pending: Migration[];
  /** Current schema version of the database. */
  readonly current: number;
  /** Latest version the code knows. */
  readonly latest: number;
}

/**
 * Compares applied migrations with the files. Throws {@link MigrationError} (fail closed) when an
 * applied file changed or is missing, or when the database is newer than the code.
 */
export function migrationStatus(db: Db, migrations: Migration[]): MigrationStatus {
  const applied = readApplied(db);
  for (const a of applied) {
    const m = migrations[a.version - 1];
    if (!m) {
      throw new MigrationError(
        `the database is at schema version ${applied[applied.length - 1]!.version} (${a.name}) but this app only knows ${migrations.length}; run a newer app version or restore a backup`,
      );
    }
    if (m.name !== a.name) {
      throw new MigrationError(
        `migration ${a.version} was applied as ${a.name} but the code has ${m.name}; never rename applied migrations`,
      );
    }
    if (m.checksum !== a.checksum) {
      throw new MigrationError(
        `migration ${a.name} changed after it was applied (checksum ${a.checksum.slice(0, 12)} in the database, ${m.checksum.slice(0, 12)} in the file); never edit applied migrations, add a new one`,
      );
    }
  }
  const current = applied.length === 0 ? 0 : applied[applied.length - 1]!.version;
  return { applied, pending: migrations.slice(current), current, latest: migrations.length };
}

/**
 * Applies pending migrations, each in its own transaction. The caller holds the cross-process lock
 * (see {@link withFileLock}) and has taken the pre-migration backup.
 * @returns the names applied
 */
export function applyPending(db: Db, migrations: Migration[], log: (msg: string) => void = () => {}): string[] {
  db.exec(CREATE_TABLE);
  const { pending } = migrationStatus(db, migrations);
  const insert = stmt(db, "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)");
  const done: string[] = [];
  for (const m of pending) {
    const apply = db.transaction(() => {
      db.exec(m.sql);
      insert.run(m.version, m.name, m.checksum, new Date().toISOString());
    });
    try {
      apply.immediate();
    } catch (err) {
      throw new MigrationError(
        `migration ${m.name} failed and was rolled back: ${(err as Error).message}${done.length ? ` (applied before it: ${done.join(", ")})` : ""}`,
      );
    }
    done.push(m.name);
    log(`applied migration ${m.name}`);
  }
  return done;
}

/** True when the file exists and has at least one applied migration. */
export function isExistingDatabase(db: Db): boolean {
  return readApplied(db).length > 0;
}
