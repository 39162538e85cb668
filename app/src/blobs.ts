import { existsSync, readdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import path from "node:path";
import { type Db, openFile, type Paths, stmt, withFileLock } from "./db";

/** Default age below which an unreferenced blob is kept: an upload stores its blob before its row. */
const DEFAULT_BLOB_GRACE_MS = 10 * 60_000;
const SHA_RE = /^[0-9a-f]{64}$/;

/** The lock file that keeps blobs from being collected while a backup copies them. */
export function blobLockFile(paths: Paths): string {
  return path.join(paths.dataDir, ".fleet-blobs.lock");
}

/**
 * Runs `fn` while holding a shared lock on the blob lock file: any number of backups (in any
 * process: the app, the sidecar, the pre-update container) hold it at once, and the collector
 * cannot delete a blob meanwhile. A SQLite read transaction is a SHARED lock that the OS drops
 * if the process dies (https://www.sqlite.org/lockingv3.html), so there is no stale lock.
 */
export function withBlobReadLock<T>(paths: Paths, fn: () => T, timeoutMs = 120_000): T {
  return withFileLock(blobLockFile(paths), fn, timeoutMs, { shared: true });
}

/** Outcome of one collection pass. */
export interface CollectResult {
  /** Blobs deleted. */
  readonly deleted: number;
  /** Bytes those blobs held. */
  readonly freedBytes: number;
  /** Blobs still referenced, or too young to judge. */
  readonly kept: number;
  /** Why the pass did nothing, if it did nothing on purpose. */
  readonly skipped: "backup-in-progress" | null;
}

/** Upload blob files as `[sha256, absolute path]`, shard directory by shard directory. */
function* blobFiles(uploadsDir: string): Generator<[string, string]> {
  if (!existsSync(uploadsDir)) return;
  for (const shard of readdirSync(uploadsDir)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    const dir = path.join(uploadsDir, shard);
    for (const name of readdirSync(dir)) {
      if (SHA_RE.test(name) && name.startsWith(shard)) yield [name, path.join(dir, name)];
    }
  }
}

/**
 * Deletes upload blobs that no attachment row references. Safe against:
 * - a concurrent upload of the same content: `storeUpload` gives the blob a fresh mtime (new
 *   file, or a touch when the content is already there) before the row is inserted, and only
 *   blobs older than `graceMs` are candidates; the check and the unlink of one blob run without
 *   yielding, so nothing in this process can interleave with them;
 * - a backup in progress in any process: every pass holds the blob lock exclusively, and gives
 *   up at once (`skipped`) while a backup holds it shared.
 * Runs in slices of `sliceSize` blobs and yields between them, so it never stalls the event loop;
 * the lock is taken again for every slice.
 */
export async function collectGarbage(opts: {
  paths: Paths;
  /** The live database (a getter: a restore swaps it). */
  db: () => Db;
  graceMs?: number;
  sliceSize?: number;
  now?: () => number;
  /** Asked before every slice; false stops the pass (a restore is about to run). */
  mayRun?: () => boolean;
}): Promise<CollectResult> {
  const grace = opts.graceMs ?? DEFAULT_BLOB_GRACE_MS;
  const slice = opts.sliceSize ?? 500;
  const now = opts.now ?? Date.now;
  const files = blobFiles(opts.paths.uploadsDir);
  let deleted = 0;
  let freedBytes = 0;
  let kept = 0;
  for (;;) {
    if (opts.mayRun && !opts.mayRun()) break;
    const lock = openFile(blobLockFile(opts.paths));
    let done = false;
    try {
      lock.exec("PRAGMA busy_timeout = 0");
      try {
        lock.exec("BEGIN EXCLUSIVE");
      } catch (err) {
        if ((err as { code?: string }).code === "SQLITE_BUSY") return { deleted, freedBytes, kept, skipped: "backup-in-progress" };
        throw err;
      }
      try {
        const referenced = stmt(opts.db(), "SELECT 1 FROM attachments WHERE sha256 = ? LIMIT 1").pluck();
        const oldest = now() - grace;
        for (let i = 0; i < slice; i++) {
          const next = files.next();
          if (next.done) {
            done = true;
            break;
          }
          const [sha, file] = next.value;
          let st;
          try {
            st = statSync(file);
          } catch {
            continue; // gone meanwhile
          }
          if (st.mtimeMs > oldest || referenced.get(sha) !== undefined) {
            kept++;
            continue;
          }
          unlinkSync(file);
          deleted++;
          freedBytes += st.size;
        }
      } finally {
        lock.exec("COMMIT");
      }
    } finally {
      lock.close();
    }
    if (done) break;
    await new Promise((r) => setImmediate(r));
  }
  cleanStaleUploads(opts.paths.uploadsDir, now());
  return { deleted, freedBytes, kept, skipped: null };
}

/** Removes partial uploads left in `uploads/.tmp` by a crash, once they are a day old. */
function cleanStaleUploads(uploadsDir: string, now: number): void {
  const tmp = path.join(uploadsDir, ".tmp");
  if (!existsSync(tmp)) return;
  for (const name of readdirSync(tmp)) {
    const p = path.join(tmp, name);
    try {
      if (statSync(p).mtimeMs < now - 86_400_000) rmSync(p, { force: true });
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Runs {@link collectGarbage} soon after attachments may have been released (debounced), and
 * every `intervalMs`. One pass at a time; a pass skipped for a running backup is retried later.
 */
export class BlobCollector {
  private timer: NodeJS.Timeout | undefined;
  private readonly periodic: NodeJS.Timeout;
  private running: Promise<CollectResult> | undefined;
  /** Result of the last finished pass (for metrics). */
  last: (CollectResult & { at: string }) | null = null;
  /** Where passes report what they freed and why they failed (the server points it at its logger). */
  log: (msg: string, err?: unknown) => void = () => {};

  constructor(
    private readonly opts: {
      paths: Paths;
      db: () => Db;
      graceMs: number;
      mayRun: () => boolean;
      intervalMs?: number;
      debounceMs?: number;
    },
  ) {
    this.periodic = setInterval(() => this.soon(), opts.intervalMs ?? 10 * 60_000);
    this.periodic.unref();
  }

  /** Schedules a pass shortly (several calls in a row make one pass). */
  soon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run().catch(() => undefined); // logged in run()
    }, this.opts.debounceMs ?? 1000);
    this.timer.unref();
  }

  /** Runs a pass now, or joins the one that is running. */
  run(): Promise<CollectResult> {
    this.running ??= collectGarbage({ paths: this.opts.paths, db: this.opts.db, graceMs: this.opts.graceMs, mayRun: this.opts.mayRun })
      .then(
        (r) => {
          this.last = { ...r, at: new Date().toISOString() };
          if (r.deleted > 0) this.log(`freed ${r.deleted} unreferenced upload blobs (${r.freedBytes} bytes)`);
          if (r.skipped) this.soon();
          return r;
        },
        (err: unknown) => {
          this.log("collecting unreferenced upload blobs failed", err);
          throw err;
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** Stops the timers. */
  stop(): void {
    clearInterval(this.periodic);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
