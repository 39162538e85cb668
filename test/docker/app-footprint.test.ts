/**
 * Docker tier: what one idle app container costs. Renders a one-instance fleet through the real
 * program and applies only its app container and what that container depends on (image, volumes,
 * token, pre-update backup) with the replayer, so the container runs with exactly the hardening,
 * limits and healthcheck the program renders. Then it prints:
 * - memory as `docker stats` shows it, after start and after a list and search load;
 * - the container's CPU over 60 s at idle, health probes included, from its cgroup, and the part
 *   of it that the app's own Node process spent (its /proc stat).
 * The goals (≤ 50 MB, ≤ 0.2% of one core) are printed beside the numbers, not asserted: timing and
 * memory goals belong to benchmarks. The test asserts that the measurement itself is sound.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildAppImage, cleanUp, engineAvailable, phases, PROXY_IMAGE, render, ROOT } from "./engine";
import { docker, durationNs, type Render, type RenderedResource, Replayer } from "./replay";

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `foot${RUN_ID}`;
const REPO = `fleet-foot-${RUN_ID}/app`;
const INSTANCE = "footprint";
const IDLE_SECONDS = 60;
const MB = 1024 * 1024;

const engine = engineAvailable();
if (!engine && process.env.CI)
  throw new Error("docker tier: no Docker engine answers, and CI requires this tier to run");

/** The named resource and every resource it depends on, in registration order. */
function withDependencies(resources: RenderedResource[], name: string): RenderedResource[] {
  const byName = new Map(resources.map((r) => [r.name, r]));
  const keep = new Set<string>();
  const visit = (n: string) => {
    const r = byName.get(n);
    if (!r || keep.has(n)) return;
    keep.add(n);
    for (const d of [...r.dependencies, ...r.options.dependsOn]) visit(d);
  };
  visit(name);
  return resources.filter((r) => r.custom && keep.has(r.name));
}

/** "41.3MiB / 256MiB" → bytes of the first figure. */
function parseMemUsage(text: string): number {
  const m = /^([\d.]+)\s*(B|KiB|MiB|GiB|kB|MB|GB)\b/.exec(text.trim());
  if (!m) throw new Error(`docker stats: cannot read memory from ${JSON.stringify(text)}`);
  const unit: Record<string, number> = { B: 1, KiB: 1024, MiB: MB, GiB: 1024 * MB, kB: 1e3, MB: 1e6, GB: 1e9 };
  return Number(m[1]) * unit[m[2]!]!;
}

async function dockerStatsMemory(container: string): Promise<number> {
  return parseMemUsage(await docker(["stats", "--no-stream", "--format", "{{.MemUsage}}", container]));
}

/**
 * CPU time used so far by every process of the container whose first process is `pid`, in µs,
 * from its cgroup: `cpu.stat` `usage_usec` (cgroup v2) or `cpuacct.usage` in ns (v1).
 */
function cgroupCpuMicros(pid: number): number {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) {
    const path = lines.find((l) => l.startsWith("0::"))!.slice(3);
    const stat = readFileSync(`/sys/fs/cgroup${path}/cpu.stat`, "utf8");
    return Number(/^usage_usec (\d+)$/m.exec(stat)![1]);
  }
  const line = lines.find((l) => l.split(":")[1]!.split(",").includes("cpuacct"));
  if (!line) throw new Error(`no cpuacct cgroup for pid ${pid}: ${lines.join("; ")}`);
  const [, controllers, path] = line.split(":") as [string, string, string];
  return Number(readFileSync(`/sys/fs/cgroup/${controllers}${path}/cpuacct.usage`, "utf8")) / 1000;
}

/** user + system CPU of one process, in µs (clock ticks are 10 ms on Linux). */
function processCpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

interface ContainerState {
  State: { Pid: number; Health: { Status: string; Log: { Start: string; ExitCode: number }[] } };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}

async function inspect(name: string): Promise<ContainerState> {
  return (JSON.parse(await docker(["inspect", name])) as ContainerState[])[0]!;
}

const phase = phases();
const replayer = new Replayer({ log: (l) => console.log(l) });

describe.runIf(engine)("app footprint in its container (docker tier)", () => {
  let rendered: Render;
  let resources: RenderedResource[];

  beforeAll(async () => {
    const fleet = mkdtempSync(join(tmpdir(), "fleet-foot-"));
    writeFileSync(
      join(fleet, `${INSTANCE}.yaml`),
      `title: Footprint\nport: ${19500 + Math.floor(Math.random() * 400)}\n`,
    );
    rendered = await render({
      instances: fleet,
      version: "1.0.0",
      stack: STACK,
      config: { "fleet:image": REPO, "fleet:proxyImage": PROXY_IMAGE },
    });
    resources = withDependencies(rendered.resources, `${INSTANCE}-app`);
    phase("render");
    const image = resources.find((r) => r.type === "docker:index/remoteImage:RemoteImage")!;
    await buildAppImage(image.inputs.name as string, join(ROOT, "app"), "1.0.0");
    phase("build image");
  });

  afterAll(async () => {
    await cleanUp(STACK, [REPO]);
  });

  test(`memory after start and after load, and CPU over ${IDLE_SECONDS} s idle with health probes`, async () => {
    const app = resources.find((r) => r.name === `${INSTANCE}-app`)!;
    const image = resources.find((r) => r.type === "docker:index/remoteImage:RemoteImage")!;
    await replayer.apply({ ...rendered, resources });
    phase("apply (app container healthy)");

    const container = replayer.outputs(`${INSTANCE}-app`).name as string;
    const token = replayer.outputs(`${INSTANCE}-admin-token`).result as string;
    const state = await inspect(container);
    const ip = Object.values(state.NetworkSettings.Networks).find((n) => n.IPAddress)!.IPAddress;
    const base = `http://${ip}:8080`;
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect([path, res.status]).toEqual([path, 200]);
      return res.json() as Promise<{ total?: number }>;
    };

    await new Promise((r) => setTimeout(r, 10_000));
    const memStart = await dockerStatsMemory(container);
    phase("memory after start");

    const words = "saison stout citra mosaic ferment grapefruit haze malt yeast kettle".split(" ");
    for (let i = 0; i < 300; i++) {
      const res = await fetch(`${base}/api/entries`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({
          typeId: 1,
          title: `Batch ${i} ${words[i % 10]}`,
          description: words.slice(0, 1 + (i % 10)).join(" "),
        }),
      });
      expect(res.status).toBe(201);
    }
    expect((await get("/api/entries?archived=all")).total).toBe(300);
    const queries = [
      "/api/entries",
      "/api/entries?offset=100",
      "/api/entries?state=2",
      "/api/entries?archived=all&limit=50",
      "/api/entries?type=1&archived=true",
      "/api/entries?q=saison",
      "/api/entries?q=citra%20mosaic",
      "/api/entries?q=ferm",
      "/api/entries?q=grapefruit&state=1",
    ];
    let requests = 0;
    for (const until = Date.now() + 15_000; Date.now() < until;) {
      await get(queries[requests % queries.length]!);
      requests++;
    }
    await new Promise((r) => setTimeout(r, 10_000));
    const memAfter = await dockerStatsMemory(container);
    phase(`300 entries written, ${requests} list and search requests, memory after load`);

    const top = await docker(["top", container, "-eo", "pid,args"]);
    const nodePid = Number(/^\s*(\d+)\s+node dist\/server\.js/m.exec(top)?.[1]);
    expect(nodePid).toBeGreaterThan(0);
    const interval = durationNs(((app.inputs.healthcheck as { interval?: string }) ?? {}).interval ?? "30s") / 1e9;
    const t0 = Date.now();
    const cgroup0 = cgroupCpuMicros(state.State.Pid);
    const node0 = processCpuMicros(nodePid);
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const cgroup1 = cgroupCpuMicros(state.State.Pid);
    const node1 = processCpuMicros(nodePid);
    const seconds = (Date.now() - t0) / 1000;
    const after = await inspect(container);
    const probesInWindow = after.State.Health.Log.filter((l) => Date.parse(l.Start) >= t0);
    phase(`idle ${seconds.toFixed(1)} s`);

    const pct = (micros: number) => (100 * micros) / (seconds * 1e6);
    const containerPct = pct(cgroup1 - cgroup0);
    const nodePct = pct(node1 - node0);
    const rows = [
      [
        "memory (docker stats), 10 s after the container became healthy",
        `${(memStart / MB).toFixed(1)} MB`,
        "≤ 50 MB",
        memStart <= 50 * MB,
      ],
      [
        `memory (docker stats), 10 s after ${requests} list and search requests`,
        `${(memAfter / MB).toFixed(1)} MB`,
        "≤ 50 MB",
        memAfter <= 50 * MB,
      ],
      [
        `CPU of the container at idle (cgroup), ${seconds.toFixed(0)} s, probe every ${interval} s`,
        `${containerPct.toFixed(3)}% of one core`,
        "≤ 0.2%",
        containerPct <= 0.2,
      ],
      [
        "… of which the app's Node process (/proc/<pid>/stat, 10 ms ticks)",
        `${nodePct.toFixed(3)}% of one core`,
        "",
        true,
      ],
    ] as const;
    console.log(
      `app footprint (${INSTANCE}, image ${image.inputs.name as string}; shared machine, load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}):\n` +
        rows
          .map(
            ([what, value, goal, met]) =>
              `  ${what}: ${value}${goal ? ` (goal ${goal}: ${met ? "met" : "MISSED"})` : ""}`,
          )
          .join("\n"),
    );

    // The measurement is sound: the container stayed healthy, probes ran in the window, and the
    // container's cgroup counted at least what its Node process used.
    expect(after.State.Health.Status).toBe("healthy");
    expect(probesInWindow.length).toBeGreaterThanOrEqual(Math.min(4, Math.floor(IDLE_SECONDS / interval) - 1));
    expect(probesInWindow.every((l) => l.ExitCode === 0)).toBe(true);
    expect(cgroup1 - cgroup0).toBeGreaterThanOrEqual(node1 - node0 - 20_000);
    expect([memStart > 0, memAfter > 0]).toEqual([true, true]);
  });
});
