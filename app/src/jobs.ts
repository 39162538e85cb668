import { fork } from "node:child_process";
import path from "node:path";
import { BackupError, type CreateBackupOptions } from "./backup";
import { APP_ROOT } from "./config";
import type { Paths } from "./db";
import type { Migration } from "./migrations";

/** What the server asks the backup child process to do. */
export type JobRequest = { readonly paths: Paths; readonly instance: string; readonly appVersion: string } & (
  | { readonly op: "create"; readonly options: Pick<CreateBackupOptions, "reason" | "from" | "to"> }
  | { readonly op: "verify"; readonly id: string; readonly migrations: Migration[] }
  | { readonly op: "check"; readonly id: string; readonly migrations: Migration[]; readonly trust: boolean }
  | { readonly op: "restore"; readonly id: string; readonly migrations: Migration[]; readonly trust: boolean }
);

/** A message from the child: a log line, the result, or the error it threw. */
export type JobReply =
  | { readonly log: string }
  | { readonly result: unknown }
  | { readonly error: { name: string; message: string; statusCode?: BackupError["statusCode"]; code?: string } };

/** The compiled child entry; under the tests (sources run as .ts) the built copy in dist/. */
const ENTRY = __filename.endsWith(".ts") ? path.join(APP_ROOT, "dist", "backup-job.js") : path.join(__dirname, "backup-job.js");

/** An error from the backup child that is not a {@link BackupError} (disk full, corrupt upload, crash). */
export class BackupJobError extends Error {
  override name = "BackupJobError";
  constructor(
    message: string,
    /** errno code of the cause, such as ENOSPC, when there was one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * Runs one backup operation in a child process and resolves with its result. A {@link BackupError}
 * thrown there is rethrown here with its status code. The child gets no secrets: only PATH.
 */
export function runBackupJob<T>(req: JobRequest, log: (msg: string) => void = () => {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(ENTRY, [], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: process.env.NODE_ENV ?? "production" },
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "advanced",
    });
    let settled = false;
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      stderr = (stderr + c.toString("utf8")).slice(-2000);
    });
    child.on("message", (m: JobReply) => {
      if ("log" in m) return log(m.log);
      settled = true;
      if ("result" in m) return resolve(m.result as T);
      const { name, message, statusCode, code } = m.error;
      reject(name === "BackupError" && statusCode !== undefined ? new BackupError(message, statusCode) : new BackupJobError(message, code));
    });
    child.on("error", (err) => {
      if (!settled) reject(new BackupJobError(`backup job could not run: ${err.message}`));
      settled = true;
    });
    child.on("exit", (code, signal) => {
      if (!settled) reject(new BackupJobError(`backup job exited with ${signal ?? `code ${code}`}: ${stderr.trim() || "no output"}`));
      settled = true;
    });
    child.send(req);
  });
}
