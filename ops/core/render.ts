/**
 * The render: the real program (index.ts, compiled by ts-node exactly as Pulumi's runtime compiles
 * it) run under Pulumi mocks (ops/core/pulumi-mocks.ts), every resource it registers with its
 * inputs and the options that matter, and the readable table of it. `npm run render` prints it.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import Table from "cli-table3";
import { readStackFiles, SECRET } from "../../components/stack-config";
import { DEFAULT_STACK } from "./args";
import { runUnderMocks, type RenderedResource } from "./pulumi-mocks";
import { registerLikePulumi } from "./pulumi-ts";

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

const DEFAULT_PROJECT_DIR = path.resolve(__dirname, "..", "..");

/**
 * The config Pulumi would hand the program: Pulumi.yaml defaults, then Pulumi.<stack>.yaml, then
 * overrides (components/stack-config.ts, the one reader). Encrypted values become "[secret]".
 */
export const loadStackConfig = readStackFiles;

/** Runs the program (index.ts) under mocks and returns what it registers. Throws RenderError (ops/core/pulumi-mocks.ts) when it fails. */
export async function render(options: RenderOptions = {}): Promise<RenderResult> {
  const projectDir = path.resolve(options.projectDir ?? DEFAULT_PROJECT_DIR);
  const stack = options.stack ?? DEFAULT_STACK;
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
    options.showSecrets === true,
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
