/**
 * Child-process entry for the backup work of the admin API (create, verify, restore). The server
 * forks this file per operation ({@link runBackupJob} in jobs.ts), so hashing files and VACUUM INTO
 * never run on the server's event loop. One request message in, one result message out, then exit.
 */
import { BackupError, checkRestorable, createBackupRecorded, restoreBackup, verifyBackup } from "./backup";
import { withFileLock } from "./db";
import type { JobReply, JobRequest } from "./jobs";

function handle(req: JobRequest): unknown {
  const base = { paths: req.paths, instance: req.instance, appVersion: req.appVersion };
  switch (req.op) {
    case "create":
      return createBackupRecorded({ ...base, ...req.options });
    case "verify":
      return verifyBackup(req.paths.backupDir, req.id, req.migrations);
    case "check":
      checkRestorable({ ...req, trust: req.trust });
      return null;
    case "restore":
      return withFileLock(req.paths.lockFile, () =>
        restoreBackup({
          ...base,
          id: req.id,
          migrations: req.migrations,
          trust: req.trust,
          log: (msg) => process.send?.({ log: msg } satisfies JobReply),
        }),
      );
  }
}

process.once("message", (req: JobRequest) => {
  let reply: JobReply;
  try {
    reply = { result: handle(req) };
  } catch (err) {
    const e = err as Error;
    reply = {
      error: {
        name: e.name,
        message: e.message,
        ...(err instanceof BackupError ? { statusCode: err.statusCode } : {}),
        ...((err as NodeJS.ErrnoException).code !== undefined ? { code: (err as NodeJS.ErrnoException).code } : {}),
      },
    };
  }
  process.send?.(reply, () => process.exit(0));
});
