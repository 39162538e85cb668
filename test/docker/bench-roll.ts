/**
 * `npm run bench:roll`: the roll benchmark on the real Docker engine, through the docker tier's
 * replayer, with the instance files' default healthcheck. In one run it measures:
 *
 * 1. the cost of an instance: one health probe's CPU and an idle instance's CPU over 60 s, probes
 *    included (the container's cgroup: cpu.stat usage_usec on cgroup v2, cpuacct.usage on v1);
 * 2. a fleet of 3 rolled at once: the app's cold start (container start to "Server listening")
 *    and the cutover (container start to route switched);
 * 3. a fleet of 10: the steady-state capacity of proxy plus apps (requests per second with a new
 *    connection per request, and with kept-alive connections), then consecutive rolls of all 10 at
 *    once under each kind of load at a share of that capacity: failed requests, cutover, roll total.
 *
 * Method, goals and measured numbers: docs/roll-benchmark.md.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { HEALTH_PROBE } from "../../components/app-instance";
import { DEFAULTS, durationSeconds } from "../../components/spec";
import {
  BASE_IMAGE,
  buildAppImage,
  cleanUp,
  engineAvailable,
  portBlock,
  PROXY_IMAGE,
  render,
  ROOT,
  tierConfig,
  writeFleet,
} from "./engine";
import { startLoad, type LoadResult } from "./load";
import { docker, Replayer, type Render } from "./replay";

const USAGE = `usage: npm run bench:roll -- [--size 10] [--small 3] [--rolls 10] [--share 0.5] [--idle 60]

  --size   instances of the big fleet, rolled at once (default 10)
  --small  instances of the small fleet, for cold start and cutover (default 3)
  --rolls  consecutive rolls of the big fleet under each kind of load (default 10)
  --share  load as a share of the measured capacity (default 0.5)
  --idle   seconds of the idle measurement (default 60)`;

/** This run's 100 ports: the small fleet from +0, the big one from +40, admin ports +90 and +91. */
const PORTS = portBlock(14000, 4000, 100);
/** Names of this run's stacks and images: the port block is held by this process alone, so they are unique among live runs. */
const RUN_ID = `${PORTS}${randomBytes(2).toString("hex")}`;
const REPO = `fleet-bench-${RUN_ID}/app`;
const VERSIONS = ["1.0.0", "2.0.0"] as const;
const INTERVAL_S = durationSeconds(DEFAULTS.healthcheck.interval);

const s = (ms: number) => (ms / 1000).toFixed(2);
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Docker's timestamps have nanoseconds; Date.parse wants at most milliseconds. */
function dockerTimeMs(iso: string): number {
  const ms = Date.parse(iso.replace(/(\.\d{3})\d*Z$/, "$1Z"));
  if (Number.isNaN(ms)) throw new Error(`bench:roll: cannot read time ${JSON.stringify(iso)}`);
  return ms;
}

/** CPU time of a container so far, in microseconds, from its cgroup (v2, else v1 with the cgroupfs driver). */
function cpuUsec(id: string): number {
  const v2 = [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, `/sys/fs/cgroup/docker/${id}/cpu.stat`];
  for (const file of v2) {
    if (existsSync(file)) return Number(/^usage_usec (\d+)$/m.exec(readFileSync(file, "utf8"))![1]);
  }
  const v1 = [
    `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`,
    `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`,
  ];
  for (const file of v1) if (existsSync(file)) return Number(readFileSync(file, "utf8").trim()) / 1000;
  throw new Error(`bench:roll: no cgroup CPU accounting found for container ${id.slice(0, 12)} (local engine only)`);
}

/** A fleet on the engine: its stack, instance names, ports, replayer and renders. */
interface Fleet {
  readonly stack: string;
  readonly names: string[];
  readonly ports: number[];
  readonly replayer: Replayer;
  readonly renders: Record<(typeof VERSIONS)[number], Render>;
}

async function createFleet(label: "small" | "big", size: number): Promise<Fleet> {
  const stack = `bench${RUN_ID}${label}`;
  const first = PORTS + (label === "small" ? 0 : 40);
  const names = Array.from({ length: size }, (_, k) => `roll-${String(k + 1).padStart(2, "0")}`);
  const ports = names.map((_, k) => first + k);
  // The instance files' defaults: what users run.
  const dir = await writeFleet(
    names.map((name, k) => ({ name, port: ports[k]! })),
    { defaultHealthcheck: true },
  );
  const config = tierConfig(REPO, PORTS + (label === "small" ? 90 : 91));
  const renders = {
    "1.0.0": await render({ instances: dir, version: "1.0.0", stack, config }),
    "2.0.0": await render({ instances: dir, version: "2.0.0", stack, config }),
  };
  await rm(dir, { recursive: true, force: true });
  const replayer = new Replayer();
  const t = Date.now();
  // As a user would: when a container is not healthy in time (a loaded machine), `up` again
  // replaces it (the replayer keeps the failed container, as the engine does).
  for (let attempt = 1; ; attempt++) {
    try {
      await replayer.apply(renders["1.0.0"]);
      break;
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
      if (attempt === 3) throw e;
      console.error(
        `bench:roll: creating ${size} instances, apply ${attempt} failed (load average ${loadavg()[0]!.toFixed(1)}): ${why}`,
      );
    }
  }
  console.error(`bench:roll: ${size} instances created in ${s(Date.now() - t)} s`);
  return { stack, names, ports, replayer, renders };
}

/** One roll's numbers. */
interface Roll {
  readonly totalMs: number;
  /** Per instance: new container start to route switched. */
  readonly cutoverMs: number[];
  /** Per instance: new container start to "Server listening" in its log. */
  readonly coldStartMs: number[];
  readonly loads: LoadResult[];
  /** Why the apply failed (e.g. a container not healthy within its wait), when it did. */
  readonly error?: string;
  /** The host's 1-minute load average when the roll ended (the machine is shared). */
  readonly loadAvg: number;
}

function failed(l: LoadResult): number {
  const non2xx = Object.entries(l.status)
    .filter(([code]) => !code.startsWith("2"))
    .reduce((a, [, n]) => a + n, 0);
  return non2xx + Object.values(l.errors).reduce((a, b) => a + b, 0);
}

/** The app's start: the container's StartedAt and the time of its "Server listening" log line. */
async function coldStart(container: string): Promise<{ started: number; listening: number }> {
  const started = dockerTimeMs(await docker(["inspect", "--format", "{{.State.StartedAt}}", container]));
  const out = await docker(["logs", container]);
  for (const line of out.split("\n")) {
    if (!line.includes("Server listening")) continue;
    return { started, listening: (JSON.parse(line) as { time: number }).time };
  }
  throw new Error(`bench:roll: no "Server listening" in the log of ${container}`);
}

/** Rolls every instance of the fleet to `version` at once, under the loads `during` starts. */
async function roll(
  fleet: Fleet,
  version: (typeof VERSIONS)[number],
  loadPerInstance?: { rps: number; keepAlive: boolean },
): Promise<Roll> {
  const loads = loadPerInstance
    ? fleet.ports.map((p) =>
        startLoad(`http://127.0.0.1:${p}/api/health`, loadPerInstance.rps, undefined, {
          keepAlive: loadPerInstance.keepAlive,
        }),
      )
    : [];
  const from = fleet.replayer.events.length;
  let start = 0;
  let totalMs = 0;
  let failure: unknown;
  try {
    await sleep(1000);
    start = Date.now();
    await fleet.replayer.apply(fleet.renders[version]);
    totalMs = Date.now() - start;
    await sleep(1500);
  } catch (e) {
    failure = e;
  }
  const totals = await Promise.all(loads.map((l) => l.stop()));
  const loadAvg = loadavg()[0]!;
  const events = fleet.replayer.events.slice(from);
  const cutoverMs: number[] = [];
  const coldStartMs: number[] = [];
  for (const n of fleet.names) {
    const routed = events.find((e) => e.step === "update" && e.name === `${n}-route`);
    if (!routed) {
      if (failure) continue; // a failed apply: this instance kept its old container
      throw new Error(`bench:roll: no route switch for ${n}`);
    }
    const c = await coldStart(fleet.replayer.outputs(`${n}-app`).name as string);
    cutoverMs.push(routed.at - c.started);
    coldStartMs.push(c.listening - c.started);
  }
  // A failed roll is a result, not the end of the run: the next apply replaces the failed containers.
  const error = failure ? (failure instanceof Error ? failure.message : String(failure)).split("\n")[0] : undefined;
  if (error) console.error(`bench:roll: roll to ${version} failed after ${s(Date.now() - start)} s: ${error}`);
  return { totalMs, cutoverMs, coldStartMs, loads: totals, loadAvg, ...(error ? { error } : {}) };
}

/** Requests per second the whole fleet serves through the proxy with unlimited load for `seconds`. */
async function capacity(fleet: Fleet, keepAlive: boolean, seconds = 10): Promise<number> {
  const loads = fleet.ports.map((p) => startLoad(`http://127.0.0.1:${p}/api/health`, Infinity, 4, { keepAlive }));
  await sleep(seconds * 1000);
  const totals = await Promise.all(loads.map((l) => l.stop()));
  return totals.reduce((a, t) => a + t.rps, 0);
}

/** CPU of one probe (ms) and of an idle instance (% of one core, probes included). */
async function cost(fleet: Fleet, idleSeconds: number): Promise<{ probeMs: number; idlePercent: number }> {
  const name = fleet.replayer.outputs(`${fleet.names[0]}-app`).name as string;
  const id = await docker(["inspect", "--format", "{{.Id}}", name]);
  await sleep(5000);
  let u = cpuUsec(id);
  let t = process.hrtime.bigint();
  await sleep(idleSeconds * 1000);
  const idleUsec = cpuUsec(id) - u;
  const idleNs = Number(process.hrtime.bigint() - t);
  const idleRate = idleUsec / (idleNs / 1000);
  // The probe as Docker runs it (an exec in the container's cgroup), 30 times back to back.
  const probes = 30;
  u = cpuUsec(id);
  t = process.hrtime.bigint();
  for (let i = 0; i < probes; i++) await docker(["exec", name, ...HEALTH_PROBE.slice(1)]);
  const probeUsec = cpuUsec(id) - u - idleRate * (Number(process.hrtime.bigint() - t) / 1000);
  return { probeMs: probeUsec / probes / 1000, idlePercent: idleRate * 100 };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      size: { type: "string", default: "10" },
      small: { type: "string", default: "3" },
      rolls: { type: "string", default: "10" },
      share: { type: "string", default: "0.5" },
      idle: { type: "string", default: "60" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const int = (flag: string, v: string, lo: number, hi: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi)
      throw new Error(`bench:roll: --${flag} ${JSON.stringify(v)}: expected a whole number from ${lo} to ${hi}`);
    return n;
  };
  const size = int("size", values.size, 1, 40);
  const small = int("small", values.small, 1, 40);
  const rolls = int("rolls", values.rolls, 1, 100);
  const idle = int("idle", values.idle, 5, 600);
  const share = Number(values.share);
  if (!(share > 0 && share <= 1))
    throw new Error(`bench:roll: --share ${JSON.stringify(values.share)}: expected a number in (0, 1]`);
  if (!engineAvailable()) throw new Error("bench:roll: no Docker engine answers (bash .ci/setup-docker.sh)");

  console.error(
    `bench:roll: images ${REPO}, base ${BASE_IMAGE}, proxy ${PROXY_IMAGE}, healthcheck interval ${INTERVAL_S} s`,
  );
  const stacks = [`bench${RUN_ID}small`, `bench${RUN_ID}big`];
  const interrupted = () => {
    console.error("bench:roll: interrupted, cleaning up");
    void Promise.all(stacks.map((st) => cleanUp(st, [REPO]))).finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  const load = loadavg();
  try {
    const t = Date.now();
    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    await buildAppImage(`${REPO}:2.0.0`, join(ROOT, "app"), "2.0.0");
    console.error(`bench:roll: images built in ${s(Date.now() - t)} s`);

    const smallFleet = await createFleet("small", small);
    const costs = await cost(smallFleet, idle);
    console.error(
      `bench:roll: probe ${costs.probeMs.toFixed(2)} ms CPU, idle ${costs.idlePercent.toFixed(3)} % of a core`,
    );
    const smallRoll = await roll(smallFleet, "2.0.0");
    await cleanUp(smallFleet.stack, []);

    const big = await createFleet("big", size);
    const capNew = await capacity(big, false);
    const capKeep = await capacity(big, true);
    console.error(
      `bench:roll: capacity ${capNew.toFixed(0)} req/s (new connections), ${capKeep.toFixed(0)} req/s (keep-alive)`,
    );
    const series: { kind: string; rps: number; rolls: Roll[] }[] = [];
    let v = 1;
    for (const [kind, cap, keepAlive] of [
      ["new connection per request", capNew, false],
      ["keep-alive", capKeep, true],
    ] as const) {
      const rps = (cap * share) / size;
      const done: Roll[] = [];
      for (let i = 0; i < rolls; i++) {
        const r = await roll(big, VERSIONS[v % 2]!, { rps, keepAlive });
        v++;
        console.error(
          `bench:roll: ${kind} roll ${i + 1}: total ${s(r.totalMs)} s, cutover median ${s(median(r.cutoverMs))} s, failed ${r.loads.reduce((a, l) => a + failed(l), 0)}`,
        );
        done.push(r);
      }
      series.push({ kind, rps: rps * size, rolls: done });
    }
    await cleanUp(big.stack, []);

    const coldMedian = smallRoll.coldStartMs.length > 0 ? median(smallRoll.coldStartMs) : NaN;
    const smallBound = 2 * coldMedian + INTERVAL_S * 1000;
    const range = (xs: number[]) => (xs.length > 0 ? `${s(Math.min(...xs))}–${s(Math.max(...xs))} s` : "none");
    const goals = new Table({ head: ["goal", "measured", "target", ""] });
    const mark = (ok: boolean) => (ok ? "met" : "MISSED");
    goals.push(["one health probe", `${costs.probeMs.toFixed(2)} ms CPU`, "≤ 5 ms", mark(costs.probeMs <= 5)]);
    goals.push([
      `idle instance over ${idle} s, probes included`,
      `${costs.idlePercent.toFixed(3)} % of a core`,
      "≤ 0.2 %",
      mark(costs.idlePercent <= 0.2),
    ]);
    goals.push([
      `cutover, ${small} at once (median)`,
      smallRoll.error
        ? `roll failed: ${smallRoll.error}`
        : `${s(median(smallRoll.cutoverMs))} s (cold start ${s(coldMedian)} s)`,
      `≤ 2 × cold start + ${INTERVAL_S} s = ${s(smallBound)} s`,
      mark(!smallRoll.error && median(smallRoll.cutoverMs) <= smallBound),
    ]);
    const all = series.flatMap((x) => x.rolls);
    const whole = all.filter((r) => !r.error);
    const cutBig = whole.map((r) => median(r.cutoverMs));
    const totals = whole.map((r) => r.totalMs);
    const failedRolls = all.length - whole.length;
    const ofFailed = failedRolls > 0 ? ` (${failedRolls} of ${all.length} rolls failed)` : "";
    goals.push([
      `cutover, ${size} at once (median of each roll)`,
      range(cutBig) + ofFailed,
      "≤ 5 s",
      mark(failedRolls === 0 && Math.max(...cutBig) <= 5000),
    ]);
    goals.push([
      `roll total, ${size} at once`,
      range(totals) + ofFailed,
      "≤ 20 s",
      mark(failedRolls === 0 && Math.max(...totals) <= 20_000),
    ]);
    for (const x of series) {
      const requests = x.rolls.reduce((a, r) => a + r.loads.reduce((b, l) => b + l.requests, 0), 0);
      const bad = x.rolls.reduce((a, r) => a + r.loads.reduce((b, l) => b + failed(l), 0), 0);
      goals.push([
        `failed requests, ${rolls} rolls, ${x.kind}, ${x.rps.toFixed(0)} req/s`,
        `${bad} of ${requests}`,
        "0",
        mark(bad === 0),
      ]);
    }
    const perRoll = new Table({
      head: ["load", "roll", "total", "cutover min/median/max", "requests", "req/s", "failed", "load avg", "apply"],
    });
    for (const x of series) {
      x.rolls.forEach((r, i) => {
        const c = [...r.cutoverMs].sort((a, b) => a - b);
        perRoll.push([
          x.kind,
          i + 1,
          r.error ? "-" : s(r.totalMs),
          c.length > 0 ? `${s(c[0]!)} / ${s(median(c))} / ${s(c.at(-1)!)}` : "-",
          r.loads.reduce((a, l) => a + l.requests, 0),
          r.loads.reduce((a, l) => a + l.rps, 0).toFixed(0),
          r.loads.reduce((a, l) => a + failed(l), 0),
          r.loadAvg.toFixed(1),
          r.error ?? "ok",
        ]);
      });
    }
    console.log(`Machine: ${cpus().length} cores, load average at start ${load.map((x) => x.toFixed(1)).join(" ")}.`);
    console.log(
      `Capacity at steady state, ${size} instances through the proxy: ${capNew.toFixed(0)} req/s with a new connection per request, ` +
        `${capKeep.toFixed(0)} req/s keep-alive; load during the rolls: ${(share * 100).toFixed(0)} % of each.`,
    );
    console.log(
      `Cold start (container start to listening), ${small} instances: ${smallRoll.coldStartMs.map(s).join(", ")} s` +
        `${smallRoll.error ? ` (roll failed: ${smallRoll.error})` : ""}; load average then ${smallRoll.loadAvg.toFixed(1)}.`,
    );
    console.log(perRoll.toString());
    for (const x of series) {
      for (const [i, r] of x.rolls.entries()) {
        for (const l of r.loads.filter((y) => failed(y) > 0)) {
          console.log(
            `failed, ${x.kind} roll ${i + 1}, ${l.url}: status ${JSON.stringify(l.status)}, errors ${JSON.stringify(l.errors)}`,
          );
        }
      }
    }
    console.log(goals.toString());
    return failedRolls === 0 && all.every((r) => r.loads.every((l) => failed(l) === 0)) ? 0 : 1;
  } finally {
    await Promise.all(stacks.map((st) => cleanUp(st, [REPO])));
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
