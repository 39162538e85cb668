/**
 * `npm run render [-- --instances DIR] [--version X] [--stack S] [--config k=v ...] [--json] [--show-secrets]`
 *
 * Runs the real program under Pulumi mocks and prints every resource it registers (ops/core/render.ts):
 * the offline "what would be deployed", like `helm template`. The JSON shape is documented in
 * docs/program.md and docs/architecture.md.
 */
import { parseArgs } from "node:util";
import { RenderError } from "../core/pulumi-mocks";
import { render, renderTable } from "../core/render";

export {
  RenderError,
  runUnderMocks,
  type MockStack,
  type RenderedOptions,
  type RenderedResource,
} from "../core/pulumi-mocks";
export { loadStackConfig, render, renderTable, type RenderOptions, type RenderResult } from "../core/render";

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
