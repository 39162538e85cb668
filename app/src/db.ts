import Database from "better-sqlite3";
import path from "node:path";

/** A better-sqlite3 connection. */
export type Db = Database.Database;

/** Where an instance keeps its files, derived from DATA_DIR / BACKUP_DIR. */
export interface Paths {
  readonly dataDir: string;
  readonly backupDir: string;
  /** The live database. */
  readonly dbFile: string;
  /** Uploaded files, content-addressed by sha256. */
  readonly uploadsDir: string;
  /** A second SQLite file used only as a cross-process lock for migrations and restores. */
  readonly lockFile: string;
}

/** Derives every path from the two configured directories. */
export function pathsFor(dataDir: string, backupDir: string): Paths {
  return {
    dataDir,
    backupDir,
    dbFile: path.join(dataDir, "app.db"),
    uploadsDir: path.join(dataDir, "uploads"),
    lockFile: path.join(dataDir, ".fleet-lock.db"),
  };
}

/*
 * Built against Node >= 24.19 headers, node::ObjectWrap registers an environment cleanup hook in
 * its constructor and removes it in its destructor, which CHECKs for a current Environment. When
 * V8's GC finalizes a better-sqlite3 12 Database or Statement (raw ObjectWrap; 13 moved to
 * node-addon-api) there may be none, and the process aborts: "Assertion failed: (env) != nullptr"
 * in node::RemoveEnvironmentCleanupHook (WiseLibs/better-sqlite3#1515, closed without a fix;
 * analysis in Drakon-Systems-Ltd/ShieldCortex#464). We stay on 12 and keep every such object
 * reachable for the life of the process: connections are few (one live, a few per backup) and
 * statements are cached by SQL text, so this is bounded. Never call `new Database`, `db.prepare`
 * or `db.pragma` directly: use {@link openFile}, {@link stmt} and `db.exec("PRAGMA ...")`.
 */
const keepAlive = new Set<Db>();
const statementCache = new Map<Db, Map<string, Database.Statement>>();

/** Opens a SQLite file and keeps the connection object reachable (see above). */
export function openFile(file: string, options?: Database.Options): Db {
  const db = new Database(file, options);
  keepAlive.add(db);
  return db;
}

/** Opens the live database: WAL, foreign keys on, a busy timeout so concurrent writers wait. */
export function openDatabase(file: string): Db {
  const db = openFile(file);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA foreign_keys = ON");
  // NORMAL is durable in WAL mode against process crashes (kill -9); only an OS crash can lose
  // the last transactions. https://www.sqlite.org/pragma.html#pragma_synchronous
  db.exec("PRAGMA synchronous = NORMAL");
  return db;
}

/** Opens a database for reading only; never checkpoints or changes the file. */
export function openReadOnly(file: string): Db {
  const db = openFile(file, { readonly: true, fileMustExist: true });
  db.exec("PRAGMA busy_timeout = 5000");
  return db;
}

/** First column of the first row of `PRAGMA integrity_check`: "ok" for a sound file. */
export function integrityCheck(db: Db): string {
  return String(stmt(db, "PRAGMA integrity_check").pluck().get());
}

/** A prepared statement cached per connection (the connection is swapped on restore). */
export function stmt(db: Db, sql: string): Database.Statement {
  let cache = statementCache.get(db);
  if (!cache) {
    cache = new Map();
    statementCache.set(db, cache);
  }
  let s = cache.get(sql);
  if (!s) {
    s = db.prepare(sql);
    cache.set(sql, s);
  }
  return s;
}

/** Holds an exclusive lock on `lockFile` (a SQLite file) while `fn` runs; other processes wait up to `timeoutMs`.
 * With `shared`, a shared lock (a read transaction): any number of holders, no exclusive one.
 * The OS releases the lock if the process dies, so there is no stale lock to clean up. */
export function withFileLock<T>(lockFile: string, fn: () => T, timeoutMs = 60_000, { shared = false } = {}): T {
  const lock = openFile(lockFile);
  try {
    lock.exec(`PRAGMA busy_timeout = ${Math.floor(timeoutMs)}`);
    lock.exec(shared ? "BEGIN" : "BEGIN EXCLUSIVE");
    if (shared) stmt(lock, "SELECT count(*) FROM sqlite_master").get();
    try {
      return fn();
    } finally {
      lock.exec("COMMIT");
    }
  } finally {
    lock.close();
  }
}
