import { describe, expect, test } from "vitest";
import { makeApp } from "./helpers";

/** Routes anyone may call. Adding a route here is a deliberate, reviewed decision. */
/** Routes past the admin check whose handler checks a token itself: still 401 without one (the sweep below). */
const HANDLER_CHECKED = ["GET /api/status"];
const PUBLIC = ["GET /api/health", "GET /api/session", "GET /api/status", "GET /api/version", "POST /api/login", "POST /api/logout"];

function concrete(url: string): string {
  return url.replace(/:id\b/g, "1").replace(/:[a-zA-Z]+/g, "x");
}

describe("auth on every route (enumerated from Fastify's registered routes)", () => {
  test("the public routes are exactly the reviewed list", async () => {
    const { app } = await makeApp();
    await app.ready();
    const pub = app.routeList
      .filter((r) => r.access === "public")
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    expect(pub).toEqual(PUBLIC);
    expect(app.routeList.length).toBeGreaterThan(30);
  });

  test.each([
    ["PUBLIC_READ=false", "false"],
    ["PUBLIC_READ=true", "true"],
  ])("with %s every write and admin route answers 401 without a token", async (_name, publicRead) => {
    const { app } = await makeApp({ env: { PUBLIC_READ: publicRead } });
    await app.ready();
    const checked: string[] = [];
    for (const r of app.routeList) {
      if (PUBLIC.includes(`${r.method} ${r.url}`) && !HANDLER_CHECKED.includes(`${r.method} ${r.url}`)) continue;
      const isRead = r.method === "GET";
      const open = publicRead === "true" && isRead && r.access === "read";
      const res = await app.inject({
        method: r.method as "GET",
        url: concrete(r.url),
        ...(isRead ? {} : { payload: {} }),
      });
      if (open) {
        expect(res.statusCode, `${r.method} ${r.url}`).not.toBe(401);
      } else {
        expect([`${r.method} ${r.url}`, res.statusCode]).toEqual([`${r.method} ${r.url}`, 401]);
        expect(res.headers["www-authenticate"]).toBe('Bearer realm="fleet"');
      }
      checked.push(`${r.method} ${r.url}`);
    }
    // Every non-GET route is a write and is never readable without the token.
    const openWrites = app.routeList
      .filter((r) => r.method !== "GET" && r.access !== "admin" && !PUBLIC.includes(`${r.method} ${r.url}`))
      .map((r) => `${r.method} ${r.url}`);
    expect(openWrites).toEqual([]);
    expect(checked.length).toBe(app.routeList.length - PUBLIC.length + HANDLER_CHECKED.length);
  });

  test("a route added without an access rule requires the token (default deny)", async () => {
    const { app } = await makeApp();
    app.post("/api/new-thing", async () => ({ wrote: true }));
    expect((await app.inject({ method: "POST", url: "/api/new-thing" })).statusCode).toBe(401);
    expect(app.routeList.find((r) => r.url === "/api/new-thing")).toEqual({ method: "POST", url: "/api/new-thing", access: "admin" });
  });

  test("a wrong bearer token is refused", async () => {
    const { app } = await makeApp();
    const res = await app.inject({ url: "/api/entries", headers: { authorization: "Bearer wrong-token-wrong-token-wrong" } });
    expect(res.statusCode).toBe(401);
  });
});
