/**
 * Loading a directory of instance files: YAML parsing, the schema, the rules that span files,
 * and error messages of the form `instances/foo.yaml: port: expected an integer 1024-65535, got 70000`.
 * Every problem of every file is collected; {@link loadFleet} throws once with all of them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { closest } from "fastest-levenshtein";
import * as YAML from "yaml";
import type { z } from "zod";
import {
  ENV_NAME_PATTERN,
  InstanceFileSchema,
  KNOWN_KEYS,
  NAME_PATTERN,
  RESERVED_ENV,
  SECRET_ENV_PATTERN,
  show,
  type InstanceSpec,
} from "./spec";

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

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function formatPath(p: readonly PropertyKey[]): string {
  return p.map(String).join(".");
}

function unknownKeyMessage(parent: readonly PropertyKey[], key: string): string {
  const known = KNOWN_KEYS[formatPath(parent)] ?? [];
  const suggestion = known.length > 0 ? `; did you mean "${closest(key, [...known])}"?` : "";
  return `${formatPath([...parent, key])}: unknown key${suggestion}`;
}

function issueMessages(issue: z.core.$ZodIssue): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => unknownKeyMessage(issue.path, key));
  }
  return [`${formatPath(issue.path)}: ${issue.message}`];
}

function envKeyProblems(env: Record<string, unknown>, instance: string): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(env)) {
    if (SECRET_ENV_PATTERN.test(key.toUpperCase())) {
      problems.push(
        `env.${key}: looks like a secret, and secrets never live in instance files; remove it and run: ` +
          `pulumi config set --secret --path 'fleet:secretEnv.${instance}.${key}' <value>`,
      );
    } else if (!ENV_NAME_PATTERN.test(key)) {
      problems.push(`env.${key}: expected an upper-snake-case name such as LOG_LEVEL`);
    } else if ((RESERVED_ENV as readonly string[]).includes(key)) {
      problems.push(`env.${key}: set by fleet itself; remove it`);
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

  const doc = YAML.parseDocument(text);
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = yamlError.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}: ` : "";
    const what =
      yamlError.code === "MULTIPLE_DOCS"
        ? "a file holds one instance; remove the second document (---)"
        : (yamlError.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    return fail([`${where}YAML syntax error: ${what}`]);
  }
  if (doc.contents === null) {
    return fail(['empty file: expected a map of fields with at least "port"']);
  }
  const raw: unknown = doc.toJS();
  if (!isMap(raw)) {
    return fail([`expected a map of fields such as "port: 5001", got ${show(raw)}`]);
  }

  const rawName = raw["name"];
  const name = typeof rawName === "string" && NAME_PATTERN.test(rawName) ? rawName : baseName;
  const problems: string[] = [];
  if (rawName === undefined && !NAME_PATTERN.test(baseName)) {
    problems.push(
      `name: the file name "${baseName}" is not a valid instance name (lowercase letters, digits and "-", ` +
        "starting with a letter, at most 31 characters); rename the file or set name",
    );
  }

  const result = InstanceFileSchema.safeParse(raw);
  if (!result.success) {
    problems.push(...result.error.issues.flatMap(issueMessages));
  }
  if (isMap(raw["env"])) {
    problems.push(...envKeyProblems(raw["env"], name));
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

/** Rules across files: unique names, host ports and domains; ports not taken by the fleet itself. */
export function crossFileProblems(
  parsed: readonly ParsedFile[],
  reservedPorts: Readonly<Record<number, string>> = {},
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
  return problems;
}

/** How a directory is shown in messages: as given when relative, relative to the cwd when inside it. */
function displayDir(dir: string): string {
  if (!path.isAbsolute(dir)) return path.normalize(dir).replace(/\/$/, "");
  const rel = path.relative(process.cwd(), dir);
  return rel === "" ? "." : rel.startsWith("..") ? dir : rel;
}

/** Options of {@link loadFleet}. */
export interface LoadFleetOptions {
  /** Host ports the fleet itself uses, with what uses them (e.g. the proxy's admin API). Default none. */
  readonly reservedPorts?: Readonly<Record<number, string>>;
}

/**
 * Loads every `*.yaml`/`*.yml` file of `dir`, validates each file and the rules across files,
 * and returns the fleet sorted by name. Throws one {@link FleetValidationError} listing every problem.
 */
export function loadFleet(dir: string, options: LoadFleetOptions = {}): Fleet {
  const shown = displayDir(dir);
  let entries: string[];
  try {
    entries = fs.readdirSync(dir).filter((f) => FILE_PATTERN.test(f));
  } catch {
    throw new FleetValidationError([`${shown}: not a readable directory of instance files`]);
  }
  entries.sort();
  const parsed = entries.map((f) =>
    parseInstanceText(fs.readFileSync(path.join(dir, f), "utf8"), path.join(shown, f), f.replace(FILE_PATTERN, "")),
  );
  const problems = [...parsed.flatMap((p) => p.problems), ...crossFileProblems(parsed, options.reservedPorts)];
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
      if (key === "ADMIN_TOKEN" && value.length < 24) {
        problems.push(`fleet:secretEnv.${instance}.ADMIN_TOKEN: must be at least 24 characters`);
      } else if (key !== "ADMIN_TOKEN" && (RESERVED_ENV as readonly string[]).includes(key)) {
        problems.push(`fleet:secretEnv.${instance}.${key}: set by fleet itself; remove it`);
      }
    }
  }
  return problems;
}
