/**
 * The one place that uses the Pulumi SDK's internals, for `npm run render` and the component tests:
 * the mock monitor (`runtime.setMocks`, `runtime.getMonitor()` wrapped to read resource options,
 * which MockResourceArgs lacks; DESIGN.md), `runtime.runInPulumiStack`, `runtime.waitForRPCs`,
 * `Resource.callsites`, and the wire encodings of secrets, resource references and unknowns
 * (`@pulumi/pulumi/runtime/rpc`). An SDK upgrade that changes any of them breaks here and in
 * test/pulumi-mocks.test.ts, which names {@link CHECKED_SDK_VERSION}.
 */
import { specialResourceSig, specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { SECRET } from "../../components/stack-config";

/** The @pulumi/pulumi version these internals were checked against (test/pulumi-mocks.test.ts). */
export const CHECKED_SDK_VERSION = "3.276.0";

type PulumiModule = typeof import("@pulumi/pulumi");

const STACK_TYPE = "pulumi:pulumi:Stack";

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

function nameOfUrn(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** Replaces the wire encodings of secrets, resource references and unknowns; sorts map keys. */
function clean(value: unknown, showSecrets: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => clean(v, showSecrets));
  if (value === unknownValue) return "<<unknown>>";
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  const sig = record[specialSigKey];
  if (sig === specialSecretSig) return showSecrets ? clean(record["value"], showSecrets) : SECRET;
  if (sig === specialResourceSig) return `<<${nameOfUrn(String(record["urn"]))}>>`;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, clean(record[k], showSecrets)]),
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

function toRendered(req: RegisterRequest, stackUrn: string, showSecrets: boolean): RenderedResource {
  const implicit = new Set<string>();
  req.getPropertydependenciesMap().forEach((deps) => deps.getUrnsList().forEach((u) => implicit.add(u)));
  const deps = req.getDependenciesList();
  const parentUrn = req.getParent();
  return {
    type: req.getType(),
    name: req.getName(),
    parent: parentUrn === "" || parentUrn === stackUrn ? null : nameOfUrn(parentUrn),
    custom: req.getCustom(),
    inputs: clean(req.getObject()?.toJavaScript() ?? {}, showSecrets) as Record<string, unknown>,
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
  /** Show secret values instead of "[secret]" (`render --show-secrets`). */
  showSecrets = false,
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
    if (req.getType() !== STACK_TYPE) registered.push(toRendered(req, stackUrn, showSecrets));
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
  return { resources, outputs: clean(stackOutputs, showSecrets) as Record<string, unknown> };
}
