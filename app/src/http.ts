import type { FastifyError, FastifyInstance } from "fastify";
import type { z } from "zod";
import { BackupError } from "./backup";
import { StaleRequestError } from "./context";
import { DISK_FULL_MESSAGE, isDiskFull } from "./disk-full";
import { TooLargeError } from "./domain/attachments";
import { ConflictError, NotFoundError, ValidationError } from "./domain/errors";

/**
 * Parses `value` with `schema`; on failure throws a {@link ValidationError} naming the first bad
 * field (dotted path), e.g. `title: is required`. `where` names the whole input (body, query).
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  let field = issue.path.map(String).join(".");
  let message = issue.message;
  if (issue.code === "unrecognized_keys") {
    field = [...issue.path.map(String), issue.keys[0]].filter(Boolean).join(".");
    message = "is not a known field";
  }
  throw new ValidationError(field || where, message);
}

/** JSON error body of every 4xx/5xx response. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  field?: string;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
  507: "Insufficient Storage",
};

/** Builds an error body. */
export function errorBody(statusCode: number, message: string, field?: string): ErrorBody {
  return { statusCode, error: TITLES[statusCode] ?? "Error", message, ...(field ? { field } : {}) };
}

const BODY_ERRORS = new Set(["FST_ERR_CTP_INVALID_JSON_BODY", "FST_ERR_CTP_EMPTY_JSON_BODY", "FST_ERR_CTP_BODY_TOO_LARGE"]);
const TOO_LARGE = new Set([
  "FST_REQ_FILE_TOO_LARGE",
  "FST_FILES_LIMIT",
  "FST_PARTS_LIMIT",
  "FST_FIELDS_LIMIT",
  "FST_ERR_CTP_BODY_TOO_LARGE",
]);

/**
 * Replaces the instance's directories in a text by the names of their variables (`DATA_DIR`,
 * `BACKUP_DIR`): error bodies tell what is wrong without showing the server's file system.
 */
export function hidePaths(text: string, dirs: Record<string, string>): string {
  let out = text;
  // Longest first, so a directory inside another is replaced whole.
  for (const [name, dir] of Object.entries(dirs).sort((a, b) => b[1].length - a[1].length)) {
    if (dir.length > 1) out = out.split(dir).join(name).split(JSON.stringify(dir).slice(1, -1)).join(name);
  }
  return out;
}

/**
 * JSON 404 for unknown routes, an error handler that names fields on 4xx and hides internals on
 * 5xx, and no server paths in any error body.
 */
export function installErrorHandling(app: FastifyInstance): void {
  const dirs = { DATA_DIR: app.ctx.paths.dataDir, BACKUP_DIR: app.ctx.paths.backupDir };
  app.addHook("onSend", async (_req, reply, payload) =>
    reply.statusCode >= 400 && typeof payload === "string" ? hidePaths(payload, dirs) : payload,
  );
  // The path is not echoed: a 404 body is never a place for attacker-chosen text.
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody(404, `no such route (${req.method}); see the API list in the README`));
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ValidationError) return reply.code(400).send(errorBody(400, err.message, err.field));
    if (err instanceof NotFoundError) return reply.code(404).send(errorBody(404, err.message));
    if (err instanceof ConflictError) return reply.code(409).send(errorBody(409, err.message));
    if (err instanceof TooLargeError) return reply.code(413).send(errorBody(413, err.message, "file"));
    if (err instanceof StaleRequestError) return reply.code(503).header("retry-after", "1").send(errorBody(503, err.message));
    if (err instanceof BackupError) return reply.code(err.statusCode).send(errorBody(err.statusCode, err.message));
    if (err.code && TOO_LARGE.has(err.code)) return reply.code(413).send(errorBody(413, err.message, "body"));
    if (err.code && BODY_ERRORS.has(err.code)) return reply.code(400).send(errorBody(400, err.message, "body"));
    if (err instanceof SyntaxError && err.statusCode === 400) {
      return reply.code(400).send(errorBody(400, `body is not valid JSON: ${err.message}`, "body"));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send(errorBody(status, err.message));
    if (isDiskFull(err)) {
      req.log.error({ err }, "request failed: disk full");
      return reply.code(507).send(errorBody(507, DISK_FULL_MESSAGE));
    }
    req.log.error({ err }, "request failed");
    return reply.code(500).send(errorBody(500, `internal error (request ${req.id}); see the server log`));
  });
}
