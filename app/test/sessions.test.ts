import { describe, expect, test } from "vitest";
import { loadConfig } from "../src/config";
import { AppContext } from "../src/context";
import { buildApp } from "../src/app";
import { LOGIN_ATTEMPTS_PER_MINUTE } from "../src/routes/auth";
import { makeApp, testEnv, TOKEN } from "./helpers";

const login = async (app: Awaited<ReturnType<typeof makeApp>>["app"], headers: Record<string, string> = {}) => {
  const res = await app.inject({ method: "POST", url: "/api/login", headers, payload: { token: TOKEN } });
  const c = res.cookies.find((x) => x.name === "fleet_session_test");
  return { res, cookie: c ? `fleet_session_test=${c.value}` : "" };
};

describe("sessions end on the server", () => {
  test("after logout a kept copy of the cookie no longer works; other sessions stay", async () => {
    const { app } = await makeApp();
    const a = (await login(app)).cookie;
    const b = (await login(app)).cookie;
    const admin = async (cookie: string) => (await app.inject({ url: "/api/session", headers: { cookie } })).json().admin;
    expect([await admin(a), await admin(b)]).toEqual([true, true]);
    const out = await app.inject({ method: "POST", url: "/api/logout", headers: { cookie: a }, payload: {} });
    expect([out.statusCode, out.cookies.map((c) => [c.name, c.value])]).toEqual([204, [["fleet_session_test", ""]]]);
    expect([await admin(a), await admin(b)]).toEqual([false, true]);
    const write = await app.inject({ method: "POST", url: "/api/entries", headers: { cookie: a }, payload: { typeId: 1, title: "x" } });
    expect(write.statusCode).toBe(401);
  });

  test("the page's log out ends the session too", async () => {
    const { app } = await makeApp();
    const { cookie } = await login(app);
    const csrf = (await app.inject({ url: "/api/session", headers: { cookie } })).json().csrfToken;
    const out = await app.inject({
      method: "POST",
      url: "/logout",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      payload: `_csrf=${encodeURIComponent(csrf)}`,
    });
    expect(out.statusCode).toBe(303);
    expect((await app.inject({ url: "/api/session", headers: { cookie } })).json().admin).toBe(false);
  });

  test("a session survives a restart of the app (it is stored in SQLite); a forged or tampered cookie never works", async () => {
    const first = await makeApp();
    const { cookie } = await login(first.app);
    first.ctx.close();
    const ctx = AppContext.open(loadConfig(testEnv(first.root)));
    const app = await buildApp(ctx, { logger: false });
    const admin = async (c: string) => (await app.inject({ url: "/api/session", headers: { cookie: c } })).json().admin;
    expect(await admin(cookie)).toBe(true);
    const [exp, id, mac] = cookie.split("=")[1]!.split(".") as [string, string, string];
    const later = String(Number(exp) + 3600);
    expect(await admin(`fleet_session_test=${later}.${id}.${mac}`)).toBe(false);
    expect(await admin(`fleet_session_test=${exp}.${"A".repeat(id.length)}.${mac}`)).toBe(false);
    expect(await admin(`fleet_session_test=${exp}.${mac}`)).toBe(false);
    await app.close();
    ctx.close();
  });
});

describe("login rate limit", () => {
  test(`after ${LOGIN_ATTEMPTS_PER_MINUTE} attempts a minute a client gets 429 with Retry-After; another client does not`, async () => {
    const { app } = await makeApp();
    const from = (ip: string) => ({ "x-forwarded-for": ip });
    const statuses: number[] = [];
    for (let i = 0; i < LOGIN_ATTEMPTS_PER_MINUTE; i++) {
      const token = i % 2 === 0 ? "wrong" : TOKEN;
      statuses.push((await app.inject({ method: "POST", url: "/api/login", headers: from("203.0.113.7"), payload: { token } })).statusCode);
    }
    expect(statuses).toEqual(Array.from({ length: LOGIN_ATTEMPTS_PER_MINUTE }, (_, i) => (i % 2 === 0 ? 401 : 204)));
    const limited = await app.inject({ method: "POST", url: "/api/login", headers: from("203.0.113.7"), payload: { token: TOKEN } });
    expect([limited.statusCode, limited.headers["retry-after"], limited.json()]).toEqual([
      429,
      "60",
      { statusCode: 429, error: "Too Many Requests", message: "too many login attempts from this client; retry in 1 minute" },
    ]);
    expect(limited.cookies).toEqual([]);
    expect((await login(app, from("203.0.113.8"))).res.statusCode).toBe(204);
  });
});
