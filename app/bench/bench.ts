import autocannon from "autocannon";
import Table from "cli-table3";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createBackup } from "../src/backup";
import { healthDuringBackups } from "./backup-latency";
import { APP_ROOT, loadConfig } from "../src/config";
import { pathsFor } from "../src/db";
import { seed } from "./seed";

/**
 * `npm run bench`: seeds BENCH_ENTRIES (default 100,000) entries with notes into a temporary
 * DATA_DIR, then measures list and search latency, /api/health throughput against a bare Fastify
 * route, backup time, cold start and idle RSS, and prints a table. A benchmark, not a test: it
 * reports numbers and marks missed goals; it fails only when a request fails.
 */

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 100_000);
const LATENCY_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const TOKEN = randomBytes(24).toString("hex");
const RSS_GOAL = "≤ 50 MB in the container (docker tier)";
const AUTH = { authorization: `Bearer ${TOKEN}` };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

interface LoadResult {
  readonly p50: number;
  readonly p95: number;
  readonly rps: number;
  readonly requests: number;
  /** p50/p95 per path; exact with one connection, where responses come back in request order. */
  readonly perPath: { path: string; p50: number; p95: number; n: number }[];
}

/** Runs autocannon; collects every response time to compute exact p50/p95 (autocannon itself reports p50, p97.5, p99). */
async function load(
  url: string,
  paths: string[],
  opts: { connections: number; seconds: number; headers?: Record<string, string> },
): Promise<LoadResult> {
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: opts.connections,
        duration: opts.seconds,
        headers: opts.headers ?? {},
        requests: paths.map((p) => ({ method: "GET" as const, path: p })),
      },
      (err, res) => (err ? reject(err as Error) : resolve(res)),
    );
    instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${url}${paths[0]}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  const perPath = paths.map((p, i) => {
    const mine = opts.connections === 1 ? latencies.filter((_, k) => k % paths.length === i).sort((a, b) => a - b) : [];
    return { path: p, p50: percentile(mine, 50), p95: percentile(mine, 95), n: mine.length };
  });
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    rps: result.requests.average,
    requests: result.requests.total,
    perPath,
  };
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

/** Spawns `node dist/server.js` and resolves when /api/health answers 200, with the time that took. */
async function startServer(env: Record<string, string>, port: number): Promise<{ child: ChildProcess; ms: number; url: string }> {
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(APP_ROOT, "dist/server.js")], {
    env: { ...process.env, ...env, HOST: "127.0.0.1", PORT: String(port) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = t0 + 30_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/api/health`)).status === 200) return { child, ms: performance.now() - t0, url };
    } catch {
      // not listening yet
    }
    await sleep(5);
  }
  child.kill("SIGKILL");
  throw new Error("server did not become healthy within 30 s");
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), "fleet-bench-"));
  const env = {
    DATA_DIR: path.join(root, "data"),
    BACKUP_DIR: path.join(root, "backups"),
    APP_NAME: "bench",
    ADMIN_TOKEN: TOKEN,
    LOG_LEVEL: "info",
  };
  const config = loadConfig(env);
  const paths = pathsFor(config.dataDir, config.backupDir);
  const rows: [string, string, string, string][] = [];
  const perQuery: LoadResult["perPath"] = [];
  /** The total each list query answers ("10,000+" when capped). */
  const totals = new Map<string, string>();
  const goal = (ok: boolean) => (ok ? "met" : "MISSED");
  try {
    process.stderr.write(`seeding ${ENTRIES} entries into ${root} ...\n`);
    const seeded = seed(config, ENTRIES);
    const dbBytes = statSync(paths.dbFile).size;
    rows.push([
      "seed (AppContext.open + bulk inserts, FTS triggers on)",
      `${seeded.entries} entries, ${seeded.notes} notes, ${seeded.seconds.toFixed(1)} s, db ${mb(dbBytes)}`,
      "",
      "",
    ]);

    process.stderr.write("backup ...\n");
    const backupMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      createBackup({ paths, instance: config.appName, appVersion: config.version, reason: "bench" });
      backupMs.push(performance.now() - t0);
    }
    const b = median(backupMs);
    rows.push([
      "backup, in-process createBackup (median of 3)",
      `${ms(b)} (runs: ${backupMs.map((x) => x.toFixed(0)).join(", ")})`,
      "≤ 2 s",
      goal(b <= 2000),
    ]);
    const t0 = performance.now();
    const cli = spawnSync(process.execPath, [path.join(APP_ROOT, "dist/cli.js"), "backup", "create", "--reason", "bench"], {
      env: { ...process.env, ...env },
      encoding: "utf8",
    });
    const cliMs = performance.now() - t0;
    if (cli.status !== 0) throw new Error(`backup create failed: ${cli.stderr}`);
    rows.push(["backup, `node dist/cli.js backup create` (process wall time)", ms(cliMs), "≤ 2 s", goal(cliMs <= 2000)]);

    process.stderr.write("cold start ...\n");
    const port = 20000 + Math.floor(Math.random() * 20000);
    const starts: number[] = [];
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    for (let i = 0; i < 3; i++) {
      if (server) await stop(server.child);
      server = await startServer(env, port);
      starts.push(server.ms);
    }
    const cold = median(starts);
    rows.push([
      "cold start: spawn → first 200 from /api/health (median of 3)",
      `${ms(cold)} (runs: ${starts.map((x) => x.toFixed(0)).join(", ")})`,
      "≤ 1 s",
      goal(cold <= 1000),
    ]);
    await sleep(2000);
    const idle = rssOf(server!.child.pid!);
    // The RSS goal (≤ 50 MB, docker stats) is measured in the container: test/docker/app-footprint.test.ts.
    rows.push(["idle RSS of the host process (VmRSS), 2 s after start", mb(idle), RSS_GOAL, ""]);

    process.stderr.write("health during backups through the admin API ...\n");
    const hb = await healthDuringBackups(server!.url, TOKEN);
    const p99 = percentile(hb.during, 99);
    rows.push([
      "/api/health p50 / p99 / max while POST /api/backups runs (3 backups in a row, 2 connections polling)",
      `${ms(percentile(hb.during, 50))} / ${ms(p99)} / ${ms(hb.during.at(-1)!)} (${hb.during.length} requests; ` +
        `idle p99 ${ms(percentile(hb.idle, 99))}; backups ${hb.backups.map((x) => x.toFixed(0)).join(", ")} ms)`,
      "p99 < 50 ms",
      goal(p99 < 50),
    ]);

    process.stderr.write("list and search latency ...\n");
    const lists = [
      "/api/entries",
      "/api/entries?offset=2000",
      "/api/entries?state=2",
      "/api/entries?archived=all&limit=50",
      "/api/entries?type=1&archived=true",
    ];
    const searches = [
      "/api/entries?q=saison",
      "/api/entries?q=zymurgy",
      "/api/entries?q=citra%20mosaic",
      "/api/entries?q=ferm",
      "/api/entries?q=grapefruit&state=1",
    ];
    const opts = { connections: 1, seconds: LATENCY_SECONDS, headers: AUTH };
    await load(server!.url, [...lists, ...searches], { ...opts, seconds: 1 });
    const list = await load(server!.url, lists, opts);
    rows.push([
      "list p50 / p95 (5 list queries in turn, 1 connection)",
      `${ms(list.p50)} / ${ms(list.p95)} (${list.requests} requests)`,
      "",
      "",
    ]);
    const search = await load(server!.url, searches, opts);
    rows.push([
      "full-text search p50 / p95 (5 queries in turn, 1 connection)",
      `${ms(search.p50)} / ${ms(search.p95)} (${search.requests} requests)`,
      "",
      "",
    ]);
    perQuery.push(...list.perPath, ...search.perPath);
    for (const p of [...lists, ...searches]) {
      const body = (await (await fetch(`${server!.url}${p}`, { headers: AUTH })).json()) as { total: number; totalCapped: boolean };
      totals.set(p, `${body.total.toLocaleString("en-US")}${body.totalCapped ? "+" : ""}`);
    }
    await sleep(2000);
    const after = rssOf(server!.child.pid!);
    rows.push(["idle RSS of the host process (VmRSS), 2 s after the list and search load", mb(after), RSS_GOAL, ""]);
    await stop(server!.child);

    // The same with a smaller V8 young generation (a flag an image can set through NODE_OPTIONS).
    const semi = "--max-semi-space-size=1";
    const small = await startServer({ ...env, NODE_OPTIONS: semi }, port);
    await sleep(2000);
    const smallIdle = rssOf(small.child.pid!);
    await load(small.url, [...lists, ...searches], { ...opts, seconds: 2 * LATENCY_SECONDS });
    await sleep(2000);
    const smallAfter = rssOf(small.child.pid!);
    await stop(small.child);
    rows.push([
      `idle RSS with NODE_OPTIONS=${semi}: after start / after the same load`,
      `${mb(smallIdle)} / ${mb(smallAfter)}`,
      RSS_GOAL,
      "",
    ]);

    process.stderr.write("health vs bare Fastify ...\n");
    const target = spawn(process.execPath, ["--import", "tsx", path.join(APP_ROOT, "bench/target.ts")], {
      cwd: APP_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const urls = await new Promise<{ appUrl: string; bareUrl: string }>((resolve, reject) => {
        let buf = "";
        target.stdout!.on("data", (d: Buffer) => {
          buf += d.toString();
          const line = buf.split("\n").find((l) => l.startsWith('{"appUrl"'));
          if (line) resolve(JSON.parse(line) as { appUrl: string; bareUrl: string });
        });
        target.once("exit", (code) => reject(new Error(`bench target exited with ${code}`)));
      });
      const hopts = { connections: 10, seconds: 3 };
      await load(urls.bareUrl, ["/bare"], { ...hopts, seconds: 1 });
      await load(urls.appUrl, ["/api/health"], { ...hopts, seconds: 1 });
      // Paired, alternating rounds: drift on a shared machine hits both sides of a ratio alike.
      const ratios: number[] = [];
      const pairs: string[] = [];
      for (let i = 0; i < 5; i++) {
        const bare = (await load(urls.bareUrl, ["/bare"], hopts)).rps;
        const health = (await load(urls.appUrl, ["/api/health"], hopts)).rps;
        ratios.push(health / bare);
        pairs.push(`${health.toFixed(0)}/${bare.toFixed(0)}`);
      }
      const ratio = median(ratios);
      rows.push([
        "/api/health ÷ bare Fastify route, req/s (same process, 10 connections; median of 5 paired 3 s rounds)",
        `${ratio.toFixed(2)} (range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; rounds ${pairs.join(", ")})`,
        "≥ 0.8",
        goal(ratio >= 0.8),
      ]);
    } finally {
      await stop(target);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }

  const cpu = os.cpus();
  process.stdout.write(
    `\nfleet-app ${JSON.parse(readFileSync(path.join(APP_ROOT, "package.json"), "utf8")).version} · ${ENTRIES} entries · ` +
      `${cpu[0]?.model ?? "unknown CPU"} × ${cpu.length} · ${mb(os.totalmem())} RAM · Node ${process.version} · ` +
      `load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")} · autocannon ${autocannonVersion()}\n`,
  );
  const table = new Table({ head: ["measure", "result", "goal", ""], style: { head: [], border: [] } });
  table.push(...rows);
  process.stdout.write(`${table.toString()}\n`);
  const q = new Table({
    head: ["query (GET, 1 connection)", "total", "p50", "p95", "requests", "goal", ""],
    style: { head: [], border: [] },
  });
  q.push(...perQuery.map((r) => [r.path, totals.get(r.path) ?? "", ms(r.p50), ms(r.p95), String(r.n), "p95 ≤ 10 ms", goal(r.p95 <= 10)]));
  process.stdout.write(`${q.toString()}\n`);
}

function autocannonVersion(): string {
  return (JSON.parse(readFileSync(require.resolve("autocannon/package.json"), "utf8")) as { version: string }).version;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
