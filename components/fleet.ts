/**
 * Loading a directory of instance files: YAML parsing, the schema, the rules that span files,
 * and error messages of the form `instances/foo.yaml: port: expected an integer 1024-65535, got 70000`.
 * Every problem of every file is collected; {@link loadFleet} throws once with all of them.
 *
 * The directory is untrusted input (a pull request can add anything to it, and `pulumi preview`
 * prints the errors into a PR comment): only regular files directly in it are read, symbolic
 * links are refused (never followed), the size is checked before reading, and a file that is not
 * a YAML map is never quoted. docs/security.md has the threat model.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { closest } from "fastest-levenshtein";
import * as YAML from "yaml";
import type { z } from "zod";
import { envSchema } from "../app/src/config";
import {
  ENV_NAME_PATTERN,
  isSecretName,
  reservedEnv,
  secretEnvCommand,
  secretValueKind,
  upperSnake,
  USER_APP_ENV,
} from "./env-rules";
import { dockerNameProblems } from "./naming";
import { SECRET } from "./stack-config";
import { cut, InstanceFileSchema, KNOWN_KEYS, NAME_PATTERN, showKey, type InstanceSpec } from "./spec";

/** Thrown when instance files are invalid; `problems` holds one line per problem. */
export class FleetValidationError extends Error {
  /** Every problem, one line each, `<file>: <field>: <what is wrong>`. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? "" : "s"} in the instance files:\n` +
        problems.map((p) => `  ${p}`).join("\n"),
    );
    this.name = "FleetValidationError";
    this.problems = problems;
  }
}

/** One parsed file: its spec when valid, and its problems (each already prefixed with the file). */
export interface ParsedFile {
  /** The file as shown in messages, e.g. `instances/homebrews.yaml`. */
  readonly file: string;
  readonly spec?: InstanceSpec;
  readonly problems: readonly string[];
}

/** A validated fleet: instances sorted by name, and the file each came from. */
export interface Fleet {
  readonly instances: readonly InstanceSpec[];
  readonly files: Readonly<Record<string, string>>;
}

const FILE_PATTERN = /\.ya?ml$/;
/** Names that look like instance files but are not read (`x.YAML`, `x.yml `): an error, never silence. */
const LOOKS_LIKE_INSTANCE = /\.ya?ml\s*$/i;

/** The largest instance file read; checked before reading (a real one is well under 4 KiB). */
export const MAX_FILE_BYTES = 64 * 1024;

/** YAML aliases allowed in one file: enough for sharing a value, far from an alias bomb. */
const MAX_ALIASES = 100;

/**
 * Deepest flow nesting (`[`, `{`) read. The YAML library parses nesting recursively and takes
 * over a second to run out of stack on 20,000 levels, so deeper files are refused before parsing
 * (brackets inside quoted strings count too: no instance file needs 64 of them).
 */
const MAX_FLOW_DEPTH = 64;

function flowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (const c of text) {
    if (c === "[" || c === "{") max = Math.max(max, ++depth);
    else if ((c === "]" || c === "}") && depth > 0) depth--;
  }
  return max;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function formatPath(p: readonly PropertyKey[]): string {
  return p.map((k) => showKey(String(k))).join(".");
}

function unknownKeyMessage(parent: readonly PropertyKey[], key: string): string {
  const known = KNOWN_KEYS[formatPath(parent)] ?? [];
  const suggestion = known.length > 0 ? `; did you mean "${closest(key.slice(0, 100), [...known])}"?` : "";
  return `${formatPath([...parent, key])}: unknown key${suggestion}`;
}

function issueMessages(issue: z.core.$ZodIssue): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => unknownKeyMessage(issue.path, key));
  }
  return [`${formatPath(issue.path)}: ${issue.message}`];
}

function secretFix(instance: string, key: string): string {
  const command = NAME_PATTERN.test(instance) ? secretEnvCommand(instance, key) : undefined;
  return command === undefined
    ? "secrets never live in instance files; remove it and set it in fleet:secretEnv under an upper-snake-case name"
    : `secrets never live in instance files; remove it and run: ${command}` +
        (upperSnake(key) === key ? "" : ` (secret names are upper snake case: the app sees ${upperSnake(key)})`);
}

/** The rules on env names and values beyond their types: reserved names, secrets, the app's own checks. */
function envProblems(env: Record<string, unknown>, instance: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    const field = `env.${showKey(key)}`;
    const reserved = reservedEnv(key);
    const secretKind = typeof value === "string" ? secretValueKind(value) : undefined;
    if (reserved !== undefined && key !== "ADMIN_TOKEN") {
      problems.push(`${field}: ${reserved}; remove it`);
    } else if (isSecretName(key)) {
      problems.push(`${field}: looks like a secret, and ${secretFix(instance, key)}`);
    } else if (secretKind !== undefined) {
      problems.push(`${field}: the value looks like ${secretKind}, and ${secretFix(instance, key)}`);
    } else if (!ENV_NAME_PATTERN.test(key)) {
      problems.push(`${field}: expected an upper-snake-case name such as LOG_LEVEL`);
    } else if (
      (USER_APP_ENV as readonly string[]).includes(key) &&
      ["string", "number", "boolean"].includes(typeof value)
    ) {
      // The app checks its own variables at start; a value it refuses would leave the container unhealthy.
      const text = String(value);
      const result = envSchema.shape[key as (typeof USER_APP_ENV)[number]].safeParse(text);
      if (text !== "" && !result.success) {
        problems.push(`${field}: the app refuses ${cut(text)}: ${result.error.issues[0]?.message ?? "invalid"}`);
      }
    }
  }
  return problems;
}

/**
 * Parses and validates the text of one instance file. Pure: `file` is only used in messages,
 * `baseName` is the default instance name.
 */
export function parseInstanceText(text: string, file: string, baseName: string): ParsedFile {
  const fail = (problems: string[]): ParsedFile => ({ file, problems: problems.map((p) => `${file}: ${p}`) });

  const read = readYaml(text);
  if ("problem" in read) return fail([read.problem]);
  const raw = read.value;
  if (raw === null) {
    return fail(['empty file: expected a map of fields with at least "port"']);
  }
  if (!isMap(raw)) {
    // Not an instance file at all: say what it is, never what it holds.
    return fail([`expected a map of fields such as "port: 5001", got ${kindOf(raw)}`]);
  }

  const rawName = raw["name"];
  const name = typeof rawName === "string" && NAME_PATTERN.test(rawName) ? rawName : baseName;
  const problems: string[] = [];
  if (rawName === undefined && !NAME_PATTERN.test(baseName)) {
    problems.push(
      `name: the file name ${cut(baseName)} is not a valid instance name (lowercase letters, digits and "-", ` +
        "starting with a letter, at most 31 characters); rename the file or set name",
    );
  }

  const result = InstanceFileSchema.safeParse(raw);
  if (!result.success) {
    problems.push(...result.error.issues.flatMap(issueMessages));
  }
  if (isMap(raw["env"])) {
    problems.push(...envProblems(raw["env"], name));
  }
  if (problems.length > 0 || !result.success) return fail(problems);

  const data = result.data;
  const env = Object.fromEntries(
    Object.keys(data.env)
      .sort()
      .map((k) => [k, String(data.env[k])]),
  );
  const spec: InstanceSpec = {
    name,
    title: data.title ?? name,
    port: data.port,
    ...(data.domain !== undefined ? { domain: data.domain } : {}),
    ...(data.version !== undefined ? { version: data.version } : {}),
    env,
    resources: data.resources,
    healthcheck: data.healthcheck,
    backup: data.backup,
    rollout: data.rollout,
  };
  return { file, spec, problems: [] };
}

/** What a value is, without its content: `a string`, `a list of 2 items`. */
function kindOf(value: unknown): string {
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? "" : "s"}`;
  if (typeof value === "string") return `a string of ${value.length} character${value.length === 1 ? "" : "s"}`;
  return `a ${typeof value}`;
}

/** Where a YAML problem is, as `line 3, column 1: `. */
function where(error: YAML.YAMLError): string {
  const pos = error.linePos?.[0];
  return pos ? `line ${pos.line}, column ${pos.col}: ` : "";
}

/** The first line of a YAML library message without its position, cut: it may quote the file. */
function yamlMessage(error: YAML.YAMLError): string {
  const first = (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
  return first.length > 120 ? `${first.slice(0, 120)}…` : first;
}

/**
 * Parses one YAML document with the YAML 1.2 core schema only. Syntax errors, tags other than the
 * core ones (`!!binary`, `!!set`, `!custom` would otherwise become other types or plain strings),
 * too many aliases (an alias bomb) and anything the library throws become one problem.
 */
function readYaml(text: string): { value: unknown } | { problem: string } {
  if (flowDepth(text) > MAX_FLOW_DEPTH) return { problem: `YAML: nested deeper than ${MAX_FLOW_DEPTH} levels` };
  try {
    const doc = YAML.parseDocument(text, { resolveKnownTags: false, logLevel: "error" });
    const error = doc.errors[0];
    if (error) {
      const what =
        error.code === "MULTIPLE_DOCS"
          ? "a file holds one instance; remove the second document (---)"
          : error.code === "RESOURCE_EXHAUSTION"
            ? "nested too deeply"
            : yamlMessage(error);
      return { problem: `${where(error)}YAML syntax error: ${what}` };
    }
    const tag = doc.warnings.find((w) => w.code === "TAG_RESOLVE_FAILED");
    if (tag) {
      return {
        problem: `${where(tag)}YAML: unknown tag (${yamlMessage(tag).replace(/^Unresolved tag: /, "")}); remove it`,
      };
    }
    if (doc.contents === null) return { value: null };
    return { value: doc.toJS({ maxAliasCount: MAX_ALIASES }) as unknown };
  } catch (err) {
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      return { problem: `YAML: aliases (*) expand too much (an alias bomb); write the values out` };
    }
    return { problem: `YAML: the file could not be read (${err instanceof Error ? err.name : "error"})` };
  }
}

/**
 * Rules across files: unique names, host ports and domains; ports not taken by the fleet itself;
 * Docker names that no other instance or the stack derives (naming.ts).
 */
export function crossFileProblems(
  parsed: readonly ParsedFile[],
  reservedPorts: Readonly<Record<number, string>> = {},
  stack = "dev",
): string[] {
  const problems: string[] = [];
  const byName = new Map<string, string>();
  const byPort = new Map<number, string>();
  const byDomain = new Map<string, string>();
  for (const { file, spec } of parsed) {
    if (!spec) continue;
    const nameOwner = byName.get(spec.name);
    if (nameOwner) problems.push(`${file}: name: "${spec.name}" is already used by ${nameOwner}`);
    else byName.set(spec.name, file);

    const reserved = reservedPorts[spec.port];
    const portOwner = byPort.get(spec.port);
    if (reserved) problems.push(`${file}: port: ${spec.port} is used by ${reserved}`);
    else if (portOwner) problems.push(`${file}: port: ${spec.port} is already used by ${portOwner}`);
    else byPort.set(spec.port, file);

    if (spec.domain !== undefined) {
      const domainOwner = byDomain.get(spec.domain);
      if (domainOwner) problems.push(`${file}: domain: "${spec.domain}" is already used by ${domainOwner}`);
      else byDomain.set(spec.domain, file);
    }
  }
  const unique = parsed.flatMap(({ file, spec }) =>
    spec && byName.get(spec.name) === file ? [{ name: spec.name, file }] : [],
  );
  return [...problems, ...dockerNameProblems(stack, unique)];
}

/** How a directory is shown in messages: as given when relative, relative to the cwd when inside it. */
function displayDir(dir: string): string {
  if (!path.isAbsolute(dir)) return path.normalize(dir).replace(/\/$/, "");
  const rel = path.relative(process.cwd(), dir);
  return rel === "" ? "." : rel.startsWith("..") ? dir : rel;
}

/** How a file name is shown: as it is when plain, else quoted (a name can hold a newline or escape codes). */
function displayName(name: string): string {
  return /^[\w .+@~-]+$/.test(name) ? name : JSON.stringify(name);
}

/** Options of {@link loadFleet}. */
export interface LoadFleetOptions {
  /** Host ports the fleet itself uses, with what uses them (e.g. the proxy's admin API). Default none. */
  readonly reservedPorts?: Readonly<Record<number, string>>;
  /** The stack, whose Docker names the instances must not take. Default `dev`. */
  readonly stack?: string;
  /** Accept a directory without instance files (deploying it removes every instance). Default false. */
  readonly allowEmpty?: boolean;
}

/** What an entry that is not a regular file is, for messages. */
function entryKind(st: fs.Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a named pipe (FIFO)";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a regular file";
}

/**
 * Reads one entry of the directory as an instance file, or says why not. Only a regular file that
 * is no larger than {@link MAX_FILE_BYTES} and is UTF-8 text is read. The file is opened without
 * following links and without blocking (a FIFO never hangs), and the open file is checked again
 * (it is the same file, still regular, still small), so a swap between the checks is caught too.
 */
export function readInstanceFile(file: string): { text: string } | { problem: string } {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (err) {
    return { problem: `could not be read (${(err as NodeJS.ErrnoException).code ?? "error"})` };
  }
  if (st.isSymbolicLink()) {
    return {
      problem:
        "a symbolic link; instance files are never followed through links (a link can point at any file on the " +
        "machine): put the file itself in the directory",
    };
  }
  if (!st.isFile()) return { problem: `${entryKind(st)}, not an instance file; remove it or rename it` };
  const tooBig = (size: number) => ({
    problem: `${size} bytes, more than the ${MAX_FILE_BYTES / 1024} KiB an instance file may have; it was not read`,
  });
  if (st.size > MAX_FILE_BYTES) return tooBig(st.size);
  const { O_RDONLY, O_NOFOLLOW = 0, O_NONBLOCK = 0 } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    return { problem: `could not be read (${(err as NodeJS.ErrnoException).code ?? "error"})` };
  }
  try {
    const open = fs.fstatSync(fd);
    if (!open.isFile() || open.ino !== st.ino || open.dev !== st.dev) {
      return { problem: "changed while it was read; run again" };
    }
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buffer.length; length += n) {
      n = fs.readSync(fd, buffer, length, buffer.length - length, null);
    }
    if (length > MAX_FILE_BYTES) return tooBig(length);
    const bytes = buffer.subarray(0, length);
    if (bytes.includes(0)) return { problem: "not a text file (it holds NUL bytes); it was not read" };
    try {
      return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
    } catch {
      return { problem: "not UTF-8 text; save it as UTF-8" };
    }
  } catch (err) {
    return { problem: `could not be read (${(err as NodeJS.ErrnoException).code ?? "error"})` };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Loads every `*.yaml`/`*.yml` file of `dir`, validates each file and the rules across files,
 * and returns the fleet sorted by name. Throws one {@link FleetValidationError} listing every problem.
 */
export function loadFleet(dir: string, options: LoadFleetOptions = {}): Fleet {
  const shown = displayDir(dir);
  let all: string[];
  try {
    all = fs.readdirSync(dir).sort();
  } catch {
    throw new FleetValidationError([`${shown}: not a readable directory of instance files`]);
  }
  const ignored = all.filter((f) => !FILE_PATTERN.test(f) && LOOKS_LIKE_INSTANCE.test(f));
  const entries = all.filter((f) => FILE_PATTERN.test(f));
  const parsed = entries.map((f): ParsedFile => {
    const file = path.join(shown, displayName(f));
    const read = readInstanceFile(path.join(dir, f));
    if ("problem" in read) return { file, problems: [`${file}: ${read.problem}`] };
    return parseInstanceText(read.text, file, f.replace(FILE_PATTERN, ""));
  });
  const problems = [
    ...ignored.map(
      (f) =>
        `${path.join(shown, displayName(f))}: not read: instance files end in .yaml or .yml (lowercase); ` +
        "rename it, or move it out of the directory",
    ),
    ...parsed.flatMap((p) => p.problems),
    ...crossFileProblems(parsed, options.reservedPorts, options.stack),
  ];
  if (entries.length === 0 && ignored.length === 0 && options.allowEmpty !== true) {
    problems.push(
      `${shown}: no instance files (*.yaml); deploying an empty fleet removes every instance's containers and ` +
        "routes (their data volumes stay). If that is what you want: npm run validate -- --allow-empty, and " +
        "pulumi config set fleet:allowEmptyFleet true",
    );
  }
  if (problems.length > 0) throw new FleetValidationError(problems);

  const valid = parsed.filter((p): p is ParsedFile & { spec: InstanceSpec } => p.spec !== undefined);
  valid.sort((a, b) => a.spec.name.localeCompare(b.spec.name));
  return {
    instances: valid.map((p) => p.spec),
    files: Object.fromEntries(valid.map((p) => [p.spec.name, p.file])),
  };
}

/**
 * Rules between `fleet:secretEnv` and the fleet: every instance it names exists, it sets no name
 * the program sets itself, and an ADMIN_TOKEN is long enough for the app (24 characters).
 * Values are never part of a message.
 */
export function secretEnvProblems(
  secretEnv: Readonly<Record<string, Readonly<Record<string, string>>>>,
  fleet: Fleet,
): string[] {
  const names = fleet.instances.map((i) => i.name);
  const problems: string[] = [];
  for (const [instance, env] of Object.entries(secretEnv)) {
    if (!names.includes(instance)) {
      const hint = names.length > 0 ? `; did you mean "${closest(instance, names)}"?` : "";
      problems.push(`fleet:secretEnv.${instance}: no instance file defines "${instance}"${hint}`);
      continue;
    }
    for (const [key, value] of Object.entries(env)) {
      // An encrypted value (SECRET, when read from the stack file) is checked by the program.
      if (key === "ADMIN_TOKEN" && value !== SECRET && value.length < 24) {
        problems.push(`fleet:secretEnv.${instance}.ADMIN_TOKEN: must be at least 24 characters`);
      } else if (key !== "ADMIN_TOKEN" && reservedEnv(key) !== undefined) {
        problems.push(`fleet:secretEnv.${instance}.${key}: ${reservedEnv(key)}; remove it`);
      }
    }
  }
  return problems;
}
