import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  mainCaddyfile,
  ROUTE_DELETE_SCRIPT,
  ROUTE_UPSERT_SCRIPT,
  routeLink,
  siteBlock,
  siteFile,
  socketDir,
} from "../components/proxy-config";

/** The whole proxy configuration of a fleet: the main Caddyfile and every site file. */
function proxyFiles(instances: { name: string; port: number; domain?: string }[]) {
  return {
    "/etc/caddy/Caddyfile": mainCaddyfile({ adminPort: 2019 }),
    ...Object.fromEntries(
      instances.map((i) => [
        siteFile(i.name),
        siteBlock({
          instance: i.name,
          port: i.port,
          ...(i.domain ? { domain: i.domain } : {}),
        }),
      ]),
    ),
  };
}

const MAIN = [
  "# Managed by fleet. Global options; each instance's site is a file in /data/sites.",
  "{",
  "\tadmin 127.0.0.1:2019",
  "}",
  "",
  "import /data/sites/*.caddy",
  "",
].join("\n");

function site(name: string, addresses: string): string {
  return [
    `# fleet instance ${name}`,
    `${addresses} {`,
    `\treverse_proxy unix//data/routes/${name}.sock {`,
    "\t\tlb_try_duration 5s",
    "\t\ttransport http {",
    "\t\t\tkeepalive off",
    "\t\t}",
    "\t}",
    "}",
    "",
  ].join("\n");
}

describe("proxy configuration", () => {
  test("the main Caddyfile takes the admin port", () => {
    expect(mainCaddyfile({ adminPort: 2100 })).toBe(MAIN.replace("2019", "2100"));
  });

  test("1 instance", () => {
    expect(proxyFiles([{ name: "homebrews", port: 5001 }])).toEqual({
      "/etc/caddy/Caddyfile": MAIN,
      "/data/sites/homebrews.caddy": site("homebrews", ":5001"),
    });
  });

  test("2 instances, one with a domain", () => {
    expect(
      proxyFiles([
        { name: "homebrews", port: 5001 },
        { name: "projects", port: 5002, domain: "projects.example.com" },
      ]),
    ).toEqual({
      "/etc/caddy/Caddyfile": MAIN,
      "/data/sites/homebrews.caddy": site("homebrews", ":5001"),
      "/data/sites/projects.caddy": site("projects", ":5002, projects.example.com"),
    });
  });

  test("10 instances: one site file each, the main Caddyfile unchanged", () => {
    const instances = Array.from({ length: 10 }, (_, k) => ({ name: `app-${k}`, port: 6000 + k }));
    const expected: Record<string, string> = { "/etc/caddy/Caddyfile": MAIN };
    for (let k = 0; k < 10; k++) expected[`/data/sites/app-${k}.caddy`] = site(`app-${k}`, `:${6000 + k}`);
    expect(proxyFiles(instances)).toEqual(expected);
  });

  test("the paths of an instance's socket directory and route", () => {
    expect([socketDir("homebrews"), routeLink("homebrews")]).toEqual([
      "/sockets/homebrews",
      "/data/routes/homebrews.sock",
    ]);
  });
});

/**
 * Runs a route script with `sh` and a fake `docker` first on PATH, which logs its arguments,
 * lists FAKE_PS for `docker ps`, swallows stdin for `docker exec` and succeeds for the rest.
 */
function runRoute(script: string, env: Record<string, string>): { code: number; calls: string[]; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "fleet-route-"));
  const log = join(dir, "calls");
  writeFileSync(
    join(dir, "docker"),
    [
      "#!/bin/sh",
      // The first line of the arguments: the proxy part of a script is one multi-line `sh -c`.
      'printf "%s\\n" "$*" | head -n 1 >> "$LOG"',
      'case "$1" in',
      '  ps) printf "%s\\n" $FAKE_PS ;;',
      "  exec) cat > /dev/null ;;",
      "esac",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  const r = spawnSync("sh", ["-c", script], {
    env: { PATH: `${dir}:${process.env["PATH"]}`, LOG: log, ...env },
    encoding: "utf8",
  });
  const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
  rmSync(dir, { recursive: true, force: true });
  return { code: r.status ?? -1, calls: calls.map((c) => c.split(" sh -c ")[0]!), stderr: r.stderr };
}

describe("route scripts retire the containers the route no longer points at", () => {
  const env = {
    FLEET_PROXY: "fleet-dev-proxy",
    FLEET_PROXY_ADMIN_PORT: "2019",
    FLEET_INSTANCE: "homebrews",
    FLEET_SITE_BLOCK: siteBlock({ instance: "homebrews", port: 5001 }),
    FLEET_CONTAINER_ID: "c0ffee",
    FLEET_RETIRE_LABELS: "fleet.managed=true fleet.stack=dev fleet.instance=homebrews fleet.role=app",
    FLEET_STOP_GRACE: "15",
    FAKE_PS: "0ld1 c0ffee fa1led",
  };
  const PS =
    "ps -aq --no-trunc --filter label=fleet.managed=true --filter label=fleet.stack=dev " +
    "--filter label=fleet.instance=homebrews --filter label=fleet.role=app";

  test("upsert: after the switch, every other container of the instance is stopped with the grace, then removed", () => {
    expect(runRoute(ROUTE_UPSERT_SCRIPT, env)).toEqual({
      code: 0,
      calls: ["exec -i fleet-dev-proxy", PS, "stop -t 15 0ld1", "rm 0ld1", "stop -t 15 fa1led", "rm fa1led"],
      stderr: "",
    });
  });

  test("upsert with nothing else running: nothing is stopped", () => {
    expect(runRoute(ROUTE_UPSERT_SCRIPT, { ...env, FAKE_PS: "c0ffee" }).calls).toEqual(["exec -i fleet-dev-proxy", PS]);
  });

  test("delete: the site goes first, then every container of the instance, the current one too", () => {
    expect(runRoute(ROUTE_DELETE_SCRIPT, env).calls).toEqual([
      "inspect fleet-dev-proxy",
      "exec -i fleet-dev-proxy",
      PS,
      "stop -t 15 0ld1",
      "rm 0ld1",
      "stop -t 15 c0ffee",
      "rm c0ffee",
      "stop -t 15 fa1led",
      "rm fa1led",
    ]);
  });

  test.each([["fleet.managed=true"], ["fleet.managed=true fleet.stack= fleet.role=app"], [""]])(
    "labels without a stack (%j) are refused before anything is listed or stopped",
    (labels) => {
      const r = runRoute(ROUTE_DELETE_SCRIPT, { ...env, FLEET_RETIRE_LABELS: labels });
      expect(r.code).toBe(1);
      expect(r.calls).toEqual(["inspect fleet-dev-proxy", "exec -i fleet-dev-proxy"]);
      expect(r.stderr).toBe(`fleet route homebrews: FLEET_RETIRE_LABELS names no stack: ${labels}\n`);
    },
  );
});
