import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/** Root of the installed app (holds package.json, migrations/ and dist/). */
export const APP_ROOT = path.resolve(__dirname, "..");

/** Version from package.json: the single version source; the image also bakes it as APP_VERSION. */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(path.join(APP_ROOT, "package.json"), "utf8")) as { version: string })
  .version;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** The app's environment: every variable it reads (fleet derives its reserved env names from these keys). */
export const envSchema = z.object({
  PORT: z.coerce
    .number({ error: "must be an integer from 1 to 65535" })
    .int({ error: "must be an integer from 1 to 65535" })
    .min(1, { error: "must be an integer from 1 to 65535" })
    .max(65535, { error: "must be an integer from 1 to 65535" })
    .default(8080),
  HOST: z.string().default("0.0.0.0"),
  DATA_DIR: z
    .string()
    .refine((v) => path.isAbsolute(v), { error: "must be an absolute path, e.g. /data" })
    .default("/data"),
  BACKUP_DIR: z
    .string()
    .refine((v) => path.isAbsolute(v), { error: "must be an absolute path, e.g. /backups" })
    .default("/backups"),
  APP_SOCKET_DIR: z
    .string()
    .refine((v) => path.isAbsolute(v), { error: "must be an absolute path, e.g. /sockets/homebrews" })
    .optional(),
  APP_NAME: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
      error: "must be 1-63 lowercase letters, digits or dashes, starting with a letter or digit (e.g. homebrews)",
    })
    .default("fleet"),
  APP_TITLE: z.string().max(100, { error: "must be at most 100 characters" }).default("Fleet"),
  ADMIN_TOKEN: z
    .string({ error: "is required: set it to a random secret of at least 24 characters" })
    .min(24, { error: "must be at least 24 characters long (e.g. openssl rand -hex 24)" })
    .optional(),
  PUBLIC_READ: z.stringbool({ error: "must be true or false" }).default(false),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
  MAX_UPLOAD_BYTES: z.coerce
    .number({ error: "must be a positive integer (bytes)" })
    .int({ error: "must be a positive integer (bytes)" })
    .positive({ error: "must be a positive integer (bytes)" })
    .default(25 * 1024 * 1024),
  BLOB_GRACE_SECONDS: z.coerce
    .number({ error: "must be an integer of seconds, at least 1" })
    .int({ error: "must be an integer of seconds, at least 1" })
    .min(1, { error: "must be an integer of seconds, at least 1" })
    .default(600),
  STATUS_TOKEN: z.string().min(24, { error: "must be at least 24 characters long" }).optional(),
  NOTIFY_URL: z.string().optional(),
  FLEET_STACK: z.string().optional(),
  APP_VERSION: z.string().default(PACKAGE_VERSION),
  APP_REVISION: z.string().default("unknown"),
  APP_BUILD_DATE: z.string().default("unknown"),
});

/** Validated configuration of one app process. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly backupDir: string;
  /** Directory of the server's unix socket `<dir>/<hostname>.sock` (the proxy's upstream); undefined: TCP only. */
  readonly socketDir: string | undefined;
  readonly appName: string;
  readonly appTitle: string;
  /** Undefined only for CLI commands that do not need it. */
  readonly adminToken: string | undefined;
  readonly publicRead: boolean;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly maxUploadBytes: number;
  /** Age below which an unreferenced upload blob is kept (src/blobs.ts); default 600. */
  readonly blobGraceSeconds: number;
  /** Read-only token of `GET /api/status` (the fleet dashboard's); undefined: only the admin token reads it. */
  readonly statusToken: string | undefined;
  /** Where notifications go (src/notify.ts; `fleet:notify`, a secret); undefined: none. Checked when sent, so a bad one never stops a backup. */
  readonly notifyUrl: string | undefined;
  /** The Pulumi stack, named in notifications; undefined outside fleet. */
  readonly stack: string | undefined;
  readonly version: string;
  readonly revision: string;
  readonly buildDate: string;
}

/** Thrown by {@link loadConfig}; `problems` holds one line per bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const SECRET_VARS = new Set(["ADMIN_TOKEN", "STATUS_TOKEN", "NOTIFY_URL"]);

/** Suffix of a variable that names a file holding the value of the variable without it (Docker/Swarm secrets). */
export const FILE_SUFFIX = "_FILE";

/**
 * The environment with `NAME_FILE=/path` replaced by `NAME=<the file's content>` for the app's own
 * variables (the keys of {@link envSchema}): how Docker Swarm hands over secrets (files under
 * /run/secrets). Other `*_FILE` variables (a host's SSL_CERT_FILE, a user's SMTP_PASSWORD_FILE)
 * are left as they are. The content is used as it is. Setting both NAME and NAME_FILE, or a file
 * that cannot be read, is an error naming the variable.
 */
export function resolveFileVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  for (const [key, file] of Object.entries(env)) {
    if (!key.endsWith(FILE_SUFFIX) || file === undefined || file === "") continue;
    const name = key.slice(0, -FILE_SUFFIX.length);
    if (!(name in envSchema.shape)) continue;
    delete out[key];
    if (env[name] !== undefined && env[name] !== "") {
      problems.push(`${name}: set both as ${name} and as ${key}; set only one`);
      continue;
    }
    try {
      out[name] = readFileSync(file, "utf8");
    } catch (err) {
      problems.push(`${key}=${JSON.stringify(file)}: cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/**
 * Validates the environment. Empty strings count as unset, so defaults apply; `NAME_FILE`
 * variables are read first ({@link resolveFileVariables}).
 * @param requireAdminToken the server and `restore --live` need the token; offline CLI commands do not.
 */
export function loadConfig(rawEnv: NodeJS.ProcessEnv, { requireAdminToken = true }: { requireAdminToken?: boolean } = {}): Config {
  const env = resolveFileVariables(rawEnv);
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") input[key] = value;
  }
  const result = envSchema.safeParse(input);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const name = String(issue.path[0]);
      const shown = SECRET_VARS.has(name) || input[name] === undefined ? "" : `=${JSON.stringify(input[name])}`;
      problems.push(`${name}${shown}: ${issue.message}`);
    }
  }
  if (requireAdminToken && input.ADMIN_TOKEN === undefined) {
    problems.push("ADMIN_TOKEN: is required: set it to a random secret of at least 24 characters");
  }
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  const e = result.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    backupDir: e.BACKUP_DIR,
    socketDir: e.APP_SOCKET_DIR,
    appName: e.APP_NAME,
    appTitle: e.APP_TITLE,
    adminToken: e.ADMIN_TOKEN,
    publicRead: e.PUBLIC_READ,
    logLevel: e.LOG_LEVEL,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    blobGraceSeconds: e.BLOB_GRACE_SECONDS,
    statusToken: e.STATUS_TOKEN,
    notifyUrl: e.NOTIFY_URL,
    stack: e.FLEET_STACK,
    version: e.APP_VERSION,
    revision: e.APP_REVISION,
    buildDate: e.APP_BUILD_DATE,
  };
}

/** {@link loadConfig}, but a bad environment prints one line per problem and exits 1 (no stack trace). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv, opts?: { requireAdminToken?: boolean }): Config {
  try {
    return loadConfig(env, opts);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
