/**
 * A restart of dockerd itself: every container stops and starts again, the sockets volume (a
 * tmpfs) comes back empty, and each app re-creates its socket on the path its route links to.
 * Every instance must answer through the proxy again within 30 s, without `pulumi up`.
 *
 * Disruptive: every container on the engine restarts. It runs in CI (`CI=true`, or
 * FLEET_TEST_RESTART_DOCKERD=1 as .ci/run sets) on a local engine, where systemd runs Docker
 * (`systemctl restart docker`, through `sudo -n` when not root, as on GitHub's runners) or, as root,
 * where dockerd runs on its own (as .ci/setup-docker.sh starts it): then it is stopped with SIGTERM
 * and started again exactly as it ran (its command line, its log), also when the test fails.
 * Elsewhere it says why it did not run.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  answersWithin,
  buildAppImage,
  cleanUp,
  engineAvailable,
  phases,
  portBlock,
  render,
  ROOT,
  tierConfig,
  writeFleet,
} from "./engine";
import { docker, Replayer } from "./replay";

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `dockerd${RUN_ID}`;
const REPO = `fleet-dockerd-${RUN_ID}/app`;
const PORT_BASE = portBlock(13000, 1000);
const NAMES = ["d1", "d2", "d3"];
const BACK_WITHIN_MS = 30_000;

const localEngine = (process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock") === "unix:///var/run/docker.sock";
const wanted = process.env.CI === "true" || process.env.FLEET_TEST_RESTART_DOCKERD === "1";
const root = process.getuid?.() === 0;
const engine = engineAvailable();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function answers(): boolean {
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: 10_000, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`dockerd restart: ${what} within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

function systemdRunsDocker(): boolean {
  try {
    execFileSync("systemctl", ["is-active", "--quiet", "docker"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** How this engine is restarted, or why it cannot be. */
function restartMethod(): { pid: number; argv: string[]; log: string } | "systemd" | string {
  if (!engine) return "no Docker engine answers";
  if (!localEngine) return `DOCKER_HOST ${process.env.DOCKER_HOST} is not the local engine`;
  if (systemdRunsDocker()) return "systemd";
  if (!root) return "dockerd runs outside systemd, and restarting it needs root";
  return currentDockerd();
}

/** How dockerd runs now: its pid, its command line and where its output goes. */
function currentDockerd(): { pid: number; argv: string[]; log: string } {
  const pid = Number(execFileSync("pgrep", ["-x", "dockerd"], { encoding: "utf8" }).trim().split("\n")[0]);
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  let log = "/var/log/fleet-dockerd.log";
  try {
    const out = readlinkSync(`/proc/${pid}/fd/1`);
    if (out.startsWith("/") && !out.startsWith("/dev/")) log = out;
  } catch {
    // keep the default log
  }
  return { pid, argv, log };
}

/** Starts dockerd detached, as .ci/setup-docker.sh does, with the given command line and log. */
function startDockerd(argv: string[], log: string): void {
  const fd = openSync(log, "a");
  const child = spawn("setsid", ["-f", ...argv], { stdio: ["ignore", fd, fd], detached: true });
  child.unref();
  closeSync(fd);
}

/** Restarts dockerd and returns when it answers again; the finally of the test makes sure it does. */
async function restartDockerd(how: { argv: string[]; log: string; pid: number } | "systemd"): Promise<void> {
  if (how === "systemd") {
    const argv = [...(root ? [] : ["sudo", "-n"]), "systemctl", "restart", "docker"];
    execFileSync(argv[0]!, argv.slice(1), { stdio: "inherit" });
  } else {
    process.kill(how.pid, "SIGTERM");
    // dockerd stops every container first (each with its stop timeout).
    await waitFor("dockerd did not exit", () => !existsSync(`/proc/${how.pid}`), 120_000);
    startDockerd(how.argv, how.log);
  }
  await waitFor("dockerd did not answer again", answers, 90_000);
}

const method = wanted ? restartMethod() : "it runs with CI=true or FLEET_TEST_RESTART_DOCKERD=1 only";
const runs = typeof method !== "string" || method === "systemd";
if (!runs) {
  if (process.env.CI && engine) throw new Error(`docker tier: the dockerd restart test cannot run in CI: ${method}`);
  console.log(`skipped: restarting dockerd restarts every container on this engine; ${method}`);
}

describe.runIf(runs)("a dockerd restart", () => {
  const phase = phases();
  const replayer = new Replayer({ log: (l) => console.log(l) });
  const how = method as { pid: number; argv: string[]; log: string } | "systemd";

  beforeAll(async () => {
    console.log(
      `dockerd restart: stack ${STACK}, images ${REPO}, dockerd ${how === "systemd" ? how : how.argv.join(" ")}`,
    );
    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    phase("build v1");
  });

  afterAll(async () => {
    if (!answers() && how !== "systemd" && !existsSync(`/proc/${how.pid}`)) {
      console.log("dockerd restart: the engine is not answering; starting it again");
      startDockerd(how.argv, how.log);
      await waitFor("dockerd did not answer again", answers, 90_000);
    }
    await cleanUp(STACK, [REPO]);
    phase("clean up");
  });

  test("every instance answers through the proxy again within 30 s, without up", async () => {
    const fleet = await writeFleet(NAMES.map((name, k) => ({ name, port: PORT_BASE + 1 + k })));
    const config = tierConfig(REPO, PORT_BASE + 9);
    await replayer.apply(await render({ instances: fleet, version: "1.0.0", stack: STACK, config }));
    phase("create 3 instances");
    const links = await docker(["exec", `fleet-${STACK}-proxy`, "sh", "-c", "readlink /data/routes/*.sock"]);
    for (const [k] of NAMES.entries()) await answersWithin(PORT_BASE + 1 + k, "/api/health", 5000);

    const stopped = Date.now();
    try {
      await restartDockerd(how);
    } finally {
      if (!answers() && how !== "systemd") {
        startDockerd(how.argv, how.log);
        await waitFor("dockerd did not answer again", answers, 90_000);
      }
    }
    const back = Date.now();
    phase("restart dockerd");
    const times = await Promise.all(
      NAMES.map((_, k) => answersWithin(PORT_BASE + 1 + k, "/api/health", BACK_WITHIN_MS)),
    );
    console.log(
      `dockerd restart: the engine answered ${((back - stopped) / 1000).toFixed(1)} s after SIGTERM; the instances ` +
        `answered through the proxy ${times.map((t) => (t / 1000).toFixed(1)).join(", ")} s after that`,
    );
    for (const t of times) expect(t).toBeLessThan(BACK_WITHIN_MS);
    expect(await docker(["exec", `fleet-${STACK}-proxy`, "sh", "-c", "readlink /data/routes/*.sock"])).toBe(links);
    for (const name of NAMES) {
      const restarts = await docker([
        "inspect",
        "--format",
        "{{.State.Running}}",
        replayer.outputs(`${name}-app`).name as string,
      ]);
      expect(restarts).toBe("true");
    }
  });
});
