import { describe, expect, test } from "vitest";
import { AUTH, createEntry, csrfOf, makeApp } from "./helpers";

describe("JSON API", () => {
  test("entry lifecycle: create, read, change state, archive, notes, relationships", async () => {
    const { app } = await makeApp();
    const types = (await app.inject({ url: "/api/types", headers: AUTH })).json();
    expect(types.items.map((t: { key: string }) => t.key)).toEqual(["entry"]);
    const states = types.items[0].states.map((s: { name: string; open: boolean }) => [s.name, s.open]);
    expect(states).toEqual([
      ["Open", true],
      ["In progress", true],
      ["Done", false],
    ]);

    const created = await app.inject({
      method: "POST",
      url: "/api/entries",
      headers: AUTH,
      payload: { typeId: 1, title: "Batch 7", description: "Pale ale", plannedEnd: "2026-12-24" },
    });
    expect(created.statusCode).toBe(201);
    const e = created.json();
    expect({ ...e, createdAt: "x", updatedAt: "x" }).toEqual({
      id: 1,
      typeId: 1,
      typeKey: "entry",
      typeSingular: "Entry",
      stateId: 1,
      stateName: "Open",
      stateColor: "#2f6fdb",
      stateOpen: true,
      title: "Batch 7",
      description: "Pale ale",
      createdAt: "x",
      updatedAt: "x",
      plannedEnd: "2026-12-24",
      actualEnd: null,
      archived: false,
    });

    const done = await app.inject({
      method: "PATCH",
      url: "/api/entries/1",
      headers: AUTH,
      payload: { stateId: 3, actualEnd: "2026-12-20" },
    });
    expect([done.json().stateName, done.json().actualEnd]).toEqual(["Done", "2026-12-20"]);

    const note = await app.inject({ method: "POST", url: "/api/entries/1/notes", headers: AUTH, payload: { body: "Dry hopped" } });
    expect(note.statusCode).toBe(201);
    expect((await app.inject({ url: "/api/entries/1/notes", headers: AUTH })).json().items.map((n: { body: string }) => n.body)).toEqual([
      "Dry hopped",
    ]);

    const recipe = await createEntry(app, "Recipe: pale ale");
    const rel = await app.inject({
      method: "POST",
      url: "/api/entries/1/relationships",
      headers: AUTH,
      payload: { kind: "uses", toEntryId: recipe.id },
    });
    expect(rel.statusCode).toBe(201);
    const links = (await app.inject({ url: `/api/entries/${recipe.id}/relationships`, headers: AUTH })).json();
    expect(links.outgoing).toEqual([]);
    expect(links.incoming.map((r: { fromTitle: string; kind: string; toTitle: string }) => [r.fromTitle, r.kind, r.toTitle])).toEqual([
      ["Batch 7", "uses", "Recipe: pale ale"],
    ]);
    const dup = await app.inject({
      method: "POST",
      url: "/api/entries/1/relationships",
      headers: AUTH,
      payload: { kind: "uses", toEntryId: recipe.id },
    });
    expect(dup.json()).toEqual({ statusCode: 409, error: "Conflict", message: `entry 1 already uses entry ${recipe.id}` });

    const archived = await app.inject({ method: "PATCH", url: "/api/entries/1", headers: AUTH, payload: { archived: true } });
    expect(archived.json().archived).toBe(true);
    const active = (await app.inject({ url: "/api/entries", headers: AUTH })).json();
    expect([active.total, active.items.map((x: { title: string }) => x.title)]).toEqual([1, ["Recipe: pale ale"]]);
    const onlyArchived = (await app.inject({ url: "/api/entries?archived=true", headers: AUTH })).json();
    expect(onlyArchived.items.map((x: { title: string }) => x.title)).toEqual(["Batch 7"]);
  });

  test("entry types: create with states, a state of another type is refused", async () => {
    const { app } = await makeApp();
    const res = await app.inject({
      method: "POST",
      url: "/api/types",
      headers: AUTH,
      payload: {
        key: "recipe",
        singular: "Recipe",
        plural: "Recipes",
        states: [
          { name: "Draft", color: "#aaaaaa", open: true },
          { name: "Final", color: "#00aa00", open: false },
        ],
      },
    });
    expect(res.statusCode).toBe(201);
    const type = res.json();
    expect(type.states.map((s: { name: string; position: number }) => [s.name, s.position])).toEqual([
      ["Draft", 0],
      ["Final", 1],
    ]);
    const bad = await app.inject({
      method: "POST",
      url: "/api/entries",
      headers: AUTH,
      payload: { typeId: type.id, stateId: 1, title: "x" },
    });
    expect(bad.json()).toEqual({
      statusCode: 400,
      error: "Bad Request",
      message: `stateId: state 1 does not belong to entry type ${type.id}`,
      field: "stateId",
    });
    const again = await app.inject({
      method: "POST",
      url: "/api/types",
      headers: AUTH,
      payload: { key: "recipe", singular: "R", plural: "Rs", states: [{ name: "A", color: "#000000", open: true }] },
    });
    expect(again.json().message).toBe("key: an entry type with key recipe already exists");
  });

  test("full-text search over title, description and notes, with filters and paging", async () => {
    const { app } = await makeApp();
    const a = await createEntry(app, "Stout", "roasted barley");
    await createEntry(app, "Lager", "clean and crisp");
    const c = await createEntry(app, "IPA", "bitter");
    await app.inject({ method: "POST", url: `/api/entries/${c.id}/notes`, headers: AUTH, payload: { body: "Added more Citra hops" } });
    for (let i = 0; i < 25; i++) await createEntry(app, `Filler ${i}`);

    const search = async (qs: string) => (await app.inject({ url: `/api/entries?${qs}`, headers: AUTH })).json();
    expect((await search("q=roast")).items.map((e: { id: number }) => e.id)).toEqual([a.id]);
    expect((await search("q=citra")).items.map((e: { id: number }) => e.id)).toEqual([c.id]);
    const fillers = await search("q=fill&limit=3&offset=1");
    expect([fillers.total, fillers.items.map((e: { title: string }) => e.title)]).toEqual([25, ["Filler 23", "Filler 22", "Filler 21"]]);
    expect((await search("q=" + encodeURIComponent('NEAR("x" AND) *'))).total).toBe(0);
    const page1 = await search("limit=10&offset=0");
    const page3 = await search("limit=10&offset=20");
    expect([page1.total, page1.items.length, page3.items.length]).toEqual([28, 10, 8]);
    expect(page1.items[0].title).toBe("Filler 24");
    await app.inject({ method: "PATCH", url: `/api/entries/${a.id}`, headers: AUTH, payload: { stateId: 3 } });
    expect((await search("open=false")).items.map((e: { id: number }) => e.id)).toEqual([a.id]);
    expect((await search("state=3")).total).toBe(1);
    expect((await search("type=1")).total).toBe(28);
    expect(await search("limit=500")).toEqual({
      statusCode: 400,
      error: "Bad Request",
      message: "limit: must be an integer from 1 to 100",
      field: "limit",
    });
  });

  test("400 names the field; bad JSON is a 400 on body; unknown routes are a JSON 404", async () => {
    const { app } = await makeApp();
    const cases: [unknown, string, string][] = [
      [{ typeId: 1 }, "title", "title: Invalid input: expected string, received undefined"],
      [{ typeId: 1, title: "   " }, "title", "title: is required"],
      [{ typeId: "x", title: "a" }, "typeId", "typeId: must be a positive integer"],
      [{ typeId: 1, title: "a", plannedEnd: "2026-02-30" }, "plannedEnd", "plannedEnd: is not a real calendar date"],
      [{ typeId: 1, title: "a", colour: "red" }, "colour", "colour: is not a known field"],
    ];
    for (const [payload, field, message] of cases) {
      const res = await app.inject({ method: "POST", url: "/api/entries", headers: AUTH, payload: payload as object });
      expect(res.json()).toEqual({ statusCode: 400, error: "Bad Request", message, field });
    }
    const badJson = await app.inject({
      method: "POST",
      url: "/api/entries",
      headers: { ...AUTH, "content-type": "application/json" },
      payload: "{nope",
    });
    expect([badJson.statusCode, badJson.json().field]).toEqual([400, "body"]);
    const missing = await app.inject({ url: "/api/nothing-here", headers: AUTH });
    expect(missing.json()).toEqual({ statusCode: 404, error: "Not Found", message: "no such route (GET); see the API list in the README" });
    const noEntry = await app.inject({ url: "/api/entries/999", headers: AUTH });
    expect(noEntry.json()).toEqual({ statusCode: 404, error: "Not Found", message: "entry 999 not found" });
  });

  test("5xx responses hide internals", async () => {
    const { app } = await makeApp();
    app.get("/api/test-boom", async () => {
      throw new Error("secret detail: /data/app.db is on fire");
    });
    const res = await app.inject({ url: "/api/test-boom", headers: AUTH });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      statusCode: 500,
      error: "Internal Server Error",
      message: `internal error (request ${res.json().message.match(/request (\S+)\)/)[1]}); see the server log`,
    });
    expect(res.body).not.toContain("secret");
  });

  test("settings: defaults from code, stored values override, unknown or secret-looking keys refused", async () => {
    const { app } = await makeApp();
    const defaults = (await app.inject({ url: "/api/settings", headers: AUTH })).json();
    expect(defaults).toEqual({
      title: "Test Instance",
      subtitle: "",
      theme: "light",
      labels: { entry: "Entry", entries: "Entries", note: "Note", notes: "Notes", attachments: "Attachments" },
    });
    const changed = await app.inject({
      method: "PATCH",
      url: "/api/settings",
      headers: AUTH,
      payload: { theme: "dark", labels: { entries: "Batches" } },
    });
    expect(changed.json()).toEqual({ ...defaults, theme: "dark", labels: { ...defaults.labels, entries: "Batches" } });
    const secret = await app.inject({ method: "PATCH", url: "/api/settings", headers: AUTH, payload: { adminToken: "x" } });
    expect(secret.json()).toEqual({
      statusCode: 400,
      error: "Bad Request",
      message: "adminToken: is not a known field",
      field: "adminToken",
    });
    const theme = await app.inject({ method: "PATCH", url: "/api/settings", headers: AUTH, payload: { theme: "neon" } });
    expect(theme.json().message).toBe("theme: must be one of light, dark, forest, ocean, amber");
  });

  test("login sets a session cookie that authorizes; logout clears it; a wrong token is refused", async () => {
    const { app } = await makeApp();
    const wrong = await app.inject({ method: "POST", url: "/api/login", payload: { token: "nope" } });
    expect(wrong.json()).toEqual({ statusCode: 401, error: "Unauthorized", message: "token: wrong admin token", field: "token" });
    const login = await app.inject({ method: "POST", url: "/api/login", payload: { token: AUTH.authorization.slice(7) } });
    expect(login.statusCode).toBe(204);
    const cookie = login.cookies.find((c) => c.name === "fleet_session_test")!;
    expect([cookie.httpOnly, cookie.sameSite, cookie.path]).toEqual([true, "Lax", "/"]);
    const withCookie = await app.inject({ url: "/api/entries", cookies: { fleet_session_test: cookie.value } });
    expect(withCookie.statusCode).toBe(200);
    const forged = await app.inject({
      url: "/api/entries",
      cookies: { fleet_session_test: `${Math.floor(Date.now() / 1000) + 999}.forged` },
    });
    expect(forged.statusCode).toBe(401);
    const session = await app.inject({ url: "/api/session", cookies: { fleet_session_test: cookie.value } });
    expect(session.json()).toEqual({ admin: true, publicRead: false, csrfToken: csrfOf(cookie.value) });
    const form = await app.inject({
      method: "POST",
      url: "/api/login",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: `token=${encodeURIComponent(AUTH.authorization.slice(7))}`,
    });
    expect(form.statusCode).toBe(204);
    const logout = await app.inject({ method: "POST", url: "/api/logout" });
    expect(logout.cookies.find((c) => c.name === "fleet_session_test")!.value).toBe("");
  });

  test("each instance has its own session cookie: a login to one leaves another's session alone", async () => {
    // Same host, same admin token, different ports: a browser sends both instances every cookie.
    const alpha = (await makeApp({ env: { APP_NAME: "alpha" } })).app;
    const beta = (await makeApp({ env: { APP_NAME: "beta" } })).app;
    const token = AUTH.authorization.slice(7);
    const loginA = await alpha.inject({ method: "POST", url: "/api/login", payload: { token } });
    const loginB = await beta.inject({ method: "POST", url: "/api/login", payload: { token } });
    expect(loginA.cookies.map((c) => c.name)).toEqual(["fleet_session_alpha"]);
    expect(loginB.cookies.map((c) => c.name)).toEqual(["fleet_session_beta"]);
    const jar = { fleet_session_alpha: loginA.cookies[0]!.value, fleet_session_beta: loginB.cookies[0]!.value };
    expect((await alpha.inject({ url: "/api/session", cookies: jar })).json()).toEqual({
      admin: true,
      publicRead: false,
      csrfToken: csrfOf(jar.fleet_session_alpha),
    });
    expect((await beta.inject({ url: "/api/session", cookies: jar })).json()).toEqual({
      admin: true,
      publicRead: false,
      csrfToken: csrfOf(jar.fleet_session_beta),
    });
    const onlyAlpha = { fleet_session_alpha: jar.fleet_session_alpha };
    expect((await beta.inject({ url: "/api/entries", cookies: onlyAlpha })).statusCode).toBe(401);
    const logoutB = await beta.inject({ method: "POST", url: "/api/logout", cookies: jar, payload: {} });
    expect(logoutB.cookies.map((c) => [c.name, c.value])).toEqual([["fleet_session_beta", ""]]);
  });

  test("PUBLIC_READ=true opens reads, not writes", async () => {
    const { app } = await makeApp({ env: { PUBLIC_READ: "true" } });
    expect((await app.inject({ url: "/api/entries" })).statusCode).toBe(200);
    expect((await app.inject({ method: "POST", url: "/api/entries", payload: { typeId: 1, title: "x" } })).statusCode).toBe(401);
    expect((await app.inject({ url: "/api/backups" })).statusCode).toBe(401);
    expect((await app.inject({ url: "/metrics" })).statusCode).toBe(401);
  });

  test("health, version and metrics", async () => {
    const { app, ctx } = await makeApp();
    const health = await app.inject({ url: "/api/health" });
    expect([health.statusCode, health.json()]).toEqual([
      200,
      {
        status: "ok",
        version: "1.0.0",
        schemaVersion: 5,
        checks: { database: "ok", migrations: "ok", dataDir: "ok", backupDir: "ok", maintenance: "off" },
      },
    ]);
    ctx.maintenance = true;
    const during = await app.inject({ url: "/api/health" });
    expect([during.statusCode, during.json().status, during.json().checks.maintenance]).toEqual([503, "maintenance", "on"]);
    expect((await app.inject({ url: "/api/entries", headers: AUTH })).statusCode).toBe(503);
    ctx.maintenance = false;
    expect((await app.inject({ url: "/api/version" })).json()).toEqual({
      version: "1.0.0",
      revision: "unknown",
      buildDate: "unknown",
      schemaVersion: 5,
      node: process.version,
    });
    await createEntry(app, "counted");
    await app.inject({ method: "POST", url: "/api/backups", headers: AUTH, payload: {} });
    const metrics = await app.inject({ url: "/metrics", headers: AUTH });
    expect(metrics.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const lines = metrics.body.split("\n");
    expect(lines).toContain("fleet_entries 1");
    expect(lines).toContain("fleet_schema_version 5");
    expect(lines).toContain("fleet_backup_last_success 1");
    const last = (await app.inject({ url: "/api/backups/last", headers: AUTH })).json();
    expect([last.lastRun.ok, last.lastRun.reason, last.newest.id]).toEqual([true, "manual", last.lastRun.id]);
    const line = (name: string) => lines.find((l) => l.startsWith(`${name} `));
    expect(line("fleet_backup_last_age_seconds")).toMatch(/^fleet_backup_last_age_seconds 0(\.\d+)?$/);
    expect(line("fleet_db_size_bytes")).toMatch(/^fleet_db_size_bytes [1-9]\d*$/);
    expect(lines).toContain('fleet_http_request_duration_seconds_count{method="POST",route="/api/entries",status_code="201"} 1');
  });
});
