/**
 * The instance file and the stack config: zod schemas, their defaults and their error messages.
 * Pure (no Pulumi, no file system), so `npm run validate` and the tests use it directly.
 * Every default of the instance file lives in this file and nowhere else.
 */
import { Cron } from "croner";
import { closest } from "fastest-levenshtein";
import * as semver from "semver";
import { z } from "zod";
import { notifyTarget, NOTIFY_URL_RULE } from "../app/src/notify";
import { ENV_NAME_PATTERN } from "./env-rules";
import { cpusString } from "./provider-forms";

/** Longest text of a value shown in a message; longer ones are cut, with their length. */
export const SHOWN_CHARS = 60;

/** JSON with the characters JSON leaves alone but a terminal acts on (C1 controls, bidi overrides) escaped too. */
function quote(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** A string as JSON, cut after {@link SHOWN_CHARS} characters: `"aaa…" (50000 characters)`. */
export function cut(text: string): string {
  if (text.length <= SHOWN_CHARS) return quote(text);
  return `${quote(text.slice(0, SHOWN_CHARS))}… (${text.length} characters)`;
}

/** Renders a bad value for an error message: strings quoted, maps and lists as JSON; long ones cut. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return cut(value);
  if (typeof value !== "object") return JSON.stringify(value) ?? String(value);
  const json = JSON.stringify(value) ?? String(value);
  const shown = json.length <= SHOWN_CHARS ? json : `${json.slice(0, SHOWN_CHARS)}… (${json.length} characters)`;
  return Array.isArray(value) ? `a list ${shown}` : `a map ${shown}`;
}

/** A key as a message shows it: as it is when plain, else quoted and cut (no control characters reach a terminal). */
export function showKey(key: string): string {
  return /^[A-Za-z0-9_.-]{1,60}$/.test(key) ? key : cut(key);
}

/**
 * Characters Docker, a terminal or the app mishandle in a title or an env value: C0 and C1
 * controls (a NUL cannot be passed in an environment at all) and the bidirectional overrides
 * that make text display in another order than it is stored.
 */
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Whether a string is free of {@link CONTROL_CHARS}. */
export function isPrintable(text: string): boolean {
  return !CONTROL_CHARS.test(text);
}

/** An error function for zod that says what was expected and what was found. */
function expected(what: string): (issue: { input?: unknown }) => string {
  return (issue) => `expected ${what}, got ${show(issue.input)}`;
}

/** Like {@link expected}, but a missing key says it is required. */
function required(what: string): (issue: { input?: unknown }) => string {
  return (issue) => (issue.input === undefined ? `required: ${what}` : `expected ${what}, got ${show(issue.input)}`);
}

function intIn(lo: number, hi: number, missing = false) {
  const what = `an integer ${lo}-${hi}`;
  const error = missing ? required(what) : expected(what);
  return z.int({ error }).min(lo, { error }).max(hi, { error });
}

/** Instance names: also used in Docker names, logical names and file names. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;
const NAME_RULE = 'lowercase letters, digits and "-", starting with a letter, at most 31 characters';

/** Longest Docker image tag (distribution/reference: `[\w][\w.-]{0,127}`); a version is a tag. */
export const MAX_TAG_LENGTH = 128;

/** Bounds of a duration: Docker refuses less than 1 ms; more than an hour makes `pulumi up` wait for hours. */
const MAX_DURATION_SECONDS = 3600;
/** Bounds of a memory limit in megabytes: Node.js does not start the app in less; 1 TiB above any host. */
const MIN_MEMORY_MB = 64;
const MAX_MEMORY_MB = 1024 * 1024;

const DURATION_PATTERN = /^([1-9][0-9]*)(ms|s|m|h)$/;
const MEMORY_PATTERN = /^([1-9][0-9]*)(m|g)$/;
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Seconds in a duration such as `10s`, `500ms`, `2m` (Infinity when the number overflows). */
export function durationSeconds(duration: string): number {
  const m = DURATION_PATTERN.exec(duration);
  if (!m) throw new Error(`not a duration: ${duration}`);
  const n = Number(m[1]);
  const unit = m[2];
  return unit === "ms" ? n / 1000 : unit === "s" ? n : unit === "m" ? n * 60 : n * 3600;
}

/** Megabytes in a memory size such as `256m` or `1g`. */
export function memoryMegabytes(memory: string): number {
  const m = MEMORY_PATTERN.exec(memory);
  if (!m) throw new Error(`not a memory size: ${memory}`);
  return Number(m[1]) * (m[2] === "g" ? 1024 : 1);
}

/** The calendar years a schedule must fire in: a fixed window with two leap years, so the answer never depends on the clock. */
const CRON_YEARS = [2025, 2026, 2027, 2028, 2029, 2030, 2031, 2032, 2033];

/**
 * What is wrong with a backup schedule (`""`: it does not parse), or undefined: it must parse as croner parses it in the
 * backup sidecar (app/src/cli.ts `backup schedule`), fire in every calendar year, and never twice
 * within a minute. Croner enumerates the runs; with one value in the seconds field two runs are
 * at least a minute apart, with more the first 61 runs show it.
 */
export function cronProblem(expr: string): string | undefined {
  let cron: Cron;
  try {
    cron = new Cron(expr, { paused: true, timezone: "UTC" });
  } catch {
    return "";
  }
  const runs = cron.nextRuns(61, new Date(Date.UTC(CRON_YEARS[0]!, 0, 1)));
  for (let i = 1; i < runs.length; i++) {
    if (runs[i]!.getTime() - runs[i - 1]!.getTime() < 60_000) return "it fires more than once a minute";
  }
  for (const year of CRON_YEARS) {
    const next = cron.nextRun(new Date(Date.UTC(year, 0, 1) - 1));
    if (next === null || next.getTime() >= Date.UTC(year + 1, 0, 1))
      return `it never fires in ${year}, and it must fire every year`;
  }
  return undefined;
}

/** An exact semver (`1.2.3`, `1.2.3-rc.1`): no ranges, no `v` prefix, short enough to be a Docker tag. */
export function isExactVersion(v: string): boolean {
  return v.length <= MAX_TAG_LENGTH && semver.valid(v) === v;
}

const exactVersion = (what: string) =>
  z
    .string({
      // `version: 1.10` is the number 1.1 to YAML: say how to write it.
      error: (issue) =>
        typeof issue.input === "number"
          ? `expected ${what}, got the number ${show(issue.input)}; quote it: version: "x.y.z"`
          : required(what)(issue),
    })
    .refine(isExactVersion, {
      error: (issue) =>
        typeof issue.input === "string" && issue.input.length > MAX_TAG_LENGTH
          ? `expected ${what}, got ${show(issue.input)}; a version is a Docker image tag, at most ${MAX_TAG_LENGTH} characters`
          : `expected ${what}, got ${show(issue.input)}`,
    });

const duration = (example: string) => {
  const what = `a duration from 1ms to 1h such as ${example}`;
  return z
    .string({ error: expected(what) })
    .refine((d) => DURATION_PATTERN.test(d) && durationSeconds(d) <= MAX_DURATION_SECONDS, { error: expected(what) });
};

const MEMORY_RULE = `a memory size from ${MIN_MEMORY_MB}m to 1024g such as 256m or 1g`;

/** The defaults of the instance file: the one place they are written down. */
export const DEFAULTS = {
  resources: { memory: "256m", cpus: 0.5 },
  // Docker runs the first probe one interval after the start (Engine 20.10 has no start interval),
  // so the interval bounds the cutover; each probe costs about 30 ms of CPU on a 2-core host, most
  // of it the engine's exec (docs/roll-benchmark.md). 2 s: a roll of 10 cuts over in under 5 s.
  healthcheck: { interval: "2s", timeout: "3s", startPeriod: "10s", retries: 3 },
  backup: { schedule: "0 3 * * *", keep: 14, enabled: true, offsite: true },
  rollout: { wave: 0, canary: false },
} as const;

const ResourcesSchema = z
  .strictObject({
    memory: z
      .string({ error: expected(MEMORY_RULE) })
      .refine(
        (m) => MEMORY_PATTERN.test(m) && memoryMegabytes(m) >= MIN_MEMORY_MB && memoryMegabytes(m) <= MAX_MEMORY_MB,
        { error: expected(MEMORY_RULE) },
      )
      .default(DEFAULTS.resources.memory)
      .describe("Memory limit of the app container (`m` or `g`)."),
    cpus: z
      .number({ error: expected("a number of CPUs from 0.01 to 64, such as 0.5") })
      .min(0.01, { error: expected("a number of CPUs from 0.01 to 64, such as 0.5") })
      .max(64, { error: expected("a number of CPUs from 0.01 to 64, such as 0.5") })
      .superRefine((cpus, ctx) => {
        if (cpus < 0.01 || cpus > 64) return; // reported above
        // The provider reads cpus back in its own decimal form; a value that reads back as
        // another limit would replace the container on every `up` (components/provider-forms.ts).
        try {
          cpusString(cpus);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
        }
      })
      .default(DEFAULTS.resources.cpus)
      .describe("CPU limit of the app container."),
  })
  .describe("Resource limits.");

const HealthcheckSchema = z
  .strictObject({
    interval: duration("5s").default(DEFAULTS.healthcheck.interval).describe("Time between two checks."),
    timeout: duration("3s").default(DEFAULTS.healthcheck.timeout).describe("Time a check may take."),
    startPeriod: duration("10s")
      .default(DEFAULTS.healthcheck.startPeriod)
      .describe("Grace period after start: failures do not count yet."),
    retries: intIn(1, 10)
      .default(DEFAULTS.healthcheck.retries)
      .describe("Consecutive failures that make the container unhealthy."),
  })
  .describe(
    "Docker healthcheck of the app container (it calls the app's health endpoint). `pulumi up` waits for " +
      "healthy up to startPeriod + retries x (interval + timeout) + 10 s.",
  );

const BackupSchema = z
  .strictObject({
    schedule: z
      .string({ error: expected('a cron expression such as "0 3 * * *"') })
      .superRefine((expr, ctx) => {
        const problem = cronProblem(expr);
        if (problem !== undefined) {
          ctx.addIssue({
            code: "custom",
            message: `expected a cron expression such as "0 3 * * *", got ${show(expr)}${problem === "" ? "" : `: ${problem}`}`,
          });
        }
      })
      .default(DEFAULTS.backup.schedule)
      .describe("Cron expression of the scheduled backup (the backup sidecar)."),
    keep: intIn(1, 1000).default(DEFAULTS.backup.keep).describe("Number of scheduled backups kept."),
    enabled: z
      .boolean({ error: expected("true or false") })
      .default(DEFAULTS.backup.enabled)
      .describe("Run the backup sidecar. The pre-update backup always runs."),
    offsite: z
      .boolean({ error: expected("true or false") })
      .default(DEFAULTS.backup.offsite)
      .describe(
        "Copy this instance's backups off-site when the stack sets fleet:offsite (docs/backups.md); false opts out.",
      ),
  })
  .describe("Scheduled backups.");

const RolloutSchema = z
  .strictObject({
    wave: intIn(0, 100)
      .default(DEFAULTS.rollout.wave)
      .describe("Lower waves update first; wave k waits for the healthy containers of the wave before it."),
    canary: z
      .boolean({ error: expected("true or false") })
      .default(DEFAULTS.rollout.canary)
      .describe("Update before every wave; a canary that fails its healthcheck stops the roll."),
  })
  .describe("Order of updates across the fleet.");

const EnvValueSchema = z
  .union([z.string(), z.number(), z.boolean()], { error: expected("a string, number or boolean") })
  .refine((v) => typeof v !== "string" || isPrintable(v), {
    error: (issue) =>
      `expected a value without control characters (Docker and the app refuse them), got ${show(issue.input)}`,
  });

const TITLE_RULE = "a non-empty string of at most 100 characters";

/** Schema of one instance file, before the name is resolved. */
export const InstanceFileSchema = z
  .strictObject({
    name: z
      .string({ error: expected(NAME_RULE) })
      .regex(NAME_PATTERN, { error: expected(NAME_RULE) })
      .optional()
      .describe(`Instance name (${NAME_RULE}). Defaults to the file's base name.`),
    title: z
      .string({ error: expected(TITLE_RULE) })
      .min(1, { error: expected(TITLE_RULE) })
      .max(100, { error: expected(TITLE_RULE) })
      .refine(isPrintable, { error: expected("a title without control characters") })
      .optional()
      .describe("Display name of the app (APP_TITLE). Defaults to the name."),
    port: intIn(1024, 65535, true).describe(
      "Required. Public host port; the proxy listens on it and routes to the instance.",
    ),
    domain: z
      .string({ error: expected("a lowercase host name such as app.example.com") })
      .regex(DOMAIN_PATTERN, { error: expected("a lowercase host name such as app.example.com") })
      .optional()
      .describe("Optional host name; the proxy serves it too, with Caddy's automatic HTTPS."),
    version: exactVersion("an exact semver such as 1.2.3")
      .optional()
      .describe("Pins this instance to an exact version. Defaults to the stack's fleet:version."),
    env: z
      .record(z.string(), EnvValueSchema, { error: expected("a map of NAME: value") })
      .default({})
      .describe(
        "Extra non-secret environment variables (UPPER_SNAKE_CASE names). Names and values that look like " +
          "secrets are rejected (use fleet:secretEnv), and so are names fleet, the app image or the runtime own.",
      ),
    resources: ResourcesSchema.prefault({}),
    healthcheck: HealthcheckSchema.prefault({}),
    backup: BackupSchema.prefault({}),
    rollout: RolloutSchema.prefault({}),
  })
  .describe("One instance of the framework app: instances/<name>.yaml.");

/** Known keys per nested map, for "did you mean" suggestions. */
export const KNOWN_KEYS: Readonly<Record<string, readonly string[]>> = {
  "": Object.keys(InstanceFileSchema.shape),
  resources: Object.keys(ResourcesSchema.shape),
  healthcheck: Object.keys(HealthcheckSchema.shape),
  backup: Object.keys(BackupSchema.shape),
  rollout: Object.keys(RolloutSchema.shape),
};

/** The parsed instance file (defaults applied, name not yet resolved). */
export type InstanceFile = z.output<typeof InstanceFileSchema>;

/** One validated instance: the file plus its resolved name, title and env. */
export interface InstanceSpec {
  /** Instance name (file base name unless the file sets `name`). */
  readonly name: string;
  /** Display name; defaults to the name. */
  readonly title: string;
  /** Public host port. */
  readonly port: number;
  /** Optional host name served with automatic HTTPS. */
  readonly domain?: string;
  /** Pinned version, or undefined to follow `fleet:version`. */
  readonly version?: string;
  /** Extra environment, values as strings, keys sorted. */
  readonly env: Readonly<Record<string, string>>;
  readonly resources: { readonly memory: string; readonly cpus: number };
  readonly healthcheck: {
    readonly interval: string;
    readonly timeout: string;
    readonly startPeriod: string;
    readonly retries: number;
  };
  readonly backup: {
    readonly schedule: string;
    readonly keep: number;
    readonly enabled: boolean;
    readonly offsite: boolean;
  };
  readonly rollout: { readonly wave: number; readonly canary: boolean };
}

/** Stack config defaults; where Pulumi.yaml declares a key, it declares the same default (a test keeps them equal). */
export const STACK_DEFAULTS = {
  image: "build",
  dockerHost: "",
  backupDir: "",
  instancesDir: "instances",
  proxyImage: "caddy:2",
  proxyAdminPort: 2019,
  allowEmptyFleet: false,
  notify: "",
  dashboardPort: 0,
  target: "docker",
  publishMode: "ingress",
} as const;

/** Defaults of `fleet:offsite` (docs/backups.md). */
export const OFFSITE_DEFAULTS = {
  keepDaily: 7,
  keepWeekly: 4,
  keepMonthly: 12,
  intervalSeconds: 60,
  check: "0 4 * * 0",
  prune: "30 4 * * *",
} as const;

const RESTIC_REPO_RULE =
  "a restic repository: an absolute host path, sftp:user@host:/path, s3:host/bucket/path or rest:https://...";
/** restic repositories fleet supports: an absolute host path, or sftp:, s3:, rest:. */
const RESTIC_REPO_PATTERN = /^(\/[^\0]*|sftp:.+|s3:.+|rest:https?:\/\/.+)$/;

/** A cron expression as croner parses it in the off-site container (app/src/offsite-cli.ts). */
const cron = (example: string) =>
  z.string({ error: expected(`a cron expression such as "${example}"`) }).superRefine((expr, ctx) => {
    const problem = cronProblem(expr);
    if (problem !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `expected a cron expression such as "${example}", got ${show(expr)}${problem === "" ? "" : `: ${problem}`}`,
      });
    }
  });

/** A secret string: its value never appears in a message. */
const secretText = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `required: ${what}` : `expected ${what}`) })
    .min(1, { error: `expected ${what}, got an empty string` });

/** Leaves of `fleet:offsite` that must be encrypted in the stack file (`env` values too). */
export const OFFSITE_SECRET_KEYS = ["password", "sshKey"] as const;

const OffsiteSchema = z
  .strictObject({
    repository: z
      .string({ error: required(RESTIC_REPO_RULE) })
      .regex(RESTIC_REPO_PATTERN, { error: expected(RESTIC_REPO_RULE) }),
    password: secretText(
      "the repository password, as a secret: pulumi config set --secret --path fleet:offsite.password <password>",
    ),
    keepDaily: intIn(0, 3650).default(OFFSITE_DEFAULTS.keepDaily),
    keepWeekly: intIn(0, 520).default(OFFSITE_DEFAULTS.keepWeekly),
    keepMonthly: intIn(0, 1200).default(OFFSITE_DEFAULTS.keepMonthly),
    intervalSeconds: intIn(10, 86_400).default(OFFSITE_DEFAULTS.intervalSeconds),
    check: cron(OFFSITE_DEFAULTS.check).default(OFFSITE_DEFAULTS.check),
    prune: cron(OFFSITE_DEFAULTS.prune).default(OFFSITE_DEFAULTS.prune),
    env: z
      .record(
        z.string().regex(ENV_NAME_PATTERN, { error: expected("an upper-snake-case name such as AWS_ACCESS_KEY_ID") }),
        secretText("a string, as a secret"),
        { error: "expected a map {NAME: value} of restic's environment (such as AWS_ACCESS_KEY_ID), set as secrets" },
      )
      .default({}),
    sshKey: secretText("a private key (the file's content), as a secret").optional(),
    knownHosts: z
      .string({ error: expected("the server's line from ssh-keyscan") })
      .min(1, { error: expected("the server's line from ssh-keyscan") })
      .optional(),
    image: z
      .string({ error: expected("an image reference such as ghcr.io/owner/fleet-offsite:1.0.0") })
      .min(1, { error: expected("an image reference such as ghcr.io/owner/fleet-offsite:1.0.0") })
      .optional(),
  })
  .superRefine((o, ctx) => {
    if (!o.repository.startsWith("sftp:")) return;
    for (const key of ["sshKey", "knownHosts"] as const) {
      if (o[key] === undefined) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message:
            "required for an sftp: repository: sshKey (the private key, a secret) and knownHosts (the server's " +
            "ssh-keyscan line); see docs/backups.md",
        });
      }
    }
  });

/** Validated `fleet:offsite`. */
export type OffsiteConfig = z.output<typeof OffsiteSchema>;
/** How an encrypted stack config value is shown by the commands (it is never decrypted outside Pulumi). */
export const SECRET = "[secret]";
/** Where the fleet runs: one Docker host, or a Docker Swarm through one of its managers. */
export const TARGETS = ["docker", "swarm"] as const;
/** How a swarm service publishes its port: Swarm's routing mesh, or the port of the node that runs it. */
export const PUBLISH_MODES = ["ingress", "host"] as const;
/** The key of `fleet:placement` that places every instance the map does not name. */
export const ANY_INSTANCE = "*";
/** A Swarm node hostname (RFC 1123 labels). */
const NODE_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const REGISTRY_REPO_PATTERN = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/;

/**
 * Schema of the stack config (`fleet:*`): the one place a key is added. Its type, default and
 * description here are what the reader (components/stack-config.ts) accepts, converts and refuses,
 * and what `npm run docs` documents. Declaring it in Pulumi.yaml too is optional (a test checks
 * that a declaration agrees).
 */
export const StackConfigSchema = z.strictObject({
  version: exactVersion("an exact semver such as 1.0.0 (pulumi config set fleet:version 1.0.0)").describe(
    "The version field: the app version every instance runs unless its file pins another (an exact semver " +
      "such as 1.0.0). Required: set it in Pulumi.<stack>.yaml.",
  ),
  image: z
    .string({ error: expected('"build" or a registry repository such as ghcr.io/owner/name') })
    .refine((v) => v === "build" || REGISTRY_REPO_PATTERN.test(v), {
      error: expected('"build" or a registry repository such as ghcr.io/owner/name (no tag)'),
    })
    .default(STACK_DEFAULTS.image)
    .describe(
      "Where the app image comes from: `build` builds app/ locally and tags it fleet-app:<version>; a registry " +
        "repository such as ghcr.io/<owner>/<name> pulls <repository>:<version> and pins it by digest.",
    ),
  dockerHost: z
    .string({ error: expected("a Docker host URL such as ssh://user@host") })
    .default("")
    .describe("The Docker host, e.g. unix:///var/run/docker.sock or ssh://user@host. Empty means the local socket."),
  backupDir: z
    .string({ error: expected("an absolute host path") })
    .refine((v) => v === "" || v.startsWith("/"), { error: expected("an absolute host path") })
    .default("")
    .describe(
      "Host directory for backups (one subdirectory per instance). Empty means one Docker volume per instance " +
        "(fleet-<stack>-<name>-backups).",
    ),
  instancesDir: z
    .string({ error: expected("a directory") })
    .min(1)
    .default(STACK_DEFAULTS.instancesDir)
    .describe("Directory of instance files, relative to the project."),
  proxyImage: z
    .string({ error: expected("an image reference such as caddy:2") })
    .default(STACK_DEFAULTS.proxyImage)
    .describe("The Caddy image of the proxy that owns the public ports."),
  proxyAdminPort: intIn(1024, 65535)
    .default(STACK_DEFAULTS.proxyAdminPort)
    .describe("Port of Caddy's admin API on the Docker host's loopback interface."),
  allowEmptyFleet: z
    .boolean({ error: expected("true or false") })
    .default(STACK_DEFAULTS.allowEmptyFleet)
    .describe(
      "Deploy even when the instance directory holds no instance file. Without it an empty directory is an " +
        "error, because deploying it removes every instance's containers and routes.",
    ),
  offsite: OffsiteSchema.optional().describe(
    "Off-site copies of every instance's backups with restic, one container per host: {repository, password, " +
      "keepDaily, keepWeekly, keepMonthly, intervalSeconds, check, prune, env, sshKey, knownHosts, image} " +
      "(docs/backups.md). password, sshKey and env values must be encrypted (`pulumi config set --secret --path " +
      "fleet:offsite.password ...`). Unset means no off-site copies. Not declared in Pulumi.yaml: project config " +
      "types have no object type.",
  ),
  notify: z
    .string({ error: expected(NOTIFY_URL_RULE) })
    .check((ctx) => {
      if (ctx.value === "" || ctx.value === SECRET) return;
      const target = notifyTarget(ctx.value);
      // The URL is a secret: the message never quotes it.
      if ("problem" in target) ctx.issues.push({ code: "custom", message: target.problem, input: ctx.value });
    })
    .default(STACK_DEFAULTS.notify)
    .describe(
      "Where notifications go (a failed or completed roll, a failed or stale scheduled backup, a failed off-site " +
        "copy): an ntfy topic URL (https://ntfy.sh/<topic>, or ntfy+https://<host>/<topic> for another server) or a " +
        "webhook receiving JSON. A secret: `pulumi config set --secret fleet:notify <url>`. Empty means none.",
    ),
  dashboardPort: z
    .int({ error: expected("0 (off) or an integer 1024-65535") })
    .refine((v) => v === 0 || (v >= 1024 && v <= 65535), { error: expected("0 (off) or an integer 1024-65535") })
    .default(STACK_DEFAULTS.dashboardPort)
    .describe(
      "Public port of the fleet dashboard behind the proxy (one page with every instance's version, health, " +
        "uptime, backups); 0 means no dashboard. Log in with `pulumi stack output dashboardToken --show-secrets`.",
    ),
  target: z
    .enum(TARGETS, { error: expected('"docker" or "swarm"') })
    .default(STACK_DEFAULTS.target)
    .describe(
      "Where the instances run: `docker` (one container per instance on fleet:dockerHost, behind the Caddy proxy) or " +
        "`swarm` (one Swarm service per instance; fleet:dockerHost names a manager, fleet:image must be a registry).",
    ),
  publishMode: z
    .enum(PUBLISH_MODES, { error: expected('"ingress" or "host"') })
    .default(STACK_DEFAULTS.publishMode)
    .describe(
      "With fleet:target swarm: `ingress` publishes each instance's port on every node through Swarm's routing mesh " +
        "(updates start the new task first: no downtime); `host` publishes it only on the instance's node (the old " +
        "task stops before the new one starts: a short gap).",
    ),
  placement: z
    .record(
      z.string().refine((k) => k === ANY_INSTANCE || NAME_PATTERN.test(k), {
        error: expected(`an instance name (${NAME_RULE}) or "${ANY_INSTANCE}"`),
      }),
      z
        .string({ error: expected("a Swarm node hostname") })
        .regex(NODE_PATTERN, { error: expected("a Swarm node hostname") }),
      { error: expected("a map {instance: node hostname}") },
    )
    .default({})
    .describe(
      "With fleet:target swarm: the node each instance runs on, {<instance>: <node hostname>}; `*` places every " +
        "instance not named. The data volume lives on that node; moving an instance is a backup and a restore " +
        "(docs/swarm.md). Set one with `pulumi config set --path 'fleet:placement.<instance>' <node>`.",
    ),
  secretEnv: z
    .record(
      z.string().regex(NAME_PATTERN, { error: expected(`an instance name (${NAME_RULE})`) }),
      z.record(
        z.string().regex(ENV_NAME_PATTERN, { error: expected("an upper-snake-case name such as SMTP_PASSWORD") }),
        z.string({ error: expected("a string") }),
      ),
      { error: expected("a map {instance: {NAME: value}}") },
    )
    .default({})
    .describe(
      "Secret environment per instance, {<instance>: {<NAME>: <value>}}; set one value with " +
        "`pulumi config set --secret --path 'fleet:secretEnv.<instance>.<NAME>' <value>`. ADMIN_TOKEN there " +
        "replaces the generated admin token. Every value must be encrypted (`secure:` in the stack file). Not " +
        "declared in Pulumi.yaml: project config types have no object type.",
    ),
});

/** Validated stack config. */
export type StackConfig = z.output<typeof StackConfigSchema>;

/**
 * Seconds `pulumi up` waits for a new container to become healthy: the longest time Docker
 * needs to call it unhealthy (start period, then `retries` failed checks), plus 10 s of slack.
 */
export function waitTimeoutSeconds(hc: InstanceSpec["healthcheck"]): number {
  return Math.ceil(
    durationSeconds(hc.startPeriod) + hc.retries * (durationSeconds(hc.interval) + durationSeconds(hc.timeout)) + 10,
  );
}

/** Thrown for an invalid stack config; `problems` holds one line per problem (`fleet:<key>: ...`). */
export class StackConfigError extends Error {
  /** Every problem, one line each. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid stack config:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "StackConfigError";
    this.problems = problems;
  }
}

/** How a stack config value arrives as a string (Pulumi passes every value as one, objects as JSON). */
export type ConfigKind = "string" | "integer" | "boolean" | "object";

/** The kind of a stack config key, read off its schema (so a new key needs no code here). */
export function configKind(key: string): ConfigKind {
  let schema = (StackConfigSchema.shape as Record<string, z.ZodType>)[key];
  for (let i = 0; schema !== undefined && i < 10; i++) {
    const def = schema._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (def.type === "number") return "integer";
    if (def.type === "boolean") return "boolean";
    if (def.type === "record" || def.type === "object") return "object";
    if (def.type === "string") return "string";
    schema = def.innerType ?? def.in;
  }
  return "string";
}

/** Converts a string as Pulumi passes it to the key's kind; anything else is returned as it is. */
function fromConfigString(key: string, value: unknown): { value: unknown } | { problem: string } {
  if (typeof value !== "string") return { value };
  switch (configKind(key)) {
    case "integer":
      return { value: /^-?[0-9]+$/.test(value) ? Number(value) : value };
    case "boolean":
      return { value: value === "true" ? true : value === "false" ? false : value };
    case "object":
      try {
        return { value: JSON.parse(value) as unknown };
      } catch {
        return { problem: `fleet:${key}: expected a map, got invalid JSON` };
      }
    default:
      return { value };
  }
}

/**
 * Validates the stack config: `raw` maps keys without the `fleet:` prefix to values as Pulumi
 * hands them to the program (strings, objects as JSON) or already typed. Missing keys are
 * undefined; unknown keys are refused with the closest known key.
 * @throws StackConfigError with every problem
 */
export function parseStackConfig(raw: Readonly<Record<string, unknown>>): StackConfig {
  const problems: string[] = [];
  const input: Record<string, unknown> = {};
  const known = Object.keys(StackConfigSchema.shape);
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (!known.includes(key)) {
      problems.push(`fleet:${showKey(key)}: unknown key; did you mean "fleet:${closest(key.slice(0, 100), known)}"?`);
      continue;
    }
    const converted = fromConfigString(key, value);
    if ("problem" in converted) problems.push(converted.problem);
    else input[key] = converted.value;
  }
  const result = StackConfigSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const field = [
        "fleet:" + String(issue.path[0] ?? ""),
        ...issue.path.slice(1).map((k) => showKey(String(k))),
      ].join(".");
      // A bad record key is reported as invalid_key wrapping the key schema's own issue.
      const message = issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
      problems.push(`${field}: ${message}`);
    }
  }
  if (result.success && result.data.dashboardPort !== 0 && result.data.dashboardPort === result.data.proxyAdminPort) {
    problems.push(
      `fleet:dashboardPort: ${result.data.dashboardPort} is fleet:proxyAdminPort (the proxy's admin API); choose another port`,
    );
  }
  if (problems.length > 0 || !result.success) throw new StackConfigError(problems);
  return result.data;
}
