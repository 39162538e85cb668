/**
 * What the fleet dashboard reads from an instance, besides the public /api/health: the container
 * serving, its uptime and restarts, the last backup and the size of the data. Served as
 * `GET /api/status` (routes/status.ts) to the admin token or the instance's read-only STATUS_TOKEN,
 * which is all the dashboard holds (it never gets an admin token).
 */
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";

/** Per-container start counts, in DATA_DIR (Docker's restart count needs the Docker socket, which the dashboard never gets). */
export const STARTS_FILE = ".container-starts.json";
/** Containers remembered in {@link STARTS_FILE}; older ones (gone after rolls) are dropped. */
const STARTS_KEPT = 8;

type Starts = Record<string, number>;

function readStarts(dataDir: string): Starts {
  try {
    const parsed = JSON.parse(readFileSync(path.join(dataDir, STARTS_FILE), "utf8")) as unknown;
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Starts) : {};
  } catch {
    return {};
  }
}

/**
 * Counts one start of this container (its hostname is its short id) and returns how many it has had.
 * Best effort: a failure to write never stops the server (the count is then unknown).
 */
export function recordStart(dataDir: string, container = hostname()): number | null {
  const starts = readStarts(dataDir);
  const count = (starts[container] ?? 0) + 1;
  delete starts[container];
  const kept = Object.entries(starts).slice(-(STARTS_KEPT - 1));
  try {
    const tmp = path.join(dataDir, `${STARTS_FILE}.${process.pid}`);
    writeFileSync(tmp, JSON.stringify(Object.fromEntries([...kept, [container, count]])));
    renameSync(tmp, path.join(dataDir, STARTS_FILE));
    return count;
  } catch {
    return null;
  }
}

/** Restarts of this container (starts minus one), or null when no start was recorded (a process not started by server.ts). */
export function restartsOf(dataDir: string, container = hostname()): number | null {
  const n = readStarts(dataDir)[container];
  return typeof n === "number" && n >= 1 ? n - 1 : null;
}

/** Bytes of every file under `dir` (not following links); 0 for a missing directory. */
export function treeBytes(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += treeBytes(p);
    else if (e.isFile()) {
      try {
        total += statSync(p).size;
      } catch {
        // removed meanwhile
      }
    }
  }
  return total;
}
