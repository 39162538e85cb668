/**
 * `npm run render [-- --instances DIR] [--version X] [--stack S] [--config k=v ...] [--json] [--show-secrets]`
 *
 * Runs the real program (index.ts, compiled by ts-node exactly as Pulumi's runtime compiles it)
 * under Pulumi mocks and prints every resource it registers: type, logical name, parent, inputs
 * and the options that matter. The offline "what would be deployed", like `helm template`.
 * The JSON shape is documented in docs/program.md and docs/architecture.md.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { readStackFiles, SECRET } from "../../components/stack-config";
import { registerLikePulumi } from "../core/pulumi-ts";

type PulumiModule = typeof import("@pulumi/pulumi");

/** Options of {@link render}. */
export interface RenderOptions {
  /** Project directory (Pulumi.yaml, index.ts). Default: this repository. */
  readonly projectDir?: string;
  /** Stack whose `Pulumi.<stack>.yaml` is read. Default `dev`. */
  readonly stack?: string;
  /** Overrides `fleet:instancesDir` (resolved against the current directory). */
  readonly instancesDir?: string;
  /** Overrides `fleet:version`. */
  readonly version?: string;
  /** More overrides, `key` or `namespace:key` -> value (objects as JSON). */
  readonly config?: Readonly<Record<string, string>>;
  /**
   * Show secret values (generated ones stay `<<NAME.PATH>>` placeholders) instead of "[secret]",
   * like `pulumi preview --show-secrets`. The docker tier's replayer needs them. Default false.
   */
  readonly showSecrets?: boolean;
}

/** The resource options a render shows. */
export interface RenderedOptions {
  /** Explicit `dependsOn`, by logical name. */
  readonly dependsOn: string[];
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  /** `null` when the program did not set it (the provider's default applies). */
  readonly deleteBeforeReplace: boolean | null;
  readonly replaceOnChanges: string[];
  readonly ignoreChanges: string[];
}

/** One registered resource. */
export interface RenderedResource {
  readonly type: string;
  readonly name: string;
  /** Logical name of the parent; `null` for the stack. */
  readonly parent: string | null;
  readonly custom: boolean;
  /** Inputs as the program passed them; secrets `"[secret]"`, computed values `<<NAME.PATH>>`. */
  readonly inputs: Record<string, unknown>;
  readonly options: RenderedOptions;
  /** Every resource this one waits for (explicit `dependsOn` and those its inputs refer to), by logical name. */
  readonly dependencies: string[];
}

/** What `render --json` prints. */
export interface RenderResult {
  readonly project: string;
  readonly stack: string;
  /** The config the program ran with (Pulumi.yaml defaults, the stack file, overrides); secrets `"[secret]"`. */
  readonly config: Record<string, string>;
  /** In registration order (the order the program constructed them), without the stack itself. */
  readonly resources: RenderedResource[];
  readonly outputs: Record<string, unknown>;
}

/** The program failed: invalid config or instance files, a type error, or an exception. */
export class RenderError extends Error {
  /** Resources registered before the failure (the stack excluded). */
  readonly resources: readonly RenderedResource[];

  constructor(message: string, resources: readonly RenderedResource[]) {
    super(message);
    this.name = "RenderError";
    this.resources = resources;
  }
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const STACK_TYPE = "pulumi:pulumi:Stack";

const DEFAULT_PROJECT_DIR = path.resolve(__dirname, "..", "..");

function nameOfUrn(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** Set per render from {@link RenderOptions.showSecrets}: show secret values instead of "[secret]". */
let showSecrets = false;

/** Replaces the wire encodings of secrets, resource references and unknowns; sorts map keys. */
function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clean);
  if (value === UNKNOWN) return "<<unknown>>";
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  const sig = record[SPECIAL_SIG_KEY];
  if (sig === SECRET_SIG) return showSecrets ? clean(record["value"]) : SECRET;
  if (sig === RESOURCE_SIG) return `<<${nameOfUrn(String(record["urn"]))}>>`;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, clean(record[k])]),
  );
}

/** Values the engine computes at create time, as `<<NAME.PATH>>` placeholders. */
function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const p = (at: string) => `<<${name}.${at}>>`;
  switch (type) {
    case "docker:index/container:Container": {
      const ports = (inputs["ports"] as Record<string, unknown>[] | undefined) ?? [];
      return {
        name: inputs["name"] ?? p("name"),
        ports: ports.map((port, i) => ({ ...port, external: port["external"] ?? p(`ports[${i}].external`) })),
      };
    }
    case "docker:index/image:Image":
      return { repoDigest: p("repoDigest"), baseImageName: inputs["imageName"] };
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: p("imageId"), repoDigest: p("repoDigest") };
    case "docker:index/volume:Volume":
      return { name: inputs["name"] ?? p("name"), mountpoint: p("mountpoint") };
    case "random:index/randomPassword:RandomPassword":
      return { result: p("result"), bcryptHash: p("bcryptHash") };
    case "command:local:Command":
      return { stdout: p("stdout"), stderr: p("stderr") };
    default:
      return {};
  }
}

/**
 * The config Pulumi would hand the program: Pulumi.yaml defaults, then Pulumi.<stack>.yaml, then
 * overrides (components/stack-config.ts, the one reader). Encrypted values become "[secret]".
 */
export const loadStackConfig = readStackFiles;

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (deps: { getUrnsList(): string[] }, key: string) => void): void };
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDeletebeforereplace(): boolean;
  getDeletebeforereplacedefined(): boolean;
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
}

type Callback = (...args: unknown[]) => void;
interface Monitor {
  registerResource(req: RegisterRequest, cb: Callback): void;
  registerResourceOutputs(
    req: { getUrn(): string; getOutputs(): { toJavaScript(): unknown } | undefined },
    cb: Callback,
  ): void;
}

function toRendered(req: RegisterRequest, stackUrn: string): RenderedResource {
  const implicit = new Set<string>();
  req.getPropertydependenciesMap().forEach((deps) => deps.getUrnsList().forEach((u) => implicit.add(u)));
  const deps = req.getDependenciesList();
  const parentUrn = req.getParent();
  return {
    type: req.getType(),
    name: req.getName(),
    parent: parentUrn === "" || parentUrn === stackUrn ? null : nameOfUrn(parentUrn),
    custom: req.getCustom(),
    inputs: clean(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
    options: {
      dependsOn: deps.filter((u) => !implicit.has(u)).map(nameOfUrn),
      protect: req.getProtect(),
      retainOnDelete: req.getRetainondelete(),
      deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : null,
      replaceOnChanges: req.getReplaceonchangesList(),
      ignoreChanges: req.getIgnorechangesList(),
    },
    dependencies: [...new Set(deps)].map(nameOfUrn),
  };
}

/** What {@link runUnderMocks} needs to know about the stack. */
export interface MockStack {
  readonly project: string;
  readonly stack: string;
  /** Full config as Pulumi passes it (PULUMI_CONFIG): `namespace:key` -> string. */
  readonly config: Readonly<Record<string, string>>;
  readonly secretKeys: readonly string[];
}

/**
 * Runs `init` as the body of a Pulumi stack under mocks and records every registration, in
 * construction order, with its options. `pulumi` must be the SDK instance the program uses.
 * Throws {@link RenderError} (with what was registered) when `init` or a registration fails.
 */
export async function runUnderMocks(
  pulumi: PulumiModule,
  target: MockStack,
  init: () => unknown,
): Promise<{ resources: RenderedResource[]; outputs: Record<string, unknown> }> {
  const runtime = pulumi.runtime as PulumiModule["runtime"] & { waitForRPCs(): Promise<void> };
  const { project, stack, config, secretKeys } = target;
  process.env["PULUMI_CONFIG"] = JSON.stringify(config);
  process.env["PULUMI_CONFIG_SECRET_KEYS"] = JSON.stringify(secretKeys);
  runtime.setAllConfig({ ...config }, [...secretKeys]);
  await runtime.setMocks(
    {
      newResource: (args) => ({
        id: args.custom ? `<<${args.name}.id>>` : undefined,
        state: { ...args.inputs, ...computedState(args.type, args.name, args.inputs as Record<string, unknown>) },
      }),
      call: (args) => args.inputs,
    },
    project,
    stack,
    false,
  );

  // Options are not in MockResourceArgs: read them from the requests the SDK sends the monitor.
  // Each request is turned into its rendered form at once: protobuf requests are heavy to keep.
  const stackUrn = `urn:pulumi:${stack}::${project}::${STACK_TYPE}::${project}-${stack}`;
  const registered: RenderedResource[] = [];
  let stackOutputs: unknown = {};
  const monitor = runtime.getMonitor() as unknown as Monitor;
  const registerResource = monitor.registerResource.bind(monitor);
  const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResource = (req, cb) => {
    if (req.getType() !== STACK_TYPE) registered.push(toRendered(req, stackUrn));
    registerResource(req, cb);
  };
  monitor.registerResourceOutputs = (req, cb) => {
    if (req.getUrn().includes(`::${STACK_TYPE}::`)) stackOutputs = req.getOutputs()?.toJavaScript() ?? {};
    registerResourceOutputs(req, cb);
  };

  // Construction order: SDK requests arrive when inputs resolve, so order them as constructed.
  const constructed = new Map<string, number>();
  let failure: unknown;
  // The SDK stamps every internal promise with `new Error().stack` (runtime/debuggable.js), and
  // ts-node's source-map support maps each frame: that is most of the time and memory of a big
  // render. A render reports messages, never stacks, so it captures none.
  // Likewise every resource records its source position from a full stack trace
  // (Resource.callsites, resource.js); positions only annotate engine diagnostics.
  const stackTraceLimit = Error.stackTraceLimit;
  const resourceClass = pulumi.Resource as unknown as { callsites: () => unknown[] };
  const callsites = resourceClass.callsites;
  Error.stackTraceLimit = 0;
  resourceClass.callsites = () => [];
  try {
    await runtime.runInPulumiStack(async () => {
      runtime.registerStackTransformation((args) => {
        constructed.set(`${args.type}::${args.name}`, constructed.size);
        return undefined;
      });
      // A program that throws is caught here, so the stack itself completes and the SDK leaves
      // no rejected promises behind (a second render in the same process starts clean).
      try {
        return (await init()) as Record<string, unknown>;
      } catch (err) {
        failure = err;
        return {};
      }
    });
    await runtime.waitForRPCs();
  } catch (err) {
    failure ??= err;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    resourceClass.callsites = callsites;
  }

  const position = (r: RenderedResource) => constructed.get(`${r.type}::${r.name}`) ?? Number.MAX_SAFE_INTEGER;
  const resources = registered.sort((a, b) => position(a) - position(b));
  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : String(failure);
    throw new RenderError(message, resources);
  }
  return { resources, outputs: clean(stackOutputs) as Record<string, unknown> };
}

/** Runs the program (index.ts) under mocks and returns what it registers. Throws {@link RenderError} when it fails. */
export async function render(options: RenderOptions = {}): Promise<RenderResult> {
  const projectDir = path.resolve(options.projectDir ?? DEFAULT_PROJECT_DIR);
  const stack = options.stack ?? "dev";
  showSecrets = options.showSecrets === true;
  const overrides: Record<string, string> = { ...options.config };
  if (options.instancesDir !== undefined) overrides["fleet:instancesDir"] = path.resolve(options.instancesDir);
  if (options.version !== undefined) overrides["fleet:version"] = options.version;
  const { project, config, secretKeys } = loadStackConfig(projectDir, stack, overrides);

  // The program and the SDK must come from the same module instances: load both natively.
  registerLikePulumi(projectDir);
  const projectRequire = createRequire(path.join(projectDir, "package.json"));
  const pulumi = projectRequire("@pulumi/pulumi") as PulumiModule;

  // Fresh program modules for every render (the SDK and libraries stay loaded).
  for (const file of Object.keys(projectRequire.cache)) {
    if (file.startsWith(projectDir + path.sep) && !file.includes(`${path.sep}node_modules${path.sep}`)) {
      delete projectRequire.cache[file];
    }
  }
  const { resources, outputs } = await runUnderMocks(
    pulumi,
    { project, stack, config, secretKeys },
    () => projectRequire(path.join(projectDir, "index.ts")) as unknown,
  );
  const shownConfig = Object.fromEntries(
    Object.keys(config)
      .sort()
      .map((k) => [k, secretKeys.includes(k) ? SECRET : (config[k] ?? "")]),
  );
  return { project, stack, config: shownConfig, resources, outputs };
}

/** No colours: the table is read in logs and diffs as often as in a terminal. */
const PLAIN = { head: [], border: [] };

function short(type: string): string {
  return type.replace(/^(\w+):index\/\w+:/, "$1:").replace(/^command:local:/, "command:");
}

/** The readable form of a render: one row per resource, then the outputs per instance. */
export function renderTable(result: RenderResult): string {
  const resources = new Table({ head: ["type", "name", "parent", "dependsOn", "options"], style: PLAIN });
  for (const r of result.resources) {
    const flags = [
      r.options.protect ? "protect" : "",
      r.options.retainOnDelete ? "retainOnDelete" : "",
      r.options.deleteBeforeReplace === null ? "" : `deleteBeforeReplace=${r.options.deleteBeforeReplace}`,
      r.options.replaceOnChanges.length > 0 ? `replaceOnChanges=${r.options.replaceOnChanges.join(",")}` : "",
    ].filter((f) => f !== "");
    resources.push([short(r.type), r.name, r.parent ?? "", r.options.dependsOn.join("\n"), flags.join("\n")]);
  }
  const lines = [
    `project ${result.project}, stack ${result.stack}, ${result.resources.length} resources`,
    resources.toString(),
  ];
  const instances = (result.outputs["instances"] ?? {}) as Record<string, Record<string, unknown>>;
  if (Object.keys(instances).length > 0) {
    const outputs = new Table({ head: ["instance", "url", "version", "image", "dataVolume", "backups"], style: PLAIN });
    for (const [name, o] of Object.entries(instances)) {
      outputs.push([name, ...["url", "version", "image", "dataVolume", "backups"].map((k) => String(o[k] ?? ""))]);
    }
    lines.push(outputs.toString());
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      instances: { type: "string" },
      version: { type: "string" },
      stack: { type: "string" },
      config: { type: "string", multiple: true },
      json: { type: "boolean", default: false },
      "show-secrets": { type: "boolean", default: false },
    },
    allowPositionals: false,
  });
  const config: Record<string, string> = {};
  for (const pair of values.config ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new RenderError(`--config ${pair}: expected key=value`, []);
    config[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const result = await render({
    ...(values.instances !== undefined ? { instancesDir: values.instances } : {}),
    ...(values.version !== undefined ? { version: values.version } : {}),
    ...(values.stack !== undefined ? { stack: values.stack } : {}),
    showSecrets: values["show-secrets"],
    config,
  });
  const text = values.json ? `${JSON.stringify(result, null, 2)}\n` : `${renderTable(result)}\n`;
  // Pipes are asynchronous: exit only once the text is out.
  await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
}

if (typeof module !== "undefined" && require.main === module) {
  main().then(
    // The SDK keeps handles open under mocks; the render is complete here.
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`render: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
