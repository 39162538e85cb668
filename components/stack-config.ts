/**
 * The one stack-config reader. The program (index.ts, through pulumi.Config) and every command
 * (validate, render, restore, rollback, up) read `fleet:*` through it, so they accept and refuse
 * the same config: the schema in components/spec.ts, unknown `fleet:` keys refused with the
 * closest known key, and `fleet:secretEnv` values that are not encrypted refused.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import {
  configKind,
  OFFSITE_SECRET_KEYS,
  parseStackConfig,
  SECRET,
  showKey,
  StackConfigError,
  StackConfigSchema,
  type StackConfig,
} from "./spec";

export { SECRET, StackConfigError, type StackConfig } from "./spec";

/** The project's config namespace. */
const NAMESPACE = "fleet";
/** Stack config keys that are secrets by design, whatever the stack file says. */
const SECRET_KEYS = [`${NAMESPACE}:secretEnv`, `${NAMESPACE}:offsite`, `${NAMESPACE}:notify`];

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSecure(value: unknown): boolean {
  return isMap(value) && Object.keys(value).length === 1 && "secure" in value;
}

/** Replaces `{secure: ...}` leaves with {@link SECRET}; says whether there was one. */
function hideSecure(value: unknown): { value: unknown; secret: boolean } {
  if (!isMap(value) && !Array.isArray(value)) return { value, secret: false };
  if (isSecure(value)) return { value: SECRET, secret: true };
  let secret = false;
  const map = (v: unknown) => {
    const r = hideSecure(v);
    secret ||= r.secret;
    return r.value;
  };
  const out = Array.isArray(value)
    ? value.map(map)
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, map(v)]));
  return { value: out, secret };
}

/** Every leaf below `value` in a stack file that is not `secure:`, as a dotted path from `at`. */
function plaintextLeaves(value: unknown, at: string[] = []): string[] {
  if (isSecure(value)) return [];
  if (isMap(value)) return Object.entries(value).flatMap(([k, v]) => plaintextLeaves(v, [...at, showKey(k)]));
  return [at.join(".")];
}

/**
 * Per key, the leaves a stack file must hold encrypted, as paths below the key: every value of
 * `fleet:secretEnv`; the password, the SSH key and every restic environment value of `fleet:offsite`.
 */
const ENCRYPTED_LEAVES: Readonly<Record<string, (value: unknown) => string[]>> = {
  [`${NAMESPACE}:secretEnv`]: (value) => plaintextLeaves(value),
  [`${NAMESPACE}:offsite`]: (value) =>
    isMap(value)
      ? [
          ...OFFSITE_SECRET_KEYS.filter((k) => value[k] !== undefined).flatMap((k) => plaintextLeaves(value[k], [k])),
          ...(value["env"] !== undefined ? plaintextLeaves(value["env"], ["env"]) : []),
        ]
      : [],
};

function stringValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function readYamlFile(file: string): unknown {
  try {
    return YAML.parse(fs.readFileSync(file, "utf8")) as unknown;
  } catch (err) {
    throw new StackConfigError([`${path.basename(file)}: could not be read: ${(err as Error).message.split("\n")[0]}`]);
  }
}

/** The config of a stack as Pulumi would hand it to the program, with what is secret. */
export interface StackFiles {
  readonly project: string;
  /** `namespace:key` -> string (objects as JSON); encrypted values are {@link SECRET}. */
  readonly config: Record<string, string>;
  /** Keys holding a secret. */
  readonly secretKeys: string[];
}

/**
 * Reads Pulumi.yaml's defaults, then Pulumi.<stack>.yaml, then `overrides` (keys with or without
 * the namespace), the way Pulumi merges them. A plaintext value where a secret belongs
 * ({@link ENCRYPTED_LEAVES}) is refused here, because Pulumi would hand it to the program as if it were one.
 * @throws StackConfigError
 */
export function readStackFiles(
  projectDir: string,
  stack: string,
  overrides: Readonly<Record<string, string>> = {},
): StackFiles {
  const project = readYamlFile(path.join(projectDir, "Pulumi.yaml"));
  const name = isMap(project) && typeof project["name"] === "string" ? project["name"] : NAMESPACE;
  const qualify = (key: string) => (key.includes(":") ? key : `${name}:${key}`);
  const config: Record<string, string> = {};
  const secretKeys = new Set(SECRET_KEYS);
  const declared = isMap(project) && isMap(project["config"]) ? project["config"] : {};
  for (const [key, decl] of Object.entries(declared)) {
    const value = isMap(decl) ? decl["default"] : decl;
    if (value !== undefined) config[qualify(key)] = stringValue(value);
  }
  const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
  const problems: string[] = [];
  if (fs.existsSync(stackFile)) {
    const parsed = readYamlFile(stackFile);
    const values = isMap(parsed) && isMap(parsed["config"]) ? parsed["config"] : {};
    for (const [key, raw] of Object.entries(values)) {
      const { value, secret } = hideSecure(raw);
      config[qualify(key)] = stringValue(value);
      if (secret) secretKeys.add(qualify(key));
      for (const leaf of ENCRYPTED_LEAVES[qualify(key)]?.(raw) ?? []) {
        const at = `${qualify(key)}.${leaf}`;
        problems.push(
          `${at}: a plaintext value in Pulumi.${stack}.yaml; secrets are stored encrypted: ` +
            `pulumi config set --secret --path '${at}' <value>`,
        );
      }
      if (qualify(key) === `${NAMESPACE}:notify` && !secret && value !== "") {
        problems.push(
          `fleet:notify: a plaintext value in Pulumi.${stack}.yaml; the URL is a secret (anyone who has it can post, ` +
            `and an ntfy topic URL can be read): pulumi config set --secret fleet:notify <url>`,
        );
      }
    }
  }
  if (problems.length > 0) throw new StackConfigError(problems);
  for (const [key, value] of Object.entries(overrides)) config[qualify(key)] = value;
  return { project: name, config, secretKeys: [...secretKeys].filter((k) => k in config) };
}

/** The `fleet:` keys of a Pulumi-style config map, without the namespace. */
function fleetKeys(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const prefix = `${NAMESPACE}:`;
  return Object.fromEntries(
    Object.entries(config)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

/**
 * The validated stack config from the project's files, for the commands (validate, restore,
 * rollback, up). `overrides` win over the files, e.g. `{ version: "1.2.0" }`.
 * @throws StackConfigError with every problem
 */
export function loadStackConfig(
  projectDir: string,
  stack: string,
  overrides: Readonly<Record<string, string>> = {},
): StackConfig {
  return parseStackConfig(fleetKeys(readStackFiles(projectDir, stack, overrides).config));
}

/** The parts of pulumi.Config the program's reader uses. */
export interface PulumiConfigReader {
  get(key: string): string | undefined;
  getObject<T>(key: string): T | undefined;
}

/**
 * The validated stack config inside the program: `config` is `new pulumi.Config("fleet")`,
 * `allKeys` every key Pulumi passed (`Object.keys(pulumi.runtime.allConfig())`, so unknown
 * `fleet:` keys are seen). Objects are read with getObject, everything else with get. When the
 * project's stack file exists, its secrets must be encrypted too ({@link readStackFiles}).
 * @throws StackConfigError with every problem
 */
export function programStackConfig(
  config: PulumiConfigReader,
  allKeys: readonly string[],
  files?: { readonly projectDir: string; readonly stack: string },
): StackConfig {
  if (files !== undefined) readStackFiles(files.projectDir, files.stack);
  const raw: Record<string, unknown> = {};
  const known = Object.keys(StackConfigSchema.shape);
  for (const key of Object.keys(fleetKeys(Object.fromEntries(allKeys.map((k) => [k, true]))))) {
    // An unknown key is reported whatever its value, so it must not read as unset.
    raw[key] = !known.includes(key)
      ? (config.get(key) ?? "")
      : configKind(key) === "object"
        ? objectOrText(config, key)
        : config.get(key);
  }
  return parseStackConfig(raw);
}

/** getObject, or the text when it is not JSON (the schema then says what is wrong). */
function objectOrText(config: PulumiConfigReader, key: string): unknown {
  try {
    return config.getObject(key);
  } catch {
    return config.get(key);
  }
}
