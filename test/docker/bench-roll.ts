/**
 * `npm run bench:roll`: rolls generated fleets of 3 and 10 instances from v1 to v2 on the real
 * Docker engine (through the docker tier's replayer), under a steady load through the proxy, and
 * prints per instance the cutover time (the new app container's start to its route switching),
 * the total roll time and the failed requests. Method and measured numbers: docs/roll-benchmark.md.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { BASE_IMAGE, buildAppImage, cleanUp, engineAvailable, PROXY_IMAGE, render, ROOT } from "./engine";
import { startLoad, type LoadResult } from "./load";
import { docker, Replayer } from "./replay";

const USAGE = `usage: npm run bench:roll -- [--sizes 3,10] [--rps 55] [--backups]

  --sizes    fleet sizes to roll, comma-separated (default 3,10)
  --rps      requests per second per instance through the proxy (default 55)
  --backups  enable backups (pre-update backup and sidecar); off by default`;

const RUN_ID = randomBytes(3).toString("hex");
const REPO = `fleet-bench-${RUN_ID}/app`;

/** One instance's numbers from a roll. */
interface InstanceRow {
  readonly name: string;
  /** Milliseconds since the roll started. */
  readonly started: number;
  readonly healthy: number;
  readonly routed: number;
  readonly load: LoadResult;
}

/** One fleet size's numbers. */
interface SizeResult {
  readonly size: number;
  readonly createMs: number;
  readonly rollMs: number;
  readonly lastRouteMs: number;
  readonly rows: InstanceRow[];
}

/** Instance files: every instance in wave 0 without a canary, so the whole fleet rolls in parallel. */
async function generateFleet(size: number, firstPort: number, backups: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fleet-bench-roll-"));
  for (let k = 1; k <= size; k++) {
    const lines = [
      `title: Bench ${k}`,
      `port: ${firstPort + k - 1}`,
      // As test/docker/fleet/*.yaml: a check every second instead of every 5 s.
      "healthcheck:",
      "  interval: 1s",
      "  timeout: 3s",
      "  startPeriod: 10s",
      "  retries: 3",
      "backup:",
      ...(backups ? ['  schedule: "0 3 * * *"', "  keep: 2"] : ["  enabled: false"]),
      "rollout:",
      "  wave: 0",
    ];
    await writeFile(join(dir, `roll-${String(k).padStart(2, "0")}.yaml`), `${lines.join("\n")}\n`);
  }
  return dir;
}

/** Docker's StartedAt has nanoseconds; Date.parse wants at most milliseconds. */
function startedAtMs(iso: string): number {
  const ms = Date.parse(iso.replace(/(\.\d{3})\d*Z$/, "$1Z"));
  if (Number.isNaN(ms)) throw new Error(`bench:roll: cannot read container start time ${JSON.stringify(iso)}`);
  return ms;
}

async function rollOnce(size: number, firstPort: number, rps: number, backups: boolean): Promise<SizeResult> {
  const stack = `bench${RUN_ID}n${size}`;
  const dir = await generateFleet(size, firstPort, backups);
  const names = Array.from({ length: size }, (_, k) => `roll-${String(k + 1).padStart(2, "0")}`);
  const config = {
    "fleet:image": REPO,
    "fleet:proxyImage": PROXY_IMAGE,
    "fleet:proxyAdminPort": String(20000 + Math.floor(Math.random() * 9000)),
  };
  const replayer = new Replayer();
  try {
    const v1 = await render({ instances: dir, version: "1.0.0", stack, config });
    const v2 = await render({ instances: dir, version: "2.0.0", stack, config });
    const t = Date.now();
    await replayer.apply(v1);
    const createMs = Date.now() - t;
    console.error(`bench:roll: ${size} instances created at v1 in ${(createMs / 1000).toFixed(1)} s`);

    const loads = names.map((n, k) => ({
      name: n,
      load: startLoad(`http://127.0.0.1:${firstPort + k}/api/health`, rps),
    }));
    let rollMs = 0;
    let rollStart = 0;
    const from = replayer.events.length;
    let failure: unknown;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      rollStart = Date.now();
      await replayer.apply(v2);
      rollMs = Date.now() - rollStart;
      // Keep loading while nothing changes any more, as the tier does.
      await new Promise((r) => setTimeout(r, 1500));
    } catch (e) {
      failure = e;
    }
    const totals = await Promise.all(loads.map((l) => l.load.stop()));
    if (failure) throw failure;
    console.error(`bench:roll: ${size} instances rolled to v2 in ${(rollMs / 1000).toFixed(1)} s`);

    const events = replayer.events.slice(from);
    const at = (step: string, name: string): number => {
      const e = events.find((x) => x.step === step && x.name === name);
      if (!e) throw new Error(`bench:roll: no "${step} ${name}" step in the roll`);
      return e.at - rollStart;
    };
    const rows: InstanceRow[] = [];
    for (const [k, n] of names.entries()) {
      const container = replayer.outputs(`${n}-app`).name as string;
      const started = startedAtMs(await docker(["inspect", "--format", "{{.State.StartedAt}}", container]));
      rows.push({
        name: n,
        started: started - rollStart,
        healthy: at("replace", `${n}-app`),
        routed: at("update", `${n}-route`),
        load: totals[k]!,
      });
    }
    return { size, createMs, rollMs, lastRouteMs: Math.max(...rows.map((r) => r.routed)), rows };
  } finally {
    await cleanUp(stack, []);
    await rm(dir, { recursive: true, force: true });
  }
}

function failed(l: LoadResult): number {
  const non2xx = Object.entries(l.status)
    .filter(([code]) => !code.startsWith("2"))
    .reduce((a, [, n]) => a + n, 0);
  return non2xx + Object.values(l.errors).reduce((a, b) => a + b, 0);
}

function print(results: SizeResult[], rps: number): void {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const perInstance = new Table({
    head: ["fleet", "instance", "started", "healthy", "route switched", "cutover", "requests", "req/s", "failed"],
  });
  for (const r of results) {
    for (const row of r.rows) {
      perInstance.push([
        r.size,
        row.name,
        s(row.started),
        s(row.healthy),
        s(row.routed),
        s(row.routed - row.started),
        row.load.requests,
        row.load.rps.toFixed(1),
        failed(row.load),
      ]);
    }
  }
  const totals = new Table({
    head: [
      "fleet",
      "v1 create",
      "roll total",
      "last route switch",
      "cutover min/median/max",
      "requests",
      "min req/s",
      "failed",
    ],
  });
  for (const r of results) {
    const cut = r.rows.map((x) => x.routed - x.started).sort((a, b) => a - b);
    totals.push([
      r.size,
      s(r.createMs),
      s(r.rollMs),
      s(r.lastRouteMs),
      `${s(cut[0]!)} / ${s(cut[Math.floor((cut.length - 1) / 2)]!)} / ${s(cut.at(-1)!)}`,
      r.rows.reduce((a, x) => a + x.load.requests, 0),
      Math.min(...r.rows.map((x) => x.load.rps)).toFixed(1),
      r.rows.reduce((a, x) => a + failed(x.load), 0),
    ]);
  }
  console.log("Times in seconds; started, healthy and route switched are measured from the start of the roll.");
  console.log(`Load: ${rps} requests/s per instance through the proxy, a new connection per request (hey).`);
  console.log(perInstance.toString());
  for (const r of results) {
    for (const row of r.rows.filter((x) => failed(x.load) > 0)) {
      console.log(
        `failed, fleet of ${r.size}, ${row.name}: status ${JSON.stringify(row.load.status)}, errors ${JSON.stringify(row.load.errors)}`,
      );
    }
  }
  console.log(totals.toString());
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "3,10" },
      rps: { type: "string", default: "55" },
      backups: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const sizes = values.sizes.split(",").map(Number);
  const rps = Number(values.rps);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 50))
    throw new Error(
      `bench:roll: --sizes ${JSON.stringify(values.sizes)}: expected whole numbers from 1 to 50, such as 3,10`,
    );
  if (!Number.isFinite(rps) || rps < 1)
    throw new Error(`bench:roll: --rps ${JSON.stringify(values.rps)}: expected a positive number, such as 55`);
  if (!engineAvailable()) throw new Error("bench:roll: no Docker engine answers (bash .ci/setup-docker.sh)");

  console.error(`bench:roll: images ${REPO}, base ${BASE_IMAGE}, proxy ${PROXY_IMAGE}`);
  const interrupted = () => {
    console.error("bench:roll: interrupted, cleaning up");
    void Promise.all(sizes.map((n) => cleanUp(`bench${RUN_ID}n${n}`, [REPO]))).finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    const t = Date.now();
    // Both versions from the same app/ with the real Dockerfile; only VERSION differs, so the
    // second build is mostly the layer cache.
    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    await buildAppImage(`${REPO}:2.0.0`, join(ROOT, "app"), "2.0.0");
    console.error(`bench:roll: images built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const results: SizeResult[] = [];
    let firstPort = 18201;
    for (const size of sizes) {
      results.push(await rollOnce(size, firstPort, rps, values.backups));
      firstPort += 100;
    }
    print(results, rps);
    return results.every((r) => r.rows.every((x) => failed(x.load) === 0)) ? 0 : 1;
  } finally {
    await cleanUp(`bench${RUN_ID}`, [REPO]);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
