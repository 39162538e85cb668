import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { createBackupRecorded } from "./backup";
import { type Db, openDatabase, openReadOnly, type Paths, withFileLock } from "./db";
import { applyPending, type Migration, migrationStatus, type MigrationStatus } from "./migrations";

/** Options of {@link openAndMigrate}. */
export interface OpenAndMigrateOptions {
  readonly paths: Paths;
  readonly migrations: Migration[];
  readonly instance: string;
  readonly appVersion: string;
  readonly log?: (msg: string) => void;
  /** Take the automatic backup before migrating an existing database (default true). */
  readonly backupBeforeMigrate?: boolean;
}

/** Result of {@link openAndMigrate}. */
export interface Opened {
  readonly db: Db;
  readonly schemaVersion: number;
  readonly applied: string[];
  readonly preMigrationBackup: string | null;
}

/**
 * Opens the live database and brings it to the code's schema, under the cross-process lock.
 * Fails closed (throws; the caller exits non-zero) on a failed migration, a changed checksum or a
 * database newer than the code. Before it migrates a database that already has a schema, it
 * takes a backup; if that backup fails, nothing is migrated.
 */
export function openAndMigrate(opts: OpenAndMigrateOptions): Opened {
  const { paths, migrations } = opts;
  const log = opts.log ?? (() => {});
  ensureDir(paths.dataDir, "DATA_DIR");
  ensureDir(paths.uploadsDir, "DATA_DIR");
  ensureDir(paths.backupDir, "BACKUP_DIR");
  return withFileLock(paths.lockFile, () => {
    const db = openDatabase(paths.dbFile);
    try {
      const status = migrationStatus(db, migrations);
      let preMigrationBackup: string | null = null;
      if (status.pending.length > 0 && status.current > 0 && opts.backupBeforeMigrate !== false) {
        preMigrationBackup = createBackupRecorded({
          paths,
          instance: opts.instance,
          appVersion: opts.appVersion,
          reason: "pre-migrate",
        }).id;
        log(`backup ${preMigrationBackup} taken before migrating from schema ${status.current} to ${status.latest}`);
      }
      const applied = applyPending(db, migrations, log);
      return { db, schemaVersion: migrationStatus(db, migrations).current, applied, preMigrationBackup };
    } catch (err) {
      db.close();
      throw err;
    }
  });
}

/** Creates a directory or explains which variable points at an unusable place. */
function ensureDir(dir: string, variable: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new Error(
      `${variable}: cannot use ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it must be a writable directory, e.g. a mounted volume`,
    );
  }
}

/** Migration status of the database at `paths` without changing it (for `migrate status`). */
export function statusOf(paths: Paths, migrations: Migration[]): MigrationStatus | null {
  if (!existsSync(paths.dbFile)) return null;
  const db = openReadOnly(paths.dbFile);
  try {
    return migrationStatus(db, migrations);
  } finally {
    db.close();
  }
}
