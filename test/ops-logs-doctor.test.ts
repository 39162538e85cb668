import * as path from "node:path";
import { describe, expect, test } from "vitest";
import type { DockerRunner } from "../ops/core/docker";
import { fakeDocker } from "./fake-docker";
import { listenersArgs, SEPARATOR, stackContainersArgs } from "../ops/core/docker-target";
import { logsArgs, runLogs, type LogsDeps } from "../ops/commands/logs";
import { runDoctor } from "../ops/commands/doctor";
import { doctorChecks, MIN_FREE_BYTES, type DoctorDeps } from "../ops/core/doctor-checks";

const ROOT = path.resolve(__dirname, "..");

const APP = "a".repeat(64);
const FAILED = "f".repeat(64);
const SIDECAR = "d".repeat(64);
const app = (id: string, health: string, started: string) => ({
  Id: id,
  Name: `/homebrews-app-${id.slice(0, 7)}`,
  State: { Status: "running", StartedAt: started, Health: { Status: health, Log: [] } },
  Config: { Labels: { "fleet.instance": "homebrews", "fleet.version": "1.4.0" } },
});
const containers = fakeDocker([
  [
    stackContainersArgs("dev"),
    {
      stdout: `${APP}\tapp\thomebrews\n${FAILED}\tapp\thomebrews\n${SIDECAR}\tbackup\thomebrews\nzzz\tapp\tprojects\n`,
    },
  ],
  [
    ["inspect", APP, FAILED],
    // The newer container failed its health wait; the healthy older one serves.
    {
      stdout: JSON.stringify([
        app(APP, "healthy", "2026-11-29T10:00:00Z"),
        app(FAILED, "unhealthy", "2026-11-29T11:00:00Z"),
      ]),
    },
  ],
  [["logs", "--timestamps", APP], { stdout: '2026-11-29T10:00:01.000Z {"msg":"listening"}\n' }],
  [["logs", "--timestamps", SIDECAR], { stdout: '2026-11-29T10:00:00.500Z {"scheduled":"0 3 * * *"}\n' }],
]);

function logsDeps(docker: DockerRunner) {
  const out: string[] = [];
  const err: string[] = [];
  const streamed: { prefix: string; args: string[] }[][] = [];
  const d: LogsDeps = {
    docker,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    stream: (c) => {
      streamed.push(c);
      return Promise.resolve(0);
    },
  };
  return { d, out, err, streamed };
}

describe("npm run logs", () => {
  test("docker logs argv", () => {
    expect(logsArgs("c", { follow: true, since: "10m", tail: "100", json: false })).toEqual([
      "logs",
      "--follow",
      "--since",
      "10m",
      "--tail",
      "100",
      "c",
    ]);
  });

  test("streams the serving (healthy) app container, not the newer failed one", async () => {
    const { d, streamed } = logsDeps(containers);
    expect(await runLogs(["homebrews", "--follow", "--since", "10m"], d)).toBe(0);
    expect(streamed).toEqual([
      [{ prefix: `homebrews-app-${APP.slice(0, 7)}`, args: ["logs", "--follow", "--since", "10m", APP] }],
    ]);
  });

  test("--all adds the failed app container and the sidecar, each prefixed", async () => {
    const { d, streamed } = logsDeps(containers);
    expect(await runLogs(["homebrews", "--all"], d)).toBe(0);
    expect(streamed[0]?.map((c) => [c.prefix, c.args.at(-1)])).toEqual([
      [`homebrews-app-${APP.slice(0, 7)}`, APP],
      [`app ${FAILED.slice(0, 12)}`, FAILED],
      [`backup ${SIDECAR.slice(0, 12)}`, SIDECAR],
    ]);
  });

  test("--json merges the lines of every container by time", async () => {
    const docker = fakeDocker([
      [stackContainersArgs("dev"), { stdout: `${APP}\tapp\thomebrews\n${SIDECAR}\tbackup\thomebrews\n` }],
      [["inspect", APP], { stdout: JSON.stringify([app(APP, "healthy", "2026-11-29T10:00:00Z")]) }],
      [["logs", "--timestamps", APP], { stdout: '2026-11-29T10:00:01.000Z {"msg":"listening"}\n' }],
      [["logs", "--timestamps", SIDECAR], { stdout: '2026-11-29T10:00:00.500Z {"scheduled":"0 3 * * *"}\n' }],
    ]);
    const { d, out } = logsDeps(docker);
    expect(await runLogs(["homebrews", "--all", "--json"], d)).toBe(0);
    expect(JSON.parse(out.join(""))).toEqual([
      {
        container: `backup ${SIDECAR.slice(0, 12)}`,
        time: "2026-11-29T10:00:00.500Z",
        line: '{"scheduled":"0 3 * * *"}',
      },
      { container: `homebrews-app-${APP.slice(0, 7)}`, time: "2026-11-29T10:00:01.000Z", line: '{"msg":"listening"}' },
    ]);
  });

  test.each([
    [[], "fleet logs: give exactly one instance name.", 2],
    [["a", "b"], "fleet logs: give exactly one instance name.", 2],
    [["homebrews", "--json", "--follow"], "fleet logs: --json prints a finished list; drop --follow.", 2],
    [["nope"], "fleet logs: instance nope has no app container in stack dev; `npm run status` lists what runs.", 1],
  ])("%j is refused", async (argv, message, code) => {
    const { d, err } = logsDeps(containers);
    expect(await runLogs(argv, d)).toBe(code);
    expect(err[0]?.split("\n")[0]).toBe(message);
  });
});

function doctorDeps(o: { docker: DockerRunner; busy?: number[]; free?: number; node?: string }) {
  const out: string[] = [];
  const d: DoctorDeps = {
    out: (l) => out.push(l),
    err: (l) => out.push(l),
    repoRoot: ROOT,
    env: { DOCKER_CONFIG: "/nonexistent" },
    nodeVersion: o.node ?? "24.11.0",
    dockerFor: () => o.docker,
    pulumi: () => ({ cli: { version: "v3.265.0", path: "/usr/local/bin/pulumi" }, tried: [] }),
    portFree: (p) => Promise.resolve(!(o.busy ?? []).includes(p)),
    freeBytes: () => o.free ?? 50 * 2 ** 30,
  };
  return { d, out };
}

const engine = (proxyState: string | null) =>
  fakeDocker([
    [["version", "--format", "{{.Server.Version}}"], { stdout: "20.10.24+dfsg1\n" }],
    [stackContainersArgs("dev"), { stdout: proxyState ? "p1\tproxy\t\n" : "" }],
    [["inspect", "--format", "{{.Name}}\t{{.State.Status}}", "p1"], { stdout: `/fleet-dev-proxy\t${proxyState}\n` }],
    [["info", "--format", "{{.DockerRootDir}}"], { stdout: "/var/lib/docker\n" }],
    // Caddy (fd 3 -> inode 1121630) listens on 5001 (0x1389); something else on 5002 (0x138A).
    [
      listenersArgs("p1"),
      {
        stdout: [
          "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
          "   0: 00000000:1389 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1121630 1 0 100 0 0 10 0",
          "   1: 00000000:138A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222222 1 0 100 0 0 10 0",
          SEPARATOR,
          "/proc/1/fd:",
          "lrwx------ 1 root root 64 Nov 29 21:20 3 -> socket:[1121630]",
          "",
        ].join("\n"),
      },
    ],
  ]);

describe("npm run doctor", () => {
  test("every check passes on a ready host, in order", async () => {
    const { d } = doctorDeps({ docker: engine("running"), busy: [5001] });
    const checks = await doctorChecks("dev", d);
    expect(checks.map((c) => [c.name, c.result, c.detail])).toEqual([
      ["node", "ok", "Node 24.11.0"],
      ["pulumi", "ok", "Pulumi v3.265.0 (/usr/local/bin/pulumi)"],
      ["config", "ok", "Pulumi.dev.yaml and 2 instance files valid"],
      ["docker", "ok", "engine 20.10.24+dfsg1 at unix:///var/run/docker.sock"],
      ["proxy", "ok", "fleet-dev-proxy running"],
      ["port 5001", "ok", "served by fleet's proxy (instance homebrews)"],
      ["port 5002", "ok", "free (instance projects)"],
      ["disk volumes", "ok", "50.0 GiB free in /var/lib/docker"],
    ]);
  });

  test("each failure prints its fix and the exit code is 1", async () => {
    const { d, out } = doctorDeps({
      docker: engine("exited"),
      busy: [5002],
      free: MIN_FREE_BYTES - 1,
      node: "20.19.0",
    });
    expect(await runDoctor([], d)).toBe(1);
    expect(out.filter((l) => l.startsWith("fix "))).toEqual([
      "fix node: run the commands through `npm run ...`: the bootstrap installs Node 24 from the npm package `node` (README, Quick start)",
      "fix proxy: docker start fleet-dev-proxy, then `docker logs fleet-dev-proxy` if it stops again; `npm run up` re-creates it",
      "fix port 5002: find it with `ss -ltnp 'sport = :5002'` and stop it, or give instance projects another port",
      "fix disk volumes: free space in /var/lib/docker (`docker system df` shows what Docker holds), or lower backup.keep in the instance files",
    ]);
  });

  test("an engine that does not answer stops the engine checks with the fix", async () => {
    const down = fakeDocker([]);
    const { d } = doctorDeps({ docker: down });
    const checks = await doctorChecks("dev", d);
    expect(checks.at(-1)).toEqual({
      name: "docker",
      result: "fail",
      detail:
        "no engine answers at unix:///var/run/docker.sock: unexpected: docker version --format {{.Server.Version}}",
      fix: "start Docker (`sudo systemctl start docker`), or point fleet at another engine: `pulumi config set fleet:dockerHost <host>`",
    });
    expect(down.calls).toEqual([["version", "--format", "{{.Server.Version}}"]]);
  });
});
