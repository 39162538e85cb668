import { AsyncLocalStorage } from "node:async_hooks";
import { BackupError, type RestoreResult } from "./backup";
import { BlobCollector } from "./blobs";
import type { Config } from "./config";
import { type Db, openDatabase, type Paths, pathsFor } from "./db";
import { AttachmentRepository } from "./domain/attachments";
import { EntryRepository } from "./domain/entries";
import { EntryTypeRepository } from "./domain/entry-types";
import { NoteRepository } from "./domain/notes";
import { RelationshipTypeRepository } from "./domain/relationship-types";
import { RelationshipRepository } from "./domain/relationships";
import { SessionRepository } from "./domain/sessions";
import { defaultSettings, type Settings, SettingsRepository } from "./domain/settings";
import { openAndMigrate } from "./lifecycle";
import { runBackupJob } from "./jobs";
import { loadMigrations, type Migration, migrationStatus } from "./migrations";

/** The domain repositories; the pages and the JSON API both use these. */
export interface Repositories {
  readonly types: EntryTypeRepository;
  readonly entries: EntryRepository;
  readonly notes: NoteRepository;
  readonly attachments: AttachmentRepository;
  readonly relationships: RelationshipRepository;
  readonly relationshipTypes: RelationshipTypeRepository;
  readonly settings: SettingsRepository;
  readonly sessions: SessionRepository;
}

/** A request that began before a restore touched the database after it: refused (503), nothing written. */
export class StaleRequestError extends Error {
  override name = "StaleRequestError";
  constructor() {
    super("the database was restored while this request ran; nothing was written, retry it");
  }
}

/**
 * Everything a request needs: configuration, the live database (swapped by a restore), the
 * repositories and the maintenance flag. One per app process; available as `app.ctx`.
 */
export class AppContext {
  readonly paths: Paths;
  readonly repos: Repositories;
  /** True while a restore runs; every route but /api/health answers 503. */
  maintenance = false;
  /** Requests being handled right now (a restore waits for them). */
  inFlight = 0;
  /** Collects upload blobs no attachment references (src/blobs.ts). */
  readonly blobs: BlobCollector;
  private restoring = false;
  private current: Db;
  private version: number;
  /** Bumped by every restore; a request remembers the generation it started on (see {@link runRequest}). */
  private generation = 0;
  private readonly requestGeneration = new AsyncLocalStorage<number>();

  constructor(
    readonly config: Config,
    readonly migrations: Migration[],
    db: Db,
    schemaVersion: number,
  ) {
    this.paths = pathsFor(config.dataDir, config.backupDir);
    this.current = db;
    this.version = schemaVersion;
    const src = () => this.live();
    const types = new EntryTypeRepository(src);
    const relationshipTypes = new RelationshipTypeRepository(src);
    this.repos = {
      types,
      entries: new EntryRepository(src, types),
      notes: new NoteRepository(src),
      attachments: new AttachmentRepository(src, this.paths.uploadsDir),
      relationships: new RelationshipRepository(src, relationshipTypes),
      relationshipTypes,
      settings: new SettingsRepository(src, defaultSettings(config.appTitle)),
      sessions: new SessionRepository(src),
    };
    this.blobs = new BlobCollector({
      paths: this.paths,
      db: src,
      graceMs: config.blobGraceSeconds * 1000,
      mayRun: () => !this.maintenance && !this.restoring,
    });
  }

  /**
   * Opens (and migrates, under the lock, with the pre-migration backup) the database of `config`.
   * Throws MigrationError when the app must not start.
   */
  static open(config: Config, opts: { migrationsDir?: string; log?: (msg: string) => void } = {}): AppContext {
    const migrations = loadMigrations(opts.migrationsDir);
    const opened = openAndMigrate({
      paths: pathsFor(config.dataDir, config.backupDir),
      migrations,
      instance: config.appName,
      appVersion: config.version,
      ...(opts.log ? { log: opts.log } : {}),
    });
    return new AppContext(config, migrations, opened.db, opened.schemaVersion);
  }

  /** The live connection. Do not keep it across requests: a restore replaces it. */
  get db(): Db {
    return this.live();
  }

  /**
   * Runs a request's work (`next`: the rest of Fastify's hooks and the handler) bound to the
   * current database generation. A request that is still running when a restore swaps the
   * database in (after the drain window) can no longer read or write it: any access throws
   * {@link StaleRequestError}, so nothing meant for the old database lands in the restored one.
   */
  runRequest(next: () => void): void {
    this.requestGeneration.run(this.generation, next);
  }

  private live(): Db {
    const started = this.requestGeneration.getStore();
    if (started !== undefined && started !== this.generation) throw new StaleRequestError();
    return this.current;
  }

  /** Schema version of the live database. */
  get schemaVersion(): number {
    return this.version;
  }

  /** The instance settings (defaults in code, overridden by stored values). */
  settings(): Settings {
    return this.repos.settings.get();
  }

  /**
   * Restores backup `id` in-process: verify, maintenance mode (health 503), wait for running
   * requests, safety backup, atomic swap, reopen and migrate, leave maintenance mode.
   * @param ownRequests requests of the caller itself that are in flight (1 from the API route)
   */
  async restore(
    id: string,
    ownRequests = 0,
    log: (msg: string) => void = () => {},
    opts: { trust?: boolean; drainMs?: number } = {},
  ): Promise<RestoreResult> {
    if (this.maintenance || this.restoring) throw new BackupError("a restore is already running", 409);
    const job = { paths: this.paths, instance: this.config.appName, appVersion: this.config.version };
    const trust = opts.trust === true;
    this.restoring = true;
    try {
      // Checks and restore run in a child process (jobs.ts): hashing every file must not stall the server.
      // A refused backup is refused here, before maintenance mode; the restore checks again under the lock.
      await runBackupJob({ ...job, op: "check", id, migrations: this.migrations, trust });
      this.maintenance = true;
      const deadline = Date.now() + (opts.drainMs ?? 10_000);
      while (this.inFlight > ownRequests && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // The child takes the safety backup, swaps the file and migrates; the live connection must be
      // closed first, and from here on requests that began before this point are stale.
      this.generation++;
      this.current.close();
      return await runBackupJob<RestoreResult>({ ...job, op: "restore", id, migrations: this.migrations, trust }, log);
    } finally {
      this.restoring = false;
      if (!this.current.open) {
        this.current = openDatabase(this.paths.dbFile);
        this.version = migrationStatus(this.current, this.migrations).current;
      }
      this.maintenance = false;
    }
  }

  /** Closes the database and stops the blob collector. */
  close(): void {
    this.blobs.stop();
    if (this.current.open) this.current.close();
  }
}
