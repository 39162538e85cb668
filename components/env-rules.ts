/**
 * Rules for the environment of an app container: which names fleet, the app image and the runtime
 * own, which names and values look like secrets, and the fix that moves a secret to
 * `fleet:secretEnv`. Pure. The app's own names come from its config schema (app/src/config.ts),
 * so a variable the app starts reading is reserved without a change here.
 */
import { envSchema } from "../app/src/config";

/** Upper-snake-case environment variable names. */
export const ENV_NAME_PATTERN = /^[A-Z][A-Z0-9_]*$/;

/** Names the program sets on every app container (components/app-instance.ts). */
export const FLEET_ENV = [
  "APP_NAME",
  "APP_TITLE",
  "ADMIN_TOKEN",
  "PORT",
  "DATA_DIR",
  "BACKUP_DIR",
  "APP_SOCKET_DIR",
] as const;

/** The app's variables an instance file may set; every other name the app reads is the image's or fleet's. */
export const USER_APP_ENV = ["PUBLIC_READ", "LOG_LEVEL", "MAX_UPLOAD_BYTES"] as const;

/** Every variable the app reads (its config schema). */
export const APP_ENV: readonly string[] = Object.keys(envSchema.shape);

/** Names and prefixes that change how Node.js, libuv or the dynamic linker run the app. */
const RUNTIME_ENV = ["PATH", "HOME", "HOSTNAME", "USER", "SHELL", "TMPDIR"];
const RUNTIME_PREFIXES = ["NODE_", "UV_", "LD_", "NPM_CONFIG_", "FLEET_"];

/** Why a name is reserved, or undefined when an instance file may set it. */
export function reservedEnv(name: string): string | undefined {
  // The app reads NAME_FILE as NAME (app/src/config.ts resolveFileVariables): the same rule applies.
  if (name.endsWith("_FILE") && name !== "_FILE") {
    const base = name.slice(0, -"_FILE".length);
    const reason = base === "ADMIN_TOKEN" ? "set by fleet itself" : reservedEnv(base);
    if (reason !== undefined) return `the app reads it as ${base}, which is ${reason}`;
  }
  if ((FLEET_ENV as readonly string[]).includes(name)) return "set by fleet itself";
  if (APP_ENV.includes(name) && !(USER_APP_ENV as readonly string[]).includes(name)) {
    return "owned by the app image (app/src/config.ts)";
  }
  if (RUNTIME_ENV.includes(name) || RUNTIME_PREFIXES.some((p) => name.startsWith(p))) {
    return "reserved for the runtime (Node.js, libuv, the system)";
  }
  return undefined;
}

/** Name parts that mark a secret wherever they appear. */
const SECRET_SUBSTRINGS = ["SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "TOKEN", "CREDENTIAL", "PRIVATE"];
/** Name parts that mark a secret as a whole word (`API_KEY`, `DB_PASS`), not inside another word. */
const SECRET_WORDS = ["KEY", "KEYS", "APIKEY", "PASS", "PWD", "CREDS", "DSN", "SALT"];

/** `apiKey`, `api-key`, `Api.Key` -> `API_KEY`: the upper-snake-case form of a name. */
export function upperSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toUpperCase();
}

/** Whether a variable name looks like it holds a secret. */
export function isSecretName(name: string): boolean {
  const snake = upperSnake(name);
  const words = snake.split("_");
  return SECRET_SUBSTRINGS.some((s) => snake.includes(s)) || words.some((w) => SECRET_WORDS.includes(w));
}

/** Value shapes of secrets: what each one is, and how to recognise it. */
const SECRET_VALUES: ReadonlyArray<readonly [string, RegExp]> = [
  ["a password in a URL", /[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:[^\s/?#@]+@/i],
  ["a private key", /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/],
  ["a GitHub token", /\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/],
  ["a GitLab token", /\bglpat-[A-Za-z0-9_-]{20,}/],
  ["a Slack token", /\bxox[abposr]-[A-Za-z0-9-]{10,}/],
  ["an AWS access key", /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
  ["a Stripe key", /\b[rs]k_(live|test)_[0-9A-Za-z]{16,}/],
  ["a Google API key", /\bAIza[0-9A-Za-z_-]{35}/],
  ["an npm token", /\bnpm_[A-Za-z0-9]{36}\b/],
  ["an API key (sk-...)", /\bsk-[A-Za-z0-9_-]{20,}/],
  ["a SendGrid key", /\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/],
  ["a JSON web token", /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/],
];

/** What kind of secret a value looks like, or undefined. */
export function secretValueKind(value: string): string | undefined {
  return SECRET_VALUES.find(([, pattern]) => pattern.test(value))?.[0];
}

/**
 * The command that stores a secret for an instance: `pulumi config set --secret --path
 * 'fleet:secretEnv.<instance>.<NAME>' <value>`, with the name in the form `fleet:secretEnv`
 * accepts. Undefined when no such name exists (the name has no letter to start with).
 */
export function secretEnvCommand(instance: string, name: string): string | undefined {
  const snake = upperSnake(name);
  if (!ENV_NAME_PATTERN.test(snake) || (reservedEnv(snake) !== undefined && snake !== "ADMIN_TOKEN")) return undefined;
  return `pulumi config set --secret --path 'fleet:secretEnv.${instance}.${snake}' <value>`;
}
