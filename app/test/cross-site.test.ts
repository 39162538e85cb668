import type { FastifyInstance } from "fastify";
import { describe, expect, test } from "vitest";
import { AUTH, createEntry, csrfOf, makeApp, multipart, TOKEN } from "./helpers";

const OWN = "localhost:5001";
const EVIL = "http://localhost:5002"; // another instance on the same host: the same site

function concrete(url: string): string {
  return url.replace(/:id\b/g, "1").replace(/:[a-zA-Z]+/g, "x");
}

/** A logged-in app whose every `:id` (entry, note, attachment, relationship, type, state) names a row. */
async function seeded() {
  const t = await makeApp();
  const { app } = t;
  const a = await createEntry(app, "one");
  const b = await createEntry(app, "two");
  await app.inject({ method: "POST", url: `/api/entries/${a.id}/notes`, headers: AUTH, payload: { body: "note" } });
  await app.inject({ method: "POST", url: `/api/entries/${a.id}/attachments`, ...multipart("a.txt", "bytes") });
  await app.inject({
    method: "POST",
    url: `/api/entries/${a.id}/relationships`,
    headers: AUTH,
    payload: { kind: "uses", toEntryId: b.id },
  });
  const login = await app.inject({ method: "POST", url: "/api/login", payload: { token: TOKEN } });
  const cookie = `fleet_session_test=${login.cookies.find((c) => c.name === "fleet_session_test")!.value}`;
  return { ...t, cookie };
}

/** Everything a write could change, to prove that a refused request changed nothing. */
async function state(app: FastifyInstance, cookie: string) {
  const get = async (url: string) => (await app.inject({ url, headers: AUTH })).body;
  return {
    entries: await get("/api/entries?archived=all&limit=100"),
    notes: await get("/api/entries/1/notes"),
    attachments: await get("/api/entries/1/attachments"),
    relationships: await get("/api/entries/1/relationships"),
    types: await get("/api/types"),
    settings: await get("/api/settings"),
    backups: (await app.inject({ url: "/api/backups", headers: AUTH })).json().items.length,
    session: (await app.inject({ url: "/api/session", headers: { cookie } })).json().admin,
  };
}

/** The bodies a page of another origin can send without a CORS preflight. */
const SIMPLE_BODIES: [string, () => { payload: string | Buffer; headers: Record<string, string> }][] = [
  ["a form", () => ({ payload: "title=x&typeId=1&keep=1&token=x", headers: { "content-type": "application/x-www-form-urlencoded" } })],
  [
    "a multipart form",
    () => {
      const m = multipart("x.txt", "x");
      return { payload: m.payload, headers: { "content-type": m.headers["content-type"]! } };
    },
  ],
  ["text/plain", () => ({ payload: '{"title":"x","typeId":1,"keep":1}', headers: { "content-type": "text/plain" } })],
  ["no body", () => ({ payload: "", headers: {} })],
  // A browser reads a list as its last valid type: text/plain, which needs no preflight.
  ["application/json, text/plain", () => ({ payload: '{"title":"x"}', headers: { "content-type": "application/json, text/plain" } })],
];

describe("cross-site writes with the session cookie (every write route, from Fastify's route table)", () => {
  test.each(SIMPLE_BODIES)("%s from another origin, or from another site, is refused on every write route", async (_name, body) => {
    const { app, cookie } = await seeded();
    const before = await state(app, cookie);
    const writes = app.routeList.filter((r) => r.method !== "GET");
    expect(writes.length).toBeGreaterThan(20);
    const results: string[] = [];
    for (const r of writes) {
      for (const from of [{ origin: EVIL }, { "sec-fetch-site": "same-site" }, { referer: `${EVIL}/page` }, { origin: "null" }]) {
        const b = body();
        const res = await app.inject({
          method: r.method as "POST",
          url: concrete(r.url),
          headers: { ...b.headers, ...from, cookie, host: OWN },
          payload: b.payload,
        });
        results.push(`${r.method} ${r.url} ${Object.keys(from)[0]}: ${res.statusCode} ${res.json().message.split(":")[0]}`);
      }
    }
    expect(results).toEqual(
      writes.flatMap((r) =>
        ["origin", "sec-fetch-site", "referer", "origin"].map((h) => `${r.method} ${r.url} ${h}: 403 cross-site request refused`),
      ),
    );
    expect(await state(app, cookie)).toEqual(before);
  });

  test.each(SIMPLE_BODIES)("%s without a CSRF token is refused on every write route, even from this origin", async (_name, body) => {
    const { app, cookie } = await seeded();
    const before = await state(app, cookie);
    const writes = app.routeList.filter((r) => r.method !== "GET");
    const refused: string[] = [];
    for (const r of writes) {
      const b = body();
      const res = await app.inject({
        method: r.method as "POST",
        url: concrete(r.url),
        headers: { ...b.headers, origin: `http://${OWN}`, cookie, host: OWN },
        payload: b.payload,
      });
      // The pages' form routes answer with their own CSRF message (src/web/csrf.ts), or 415 for a
      // body type no form sends; the API with the app-wide one.
      if (res.statusCode === 403 || (res.statusCode === 415 && r.url.startsWith("/api/") === false)) refused.push(`${r.method} ${r.url}`);
    }
    expect(refused).toEqual(writes.map((r) => `${r.method} ${r.url}`));
    expect(await state(app, cookie)).toEqual(before);
  });

  test("the API refuses a cookie-authenticated non-JSON write with a message that says what to send", async () => {
    const { app, cookie } = await seeded();
    const res = await app.inject({
      method: "POST",
      url: "/api/backups/x/restore",
      headers: { cookie, "content-type": "text/plain" },
      payload: "",
    });
    expect(res.json()).toEqual({
      statusCode: 403,
      error: "Forbidden",
      message:
        "cross-site request refused: a write with a session cookie must send Content-Type: application/json, or the session's token in the x-csrf-token header (from GET /api/session)",
    });
    const cross = await app.inject({
      method: "POST",
      url: "/api/entries",
      headers: { cookie, origin: EVIL, host: OWN },
      payload: { typeId: 1, title: "x" },
    });
    expect(cross.json().message).toBe(`cross-site request refused: the request came from another origin ("${EVIL}"), not http://${OWN}`);
  });

  test("same-origin JSON and the x-csrf-token header work with the cookie; Bearer requests are unaffected", async () => {
    const { app, cookie } = await seeded();
    const json = await app.inject({
      method: "POST",
      url: "/api/entries",
      headers: { cookie, origin: `http://${OWN}`, host: OWN },
      payload: { typeId: 1, title: "same origin" },
    });
    expect([json.statusCode, json.json().title]).toEqual([201, "same origin"]);
    const noOrigin = await app.inject({ method: "PATCH", url: "/api/entries/1", headers: { cookie }, payload: { title: "renamed" } });
    expect([noOrigin.statusCode, noOrigin.json().title]).toEqual([200, "renamed"]);
    const session = (await app.inject({ url: "/api/session", headers: { cookie } })).json();
    expect(session.csrfToken).toBe(csrfOf(cookie.split("=")[1]!));
    const del = (token: string) =>
      app.inject({ method: "DELETE", url: "/api/relationships/1", headers: { cookie, "x-csrf-token": token } });
    expect((await del("x".repeat(43))).json().message).toBe(
      "cross-site request refused: the x-csrf-token header does not match your session; read it again from GET /api/session",
    );
    expect((await del(session.csrfToken)).statusCode).toBe(204);
    const upload = multipart("b.txt", "upload with the header");
    const up = await app.inject({
      method: "POST",
      url: "/api/entries/1/attachments",
      headers: {
        cookie,
        "content-type": upload.headers["content-type"]!,
        "x-csrf-token": session.csrfToken,
        origin: `http://${OWN}`,
        host: OWN,
      },
      payload: upload.payload,
    });
    expect([up.statusCode, up.json().filename]).toEqual([201, "b.txt"]);
    // A Bearer token cannot come from another page: a form body from anywhere still works with it.
    const bearer = await app.inject({
      method: "POST",
      url: "/api/backups",
      headers: { ...AUTH, origin: EVIL, host: OWN, "content-type": "application/x-www-form-urlencoded" },
      payload: "reason=manual",
    });
    expect(bearer.statusCode).toBe(201);
  });

  test("a cross-origin logout or login is refused; a same-origin form login without a session still works", async () => {
    const { app, cookie } = await seeded();
    const logout = await app.inject({ method: "POST", url: "/api/logout", headers: { cookie, origin: EVIL, host: OWN }, payload: {} });
    expect(logout.statusCode).toBe(403);
    expect((await app.inject({ url: "/api/session", headers: { cookie } })).json().admin).toBe(true);
    const login = await app.inject({ method: "POST", url: "/api/login", headers: { origin: EVIL, host: OWN }, payload: { token: TOKEN } });
    expect([login.statusCode, login.cookies]).toEqual([403, []]);
    const form = await app.inject({
      method: "POST",
      url: "/api/login",
      headers: { origin: `http://${OWN}`, host: OWN, "content-type": "application/x-www-form-urlencoded" },
      payload: `token=${TOKEN}`,
    });
    expect(form.statusCode).toBe(204);
  });
});
