/** errno and SQLite codes that mean the disk (or a quota) is full. */
const DISK_FULL_CODES = new Set(["ENOSPC", "EDQUOT", "SQLITE_FULL"]);

/** True when `err` (a fs, SQLite or backup-job error) says the disk is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && DISK_FULL_CODES.has(code);
}

/** What a client is told when a write failed for want of space (HTTP 507). */
export const DISK_FULL_MESSAGE =
  "the disk is full (no space left on the instance's volume): nothing was written, reads still work; free space and retry, no restart is needed";
