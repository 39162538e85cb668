/**
 * `npm run bench:render`: renders generated fleets of 1, 10, 100 and 1000 instances, each in its
 * own process, and prints the render's wall and CPU time, the process's wall time, its peak RSS,
 * and the 1000/100 ratios (linear growth is a ratio of about 10).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { render } from "./render";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");
const SIZES = [1, 10, 100, 1000];
/**
 * Node flags of `npm run render` (package.json): ts-node for the CLI file, and a larger young
 * generation, which cuts garbage-collection time of big renders (the SDK allocates many promises).
 */
export const RENDER_NODE_FLAGS = ["--max-semi-space-size=32", "-r", "ts-node/register/transpile-only"];

/** Writes `count` instance files: 5 waves, every 10th pinned, every 7th without backups. */
export function generateFleet(dir: string, count: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let k = 0; k < count; k++) {
    const lines = [`title: Instance ${k}`, `port: ${10000 + k}`, "rollout:", `  wave: ${k % 5}`];
    if (k % 10 === 9) lines.push("version: 0.9.0");
    if (k % 7 === 6) lines.push("backup:", "  enabled: false");
    fs.writeFileSync(path.join(dir, `app-${String(k).padStart(4, "0")}.yaml`), `${lines.join("\n")}\n`);
  }
}

interface Measurement {
  readonly instances: number;
  readonly resources: number;
  readonly renderMs: number;
  /** CPU time of the render (user + system): less sensitive than wall time to other load on the machine. */
  readonly cpuMs: number;
  readonly maxRssMb: number;
}

async function child(dir: string, count: number): Promise<void> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const result = await render({ instancesDir: dir });
  const renderMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const m: Measurement = {
    instances: count,
    resources: result.resources.length,
    renderMs,
    cpuMs: (used.user + used.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(m)}\n`, () => process.exit(0));
}

function parent(): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-bench-"));
  const rows: (Measurement & { wallMs: number })[] = [];
  try {
    for (const size of SIZES) {
      const dir = path.join(tmp, String(size));
      generateFleet(dir, size);
      const start = performance.now();
      // Each size in a fresh process started like `npm run render` starts.
      const run = spawnSync(
        process.execPath,
        [...RENDER_NODE_FLAGS, __filename, "--child", dir, "--count", String(size)],
        { cwd: PROJECT_DIR, encoding: "utf8", maxBuffer: 1 << 20 },
      );
      const wallMs = performance.now() - start;
      if (run.status !== 0) throw new Error(`render of ${size} instances failed:\n${run.stderr}`);
      rows.push({ ...(JSON.parse(run.stdout.trim().split("\n").pop() ?? "{}") as Measurement), wallMs });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const table = new Table({
    head: ["instances", "resources", "render (s)", "render CPU (s)", "process (s)", "peak RSS (MB)"],
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    table.push([
      r.instances,
      r.resources,
      (r.renderMs / 1000).toFixed(2),
      (r.cpuMs / 1000).toFixed(2),
      (r.wallMs / 1000).toFixed(2),
      r.maxRssMb.toFixed(0),
    ]);
  }
  const at = (n: number) => rows.find((r) => r.instances === n)!;
  const ratio = at(1000).renderMs / at(100).renderMs;
  const cpuRatio = at(1000).cpuMs / at(100).cpuMs;
  process.stdout.write(
    `${table.toString()}\nrender time 1000/100: ${ratio.toFixed(1)}, CPU ${cpuRatio.toFixed(1)} (linear is 10; goal <= 12)\n` +
      `node ${process.version}, ${os.cpus().length} CPUs\n`,
  );
}

if (typeof module !== "undefined" && require.main === module) {
  const { values } = parseArgs({ options: { child: { type: "string" }, count: { type: "string" } } });
  if (values.child !== undefined) void child(values.child, Number(values.count));
  else parent();
}
