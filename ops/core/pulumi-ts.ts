/**
 * Registers ts-node the way Pulumi's Node.js language host does for a CommonJS TypeScript project
 * (`@pulumi/pulumi/cmd/run/run.js`, the branch without automatic ESM mode): the project's own
 * `typescript` and `ts-node` (found by Pulumi's `tsutils`), the project's tsconfig.json, type
 * checking unless `noCheck` or PULUMI_NODEJS_TRANSPILE_ONLY=true, and `target ES2020,
 * module/moduleResolution nodenext, sourceMap` merged under the tsconfig's compiler options.
 * A program that loads here loads under `pulumi up`; a type error fails here too.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as tsNode from "ts-node";

interface PulumiTsUtils {
  loadTypeScriptCompilerOptions(tsConfigPath: string): Record<string, unknown>;
  typeScriptRequireStrings(): { tsnodeRequire: string; typescriptRequire: string };
}

const REGISTER_INSTANCE = Symbol.for("ts-node.register.instance");
const registered = new Map<string, tsNode.Service>();

/**
 * Registers (once per project directory and process) a ts-node service configured like Pulumi's
 * runtime, and makes it the only enabled one. A ts-node instance registered earlier (the `ts-node` CLI that runs this script) is
 * disabled, so each program file is compiled exactly once, by this service.
 */
export function registerLikePulumi(projectDir: string): tsNode.Service {
  // One project's service compiles at a time: the others step aside (their files are not loaded again).
  for (const [dir, service] of registered) service.enabled(dir === projectDir);
  const existing = registered.get(projectDir);
  if (existing) return existing;
  const projectRequire = createRequire(path.join(projectDir, "package.json"));
  // Pulumi's own helpers, so the compiler, ts-node and the tsconfig are found exactly as it finds them.
  const tsutils = projectRequire("@pulumi/pulumi/tsutils") as PulumiTsUtils;
  const tsConfigPath = path.join(projectDir, "tsconfig.json");
  const compilerOptions = tsutils.loadTypeScriptCompilerOptions(tsConfigPath);
  const transpileOnlyEnv = process.env["PULUMI_NODEJS_TRANSPILE_ONLY"];
  const transpileOnly = transpileOnlyEnv
    ? transpileOnlyEnv === "true"
    : (compilerOptions["noCheck"] as boolean | undefined);
  const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();

  const previous = (process as unknown as Record<symbol, tsNode.Service | undefined>)[REGISTER_INSTANCE];
  previous?.enabled(false);

  const tsn = projectRequire(tsnodeRequire) as typeof tsNode;
  const service = tsn.register({
    compiler: typescriptRequire,
    ...(transpileOnly !== undefined ? { transpileOnly } : {}),
    project: tsConfigPath,
    skipProject: false,
    compilerOptions: {
      target: "ES2020",
      module: "nodenext",
      moduleResolution: "nodenext",
      sourceMap: "true",
      ...compilerOptions,
    },
  });
  registered.set(projectDir, service);
  return service;
}
