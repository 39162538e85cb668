/**
 * The fleet dashboard on the real engine, behind the real proxy: a three-instance fleet with
 * `fleet:dashboardPort`, applied by the replayer. d1 is stopped (`docker stop`), d3 runs another
 * version than it declares (its pinned tag 1.1.0 points at the 1.0.0 build, as a re-pushed or
 * mis-pushed tag would), d2 is fine. Through the proxy's dashboard port: 401 without the token;
 * with it, the page and its data show exactly those states; in Chromium (when installed) the open
 * page marks both rows within one refresh. The dashboard container gets the sockets volume only
 * and runs as the app user.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { appendFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type * as Playwright from "../../app/node_modules/playwright-core";
import type { StatusRow } from "../../app/src/dashboard";
import { stackDockerNames } from "../../components/naming";
import {
  buildAppImage,
  cleanUp,
  phases,
  portBlock,
  pushForDigest,
  render,
  ROOT,
  tierConfig,
  tierEngine,
  writeFleet,
} from "./engine";
import { docker, Replayer } from "./replay";

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `dash${RUN_ID}`;
const REPO = `fleet-dash-${RUN_ID}/app`;
const PORT_BASE = portBlock(21000, 1000);
const PORT = { d1: PORT_BASE + 1, d2: PORT_BASE + 2, d3: PORT_BASE + 3 };
const DASHBOARD_PORT = PORT_BASE + 5;
const ADMIN_PORT = PORT_BASE + 9;
/** The component's default (DASHBOARD_REFRESH_SECONDS is not set by the program). */
const REFRESH_SECONDS = 10;
/** Debian's Chromium, as app/test/browser.ts finds it; never downloaded. */
const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test", "artifacts");

const engine = tierEngine();
const phase = phases();
const replayer = new Replayer({ log: (l) => console.log(l) });
let token = "";

const dashboard = (path: string, auth?: string) =>
  fetch(`http://127.0.0.1:${DASHBOARD_PORT}${path}`, {
    headers: auth === undefined ? {} : { authorization: auth },
    signal: AbortSignal.timeout(10_000),
  });

async function fleetRows(): Promise<StatusRow[]> {
  const res = await dashboard("/api/fleet", `Bearer ${token}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: StatusRow[] }).rows;
}

/** What an operator reads first in each row: name, declared, running, health, problems. */
const summary = (rows: readonly StatusRow[]) => rows.map((r) => [r.name, r.declared, r.running, r.health, r.problems]);

const appContainer = (instance: string) => replayer.outputs(`${instance}-app`).name as string;

describe.runIf(engine)("the fleet dashboard behind the real proxy", () => {
  beforeAll(async () => {
    console.log(`dashboard tier: stack ${STACK}, images ${REPO}, ports ${PORT_BASE}+`);
    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    // d3's pinned tag points at the 1.0.0 build: it runs 1.0.0 where 1.1.0 is declared.
    await docker(["tag", `${REPO}:1.0.0`, `${REPO}:1.1.0`]);
    await pushForDigest(`${REPO}:1.1.0`);
    phase("build");
    const dir = await writeFleet([
      { name: "d1", port: PORT.d1 },
      { name: "d2", port: PORT.d2 },
      { name: "d3", port: PORT.d3 },
    ]);
    await appendFile(join(dir, "d3.yaml"), "version: 1.1.0\n");
    const config = { ...tierConfig(REPO, ADMIN_PORT), "fleet:dashboardPort": String(DASHBOARD_PORT) };
    await replayer.apply(await render({ instances: dir, version: "1.0.0", stack: STACK, config }));
    token = replayer.outputs("dashboard-token").result as string;
    phase("apply");
  });

  afterAll(async () => {
    await cleanUp(STACK, [REPO]);
    phase("clean up");
  });

  test("through the proxy: 401 without the token or with a wrong one; with it, the page and its data", async () => {
    for (const path of ["/", "/fragment", "/api/fleet"]) {
      for (const auth of [
        undefined,
        "Bearer wrong-token-wrong-token-wrong-token",
        "Basic " + btoa(`admin:${token}x`),
      ]) {
        const res = await dashboard(path, auth);
        expect([path, auth?.split(" ")[0], res.status, res.headers.get("www-authenticate")]).toEqual([
          path,
          auth?.split(" ")[0],
          401,
          'Basic realm="fleet dashboard", charset="UTF-8"',
        ]);
      }
    }
    const page = await dashboard("/", `Bearer ${token}`);
    expect([page.status, page.headers.get("content-type")]).toEqual([200, "text/html; charset=utf-8"]);
    const text = await page.text();
    expect(text).toContain(`<title>fleet ${STACK} dashboard</title>`);
    expect(text).toContain(`Refreshes every ${REFRESH_SECONDS} s.`);
    // A browser's login prompt sends the token as the Basic password.
    expect((await dashboard("/", "Basic " + btoa(`admin:${token}`))).status).toBe(200);
    expect(summary(await fleetRows())).toEqual([
      ["d1", "1.0.0", "1.0.0", "ok", []],
      ["d2", "1.0.0", "1.0.0", "ok", []],
      ["d3", "1.1.0", "1.0.0", "ok", ["wrong version"]],
    ]);
  });

  test("in Chromium: the open page marks d1 down within one refresh of its container stopping, and d3's wrong version", async (ctx) => {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI === "true") throw new Error(`CI=true but ${CHROMIUM} is missing: apt-get install -y chromium`);
      ctx.skip(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
    }
    // playwright-core is the app package's dev dependency (its browser tests use it).
    const { chromium } = createRequire(join(ROOT, "app", "package.json"))("playwright-core") as typeof Playwright;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    try {
      // Headless Chromium cannot answer a Basic prompt: the token goes in a header.
      const context = await browser.newContext({
        extraHTTPHeaders: { authorization: `Bearer ${token}` },
        viewport: { width: 1280, height: 720 },
      });
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${DASHBOARD_PORT}/`);
      const banner = page.locator(".summary");
      expect(await banner.innerText()).toBe("1 of 3 instances needs attention: d3 (wrong version)");
      await docker(["stop", appContainer("d1")]);
      const stoppedAt = Date.now();
      // No reload: the page's own refresh (every REFRESH_SECONDS) must bring it.
      await expect
        .poll(() => banner.innerText(), { timeout: (REFRESH_SECONDS + 5) * 1000, interval: 100 })
        .toContain("2 of 3 instances need attention");
      console.log(
        `the page showed d1 down ${Date.now() - stoppedAt} ms after docker stop returned (refresh ${REFRESH_SECONDS} s)`,
      );
      expect((await banner.innerText()).replace(/\s+/g, " ")).toBe(
        "2 of 3 instances need attention: d1 (down); d3 (wrong version)",
      );
      const row = (name: string) =>
        page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: new RegExp(`^${name}\\b`) }) });
      expect(await row("d1").getAttribute("class")).toBe("off");
      expect(await row("d3").getAttribute("class")).toBe("off");
      expect(await row("d2").getAttribute("class")).toBe("");
      expect(await row("d1").getByRole("cell").nth(2).locator(".badge").innerText()).toBe("DOWN");
      expect(await row("d3").getByRole("cell").nth(1).innerText()).toBe("WRONG VERSION\nrunning 1.0.0, declared 1.1.0");
      expect(await row("d2").getByRole("cell").nth(2).locator(".badge").innerText()).toBe("OK");
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, "dashboard-docker-tier.png");
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`screenshot: ${shot}`);
    } finally {
      await browser.close();
    }
  });

  test("the data: d1 down with no answer, d3 on the wrong version, d2 healthy", async () => {
    // Stopped by the Chromium test when it ran; stopping a stopped container is a no-op.
    await docker(["stop", appContainer("d1")]);
    const rows = await fleetRows();
    expect(summary(rows)).toEqual([
      ["d1", "1.0.0", null, "down", ["down"]],
      ["d2", "1.0.0", "1.0.0", "ok", []],
      ["d3", "1.1.0", "1.0.0", "ok", ["wrong version"]],
    ]);
    expect(rows[0]!.detail).toBe("no container is listening (no socket)");
    const short = async (instance: string) =>
      (await docker(["inspect", "--format", "{{.Id}}", appContainer(instance)])).slice(0, 12);
    expect(rows.map((r) => [r.container, r.route, r.backup.state])).toEqual([
      [null, `:${PORT.d1}`, "off"],
      [await short("d2"), `:${PORT.d2}`, "off"],
      [await short("d3"), `:${PORT.d3}`, "off"],
    ]);
    // The fragment the page reloads says the same.
    const fragment = await (await dashboard("/fragment", `Bearer ${token}`)).text();
    expect(fragment.replace(/\s+/g, " ")).toContain(
      "2 of 3 instances need attention: <strong>d1</strong> (down); <strong>d3</strong> (wrong version)",
    );
  });

  test("the dashboard container: the sockets volume is its only mount; no Docker socket; non-root, read-only, no capabilities", async () => {
    const name = replayer.outputs("dashboard-app").name as string;
    const [inspect] = JSON.parse(await docker(["inspect", name])) as {
      Mounts: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[];
      Config: { User: string };
      HostConfig: {
        Binds: string[] | null;
        Mounts?: unknown[] | null;
        Privileged: boolean;
        ReadonlyRootfs: boolean;
        CapDrop: string[] | null;
        CapAdd: string[] | null;
        NetworkMode: string;
        PidMode: string;
        IpcMode: string;
        Devices: unknown[] | null;
        Tmpfs: Record<string, string> | null;
      };
    }[];
    const sockets = stackDockerNames(STACK).proxySockets;
    expect(inspect!.Mounts.map((m) => [m.Type, m.Name, m.Destination, m.RW])).toEqual([
      ["volume", sockets, "/sockets", true],
    ]);
    const h = inspect!.HostConfig;
    expect([h.Binds, h.Mounts ?? null, h.Devices ?? []]).toEqual([[`${sockets}:/sockets`], null, []]);
    expect([h.Privileged, h.ReadonlyRootfs, h.CapDrop, h.CapAdd, h.NetworkMode, h.PidMode, h.IpcMode]).toEqual([
      false,
      true,
      ["ALL"],
      null,
      "bridge",
      "",
      "private",
    ]);
    expect(h.Tmpfs).toEqual({ "/tmp": "rw,noexec,nosuid,size=16m" });
    expect(inspect!.Config.User).toBe("10001:10001");
    expect(await docker(["exec", name, "id", "-u"])).toBe("10001");
    // Nothing of the Docker socket inside.
    expect(await docker(["exec", name, "sh", "-c", "ls /var/run/docker.sock /run/docker.sock 2>&1 || true"])).toBe(
      "ls: cannot access '/var/run/docker.sock': No such file or directory\nls: cannot access '/run/docker.sock': No such file or directory",
    );
  });
});
