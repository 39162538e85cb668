import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, test } from "vitest";
import { buildDashboard, bytes, type DashboardConfig, dashboardConfig } from "../src/dashboard";
import { duration } from "../src/duration";
import { recordStart, restartsOf } from "../src/status";
import { DASHBOARD_TOKEN, fleetOnSockets, STATUS } from "./dashboard-fixture";
import { AUTH, makeApp, tempDir } from "./helpers";

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function dashboard(config: DashboardConfig): Promise<FastifyInstance> {
  const app = await buildDashboard(config, { logger: false });
  closers.push(() => app.close());
  return app;
}

const BEARER = { authorization: `Bearer ${DASHBOARD_TOKEN}` };

describe("an instance's /api/status", () => {
  test("answers the status token and the admin, refuses anyone else, and the status token opens nothing else", async () => {
    const { app } = await makeApp({ env: { STATUS_TOKEN: STATUS.homebrews } });
    const status = { authorization: `Bearer ${STATUS.homebrews}` };
    expect((await app.inject({ url: "/api/status" })).statusCode).toBe(401);
    expect((await app.inject({ url: "/api/status", headers: { authorization: "Bearer wrong-token-0123456789abcdef" } })).statusCode).toBe(
      401,
    );
    const res = await app.inject({ url: "/api/status", headers: status });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json() as object)).toEqual([
      "instance",
      "version",
      "container",
      "uptimeSeconds",
      "restarts",
      "backup",
      "dataBytes",
    ]);
    expect((await app.inject({ url: "/api/status", headers: AUTH })).statusCode).toBe(200);
    for (const url of ["/api/backups", "/api/backups/last", "/metrics", "/api/settings"]) {
      expect([url, (await app.inject({ url, headers: status })).statusCode]).toEqual([url, 401]);
    }
  });

  test("restarts count the starts of this container", () => {
    const dir = tempDir();
    expect(restartsOf(dir, "abc")).toBeNull();
    expect([recordStart(dir, "abc"), recordStart(dir, "abc"), recordStart(dir, "def")]).toEqual([1, 2, 1]);
    expect([restartsOf(dir, "abc"), restartsOf(dir, "def")]).toEqual([1, 0]);
  });
});

describe("the dashboard", () => {
  test("needs its token: Bearer, or Basic with the token as password; health is open for the probe", async () => {
    const { config } = await fleetOnSockets();
    const app = await dashboard(config);
    const basic = (p: string) => ({ authorization: `Basic ${Buffer.from(`any:${p}`).toString("base64")}` });
    expect((await app.inject({ url: "/" })).statusCode).toBe(401);
    expect((await app.inject({ url: "/" })).headers["www-authenticate"]).toBe('Basic realm="fleet dashboard", charset="UTF-8"');
    expect((await app.inject({ url: "/api/fleet", headers: basic("wrong") })).statusCode).toBe(401);
    expect((await app.inject({ url: "/api/fleet", headers: basic(DASHBOARD_TOKEN) })).statusCode).toBe(200);
    expect((await app.inject({ url: "/fragment", headers: BEARER })).statusCode).toBe(200);
    expect((await app.inject({ url: "/api/health" })).statusCode).toBe(200);
  });

  test("rows: one down, one on the wrong version, one healthy, each read over its socket", async () => {
    const { config } = await fleetOnSockets();
    const app = await dashboard(config);
    const { rows } = (await app.inject({ url: "/api/fleet", headers: BEARER })).json() as { rows: Record<string, unknown>[] };
    const [homebrews, projects, recipes] = rows;
    expect(homebrews).toMatchObject({
      name: "homebrews",
      declared: "1.0.0",
      running: "1.0.0",
      health: "ok",
      detail: "GET /api/health: 200",
      restarts: null,
      backup: { state: "ok", error: null },
      problems: [],
    });
    expect(typeof homebrews!["dataBytes"]).toBe("number");
    expect(projects).toMatchObject({
      name: "projects",
      declared: "1.0.0",
      running: "0.9.0",
      health: "ok",
      backup: { state: "none" },
      problems: ["wrong version"],
    });
    expect(recipes).toEqual({
      name: "recipes",
      title: "Recipes",
      route: ":5003",
      declared: "1.0.0",
      running: null,
      health: "down",
      detail: "no container is listening (no socket)",
      container: null,
      uptimeSeconds: null,
      restarts: null,
      backup: { state: "off", at: null, ageSeconds: null, error: null },
      dataBytes: null,
      problems: ["down"],
    });
  });

  test("a status token the instance does not accept is a problem of its own", async () => {
    const { config } = await fleetOnSockets();
    const app = await dashboard({ ...config, statusTokens: { ...config.statusTokens, homebrews: "not-the-token-0123456789abcdef" } });
    const { rows } = (await app.inject({ url: "/api/fleet", headers: BEARER })).json() as { rows: { problems: string[] }[] };
    expect(rows[0]!.problems).toEqual(["status refused"]);
  });

  test("its environment is checked, naming the variable and never a token", () => {
    expect(() => dashboardConfig({ ADMIN_TOKEN: "short", DASHBOARD_INSTANCES: "[]" })).toThrow(
      "invalid dashboard environment:\n  ADMIN_TOKEN: must be at least 24 characters",
    );
    expect(() => dashboardConfig({ ADMIN_TOKEN: DASHBOARD_TOKEN, DASHBOARD_INSTANCES: "[{" })).toThrow(
      "invalid dashboard environment:\n  DASHBOARD_INSTANCES: not JSON",
    );
    expect(dashboardConfig({ ADMIN_TOKEN: DASHBOARD_TOKEN, DASHBOARD_INSTANCES: "[]", FLEET_STACK: "dev" })).toEqual({
      port: 8080,
      host: "0.0.0.0",
      socketDir: undefined,
      socketsDir: "/sockets",
      adminToken: DASHBOARD_TOKEN,
      stack: "dev",
      instances: [],
      statusTokens: {},
      refreshSeconds: 10,
    });
  });

  test.each([
    [42, "42 s"],
    [125, "2 min"],
    [3 * 3600 + 120, "3 h 2 min"],
    [2 * 86400 + 4 * 3600, "2 d 4 h"],
  ])("duration(%i) = %s", (s, text) => expect(duration(s)).toBe(text));
  test.each([
    [512, "512 B"],
    [12_345_678, "12.3 MB"],
  ])("bytes(%i) = %s", (n, text) => expect(bytes(n)).toBe(text));
});
