/**
 * `npm run status`, `logs` and `doctor` against the real engine: a two-instance fleet applied by
 * the replayer, then each command through its real wiring (the project's config reader, the
 * provider's Docker endpoint, the docker CLI) from a temporary project directory whose stack file
 * points at the tier's fleet. Prints the status table it saw (docs/operations.md shows one).
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { backupCreateArgs } from "../../components/app-contract";
import { portFree, runDoctor } from "../../ops/commands/doctor";
import { realStream, runLogs } from "../../ops/commands/logs";
import { realStatusDeps, runStatus } from "../../ops/commands/status";
import { endpointFor, realDocker } from "../../ops/core/docker";
import type { StatusRow } from "../../ops/core/status-model";
import { buildAppImage, cleanUp, phases, portBlock, PROXY_IMAGE, render, ROOT, tierEngine } from "./engine";
import { docker, Replayer } from "./replay";

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `ops${RUN_ID}`;
const REPO = `fleet-ops-${RUN_ID}/app`;
const PORT_BASE = portBlock(20000, 1000);
const PORT = { o1: PORT_BASE + 1, o2: PORT_BASE + 2 };
const ADMIN_PORT = PORT_BASE + 9;
const engine = tierEngine();
const phase = phases();
const replayer = new Replayer({ log: (l) => console.log(l) });
let project = "";

/** A project directory: Pulumi.yaml, a stack file for the tier's fleet at `version`, the instance files. */
async function writeProject(version: string): Promise<void> {
  await writeFile(
    join(project, `Pulumi.${STACK}.yaml`),
    [
      "config:",
      `  fleet:version: ${version}`,
      `  fleet:image: ${REPO}`,
      `  fleet:proxyImage: ${PROXY_IMAGE}`,
      `  fleet:proxyAdminPort: "${ADMIN_PORT}"`,
      `  fleet:instancesDir: ${join(project, "instances")}`,
      "",
    ].join("\n"),
  );
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, o: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

async function status(argv: string[]): Promise<{ code: number; rows: StatusRow[]; text: string }> {
  const json = capture();
  const code = await runStatus([...argv, "--stack", STACK, "--json"], { ...realStatusDeps(project), ...json.o });
  const table = capture();
  expect(await runStatus([...argv, "--stack", STACK], { ...realStatusDeps(project), ...table.o })).toBe(code);
  return { code, rows: (JSON.parse(json.out.join("\n")) as { rows: StatusRow[] }).rows, text: table.out.join("\n") };
}

describe.runIf(engine)("status, logs, doctor on the real engine", () => {
  beforeAll(async () => {
    console.log(`ops tier: stack ${STACK}, images ${REPO}, ports ${PORT_BASE}+`);
    project = await mkdtemp(join(tmpdir(), "fleet-ops-project-"));
    await copyFile(join(ROOT, "Pulumi.yaml"), join(project, "Pulumi.yaml"));
    await mkdir(join(project, "instances"));
    const hc = ["healthcheck:", "  interval: 1s", "  timeout: 3s", "  startPeriod: 10s", "  retries: 3"];
    await writeFile(
      join(project, "instances", "o1.yaml"),
      [`port: ${PORT.o1}`, ...hc, "backup:", '  schedule: "0 3 * * *"', ""].join("\n"),
    );
    await writeFile(
      join(project, "instances", "o2.yaml"),
      [`port: ${PORT.o2}`, ...hc, "backup:", "  enabled: false", ""].join("\n"),
    );
    await writeProject("1.0.0");
    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    phase("build");
    const config = {
      "fleet:image": REPO,
      "fleet:proxyImage": PROXY_IMAGE,
      "fleet:proxyAdminPort": String(ADMIN_PORT),
    };
    await replayer.apply(
      await render({ instances: join(project, "instances"), version: "1.0.0", stack: STACK, config }),
    );
    phase("apply");
  });

  afterAll(async () => {
    await cleanUp(STACK, [REPO]);
    phase("clean up");
  });

  test("status: both instances fine, exit 0; a backup shows its age, result and the data size", async () => {
    const app1 = replayer.outputs("o1-app").name as string;
    await docker(["exec", app1, ...backupCreateArgs({ reason: "manual" })]);
    const { code, rows, text } = await status([]);
    console.log(`npm run status, stack ${STACK}:\n${text}`);
    expect(code).toBe(0);
    const short = async (c: string) => (await docker(["inspect", "--format", "{{.Id}}", c])).slice(0, 12);
    expect(rows.map((r) => [r.instance, r.declared, r.running, r.health, r.route, r.routeHealthy, r.problems])).toEqual(
      [
        ["o1", "1.0.0", "1.0.0", "healthy", await short(app1), true, []],
        ["o2", "1.0.0", "1.0.0", "healthy", await short(replayer.outputs("o2-app").name as string), true, []],
      ],
    );
    const o1 = rows[0]!;
    expect([o1.backup.enabled, o1.backup.schedule, o1.backup.ok, o1.backup.stale]).toEqual([
      true,
      "0 3 * * *",
      true,
      false,
    ]);
    expect(o1.backup.ageSeconds).toBeLessThan(120);
    expect(o1.dataBytes).toBeGreaterThan(0);
    expect(rows[1]!.backup).toEqual({
      enabled: false,
      schedule: null,
      lastAt: null,
      ageSeconds: null,
      ok: null,
      error: null,
      stale: false,
    });
  });

  test("status: a declared version the fleet does not run, and a stopped app container, exit 1", async () => {
    await writeProject("1.1.0");
    const app2 = replayer.outputs("o2-app").name as string;
    await docker(["stop", app2]);
    try {
      const { code, rows, text } = await status(["o2"]);
      console.log(text);
      expect(code).toBe(1);
      expect(rows.map((r) => [r.instance, r.health, r.routeHealthy, r.problems])).toEqual([
        [
          "o2",
          "exited",
          false,
          [`container ${app2} is exited`, "runs 1.0.0, declared 1.1.0", `the route points to ${app2}, which is exited`],
        ],
      ]);
    } finally {
      await docker(["start", app2]);
      await writeProject("1.0.0");
    }
  });

  test("logs --all --json: the app's lines and the sidecar's start line, in time order", async () => {
    const endpoint = endpointFor("");
    const c = capture();
    const code = await runLogs(["o1", "--all", "--json", "--stack", STACK], {
      ...c.o,
      docker: realDocker(endpoint),
      stream: realStream(endpoint),
    });
    expect([code, c.err]).toEqual([0, []]);
    const entries = JSON.parse(c.out.join("")) as { container: string; time: string; line: string }[];
    const sidecar = entries.filter((e) => e.container.startsWith("backup "));
    expect(sidecar.map((e) => (JSON.parse(e.line) as { scheduled?: string }).scheduled)).toEqual(["0 3 * * *"]);
    const app = entries.filter((e) => e.container === replayer.outputs("o1-app").name);
    expect(app.length).toBeGreaterThan(0);
    expect(entries.map((e) => e.time)).toEqual(entries.map((e) => e.time).sort());
  });

  test("doctor: the engine, the proxy and the fleet's own ports pass; a stopped proxy fails with its fix", async () => {
    const run = async () => {
      const c = capture();
      const code = await runDoctor(["--stack", STACK, "--json"], {
        ...c.o,
        repoRoot: project,
        env: { ...process.env, DOCKER_CONTEXT: undefined },
        nodeVersion: process.versions.node,
        dockerFor: (host) => realDocker({ host, source: "DOCKER_HOST" }),
        pulumi: () => ({ cli: { version: "v3.265.0", path: "(not checked here)" }, tried: [] }),
        portFree,
        freeBytes: () => 100 * 2 ** 30,
      });
      return {
        code,
        checks: (
          JSON.parse(c.out.join("\n")) as { checks: { name: string; result: string; detail: string; fix?: string }[] }
        ).checks,
      };
    };
    const ready = await run();
    const proxy = `fleet-${STACK}-proxy`;
    expect(ready.checks.filter((c) => ["proxy", `port ${PORT.o1}`, `port ${PORT.o2}`].includes(c.name))).toEqual([
      { name: "proxy", result: "ok", detail: `${proxy} running` },
      { name: `port ${PORT.o1}`, result: "ok", detail: "served by fleet's proxy (instance o1)" },
      { name: `port ${PORT.o2}`, result: "ok", detail: "served by fleet's proxy (instance o2)" },
    ]);
    expect(ready.checks.find((c) => c.name === "docker")?.result).toBe("ok");
    expect(ready.code).toBe(0);
    await docker(["stop", proxy]);
    try {
      const stopped = await run();
      expect(stopped.code).toBe(1);
      expect(stopped.checks.filter((c) => c.result === "fail")).toEqual([
        {
          name: "proxy",
          result: "fail",
          detail: `${proxy} is exited: no instance is reachable`,
          fix: `docker start ${proxy}, then \`docker logs ${proxy}\` if it stops again; \`npm run up\` re-creates it`,
        },
      ]);
    } finally {
      await docker(["start", proxy]);
    }
  });
});
