import { describe, expect, test } from "vitest";
import { html, trusted } from "../src/web/html";
import { safeNext } from "../src/web/routes";
import { AUTH, createEntry, FORM, HTML, makeApp, session } from "./helpers";

type App = Awaited<ReturnType<typeof makeApp>>["app"];

const count = async (app: App) => (await app.inject({ url: "/api/entries?archived=all", headers: AUTH })).json().total as number;

describe("html tagged template", () => {
  test.each([
    ["text", html`<p>${"<script>alert('x')</script> & co"}</p>`, "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co</p>"],
    ["attribute", html`<a title="${'"><img src=x onerror=1>'}">`, '<a title="&quot;&gt;&lt;img src=x onerror=1&gt;">'],
    ["nested and arrays", html`<ul>${["a<", "b"].map((x) => html`<li>${x}</li>`)}</ul>`, "<ul><li>a&lt;</li><li>b</li></ul>"],
    ["null, undefined, false vanish; numbers and true print", html`${null}${undefined}${false}${0}${true}`, "0true"],
    ["trusted is kept", html`<style>${trusted("a>b{}")}</style>`, "<style>a>b{}</style>"],
  ])("%s", (_name, got, want) => {
    expect(got.value).toBe(want);
  });
});

describe("safeNext (where the login form goes afterwards)", () => {
  test.each([
    ["/entries/3", "/entries/3"],
    ["/?q=saison&page=2", "/?q=saison&page=2"],
    ["//evil.example/", "/"],
    ["/\\evil.example", "/"],
    ["https://evil.example/", "/"],
    ["/login?next=/x", "/"],
    [undefined, "/"],
    [["/a", "/b"], "/a"],
    // browsers drop tabs and newlines and read \ as /, so each of these is //evil.example
    ["/\t/evil.example", "/"],
    ["/\n/evil.example", "/"],
    ["/\r\n/evil.example", "/"],
    ["\t//evil.example", "/"],
    ["/\\/evil.example", "/"],
    ["/%2F/evil.example", "/%2F/evil.example"],
    ["/./login", "/"],
    ["/a/../login?next=//evil", "/"],
    ["/\u0000x", "/"],
    ["/\u202Eevil", "/"],
    ["/caf\u00e9?q=\u4e2d", "/caf%C3%A9?q=%E4%B8%AD"],
    ["/a b#frag", "/a%20b#frag"],
    ["javascript:alert(1)", "/"],
    ["/@evil.example", "/@evil.example"],
  ])("%j -> %s", (input, want) => {
    expect(safeNext(input)).toBe(want);
  });
});

describe("pages", () => {
  test("without a session a page is the API's 401, with the login form as its HTML body", async () => {
    const { app } = await makeApp();
    const res = await app.inject({ url: "/entries/new?x=1", headers: HTML });
    expect(res.statusCode).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="fleet"');
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["content-security-policy"]).toMatch(/^default-src 'none'; style-src 'nonce-[A-Za-z0-9+/=]+'; script-src 'nonce-/);
    expect(res.body).toContain('<form class="card" id="login" method="post" action="/api/login" data-next="/entries/new?x=1">');
    expect(res.body).toContain("<title>Log in · Test Instance</title>");
    // A client that asks for JSON still gets the API's JSON error.
    const json = await app.inject({ url: "/entries/new" });
    expect(json.statusCode).toBe(401);
    expect(json.json().statusCode).toBe(401);
  });

  test("titles and descriptions are escaped on the list and the entry page", async () => {
    const { app } = await makeApp();
    const { id } = await createEntry(app, `<img src=x onerror="alert(1)">`, "<script>alert(2)</script>");
    const list = await app.inject({ url: "/", headers: { ...AUTH, ...HTML } });
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain(`<a href="/entries/${id}">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</a>`);
    expect(list.body).not.toContain("<img");
    const one = await app.inject({ url: `/entries/${id}`, headers: { ...AUTH, ...HTML } });
    expect(one.body).toContain('<div class="desc">&lt;script&gt;alert(2)&lt;/script&gt;</div>');
  });

  test("the list pages, searches and filters; a bad query names the parameter", async () => {
    const { app, ctx } = await makeApp();
    for (let i = 1; i <= 25; i++) await createEntry(app, `Batch ${i}`, i === 7 ? "with grapefruit" : "");
    const done = ctx.repos.types.list()[0]!.states.find((s) => s.name === "Done")!;
    ctx.repos.entries.update(3, { stateId: done.id });
    const page = async (qs: string) => (await app.inject({ url: `/${qs}`, headers: { ...AUTH, ...HTML } })).body;
    const titles = (body: string) => [...body.matchAll(/<a href="\/entries\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]);
    const p2 = await page("?page=2");
    expect(titles(p2)).toEqual(["Batch 5", "Batch 4", "Batch 3", "Batch 2", "Batch 1"]);
    expect(p2).toContain('<span data-testid="count">21–25 of 25</span>');
    expect(p2).toContain('<a href="/" rel="prev">Previous</a>');
    expect(titles(await page("?q=grapefruit"))).toEqual(["Batch 7"]);
    expect(titles(await page(`?state=${done.id}&type=&q=`))).toEqual(["Batch 3"]);
    const bad = await app.inject({ url: "/?page=0", headers: { ...AUTH, ...HTML } });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('<p class="error" role="alert">page: must be a page number from 1</p>');
  });

  test("with PUBLIC_READ=true anyone reads, sees no forms, and still cannot write", async () => {
    const { app } = await makeApp({ env: { PUBLIC_READ: "true" } });
    const { id } = await createEntry(app, "Public batch");
    const res = await app.inject({ url: `/entries/${id}`, headers: HTML });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("<h1>Public batch");
    expect(res.body).not.toContain("<form");
    expect(res.body).not.toContain("Last backup");
    expect(res.body).toContain('<a href="/login">Log in</a>');
    const post = await app.inject({ method: "POST", url: `/entries/${id}/notes`, headers: { ...HTML, ...FORM }, payload: "body=hi" });
    expect(post.statusCode).toBe(401);
  });

  test("a form post creates an entry and redirects; a rejected form shows the error and keeps the input", async () => {
    const { app } = await makeApp();
    const { cookie, csrf } = await session(app);
    const ok = await app.inject({
      method: "POST",
      url: "/entries",
      headers: { ...FORM, cookie },
      payload: new URLSearchParams({
        _csrf: csrf,
        typeId: "1",
        title: "Saison",
        description: "d",
        stateId: "",
        plannedEnd: "2026-12-24",
      }).toString(),
    });
    expect([ok.statusCode, ok.headers.location]).toEqual([303, "/entries/1"]);
    expect((await app.inject({ url: "/api/entries/1", headers: AUTH })).json()).toMatchObject({
      title: "Saison",
      plannedEnd: "2026-12-24",
      stateName: "Open",
    });
    const bad = await app.inject({
      method: "POST",
      url: "/entries",
      headers: { ...FORM, ...HTML, cookie },
      payload: new URLSearchParams({
        _csrf: csrf,
        typeId: "1",
        title: " ",
        description: "kept <text>",
        plannedEnd: "2026-02-30",
      }).toString(),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('<p class="error" role="alert">title: is required</p>');
    expect(bad.body).toContain('<textarea id="description" name="description">kept &lt;text&gt;</textarea>');
    expect(await count(app)).toBe(1);
  });

  test.each([
    ["no token", "none", undefined, "the form has no CSRF token; reload the page and try again"],
    ["a wrong token", "wrong", undefined, "the form's CSRF token does not match your session; reload the page and try again"],
    [
      "another origin",
      "valid",
      "http://localhost:5002",
      "cross-site request refused: the request came from another origin (&quot;http://localhost:5002&quot;), not http://localhost:5001",
    ],
  ] as const)("a form post with %s is refused (403) and writes nothing", async (_name, token, origin, message) => {
    const { app } = await makeApp();
    const { cookie, csrf } = await session(app);
    const body = new URLSearchParams({ typeId: "1", title: "Forged" });
    if (token !== "none") body.set("_csrf", token === "valid" ? csrf : "x".repeat(csrf.length));
    const res = await app.inject({
      method: "POST",
      url: "/entries",
      headers: { ...FORM, ...HTML, cookie, host: "localhost:5001", ...(origin ? { origin } : {}) },
      payload: body.toString(),
    });
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain(`<p class="error" role="alert">${message.replace("'", "&#39;")}</p>`);
    expect(await count(app)).toBe(0);
  });

  test("a form post from the page's own origin with the session's token passes", async () => {
    const { app } = await makeApp();
    const { cookie, csrf } = await session(app);
    const res = await app.inject({
      method: "POST",
      url: "/entries",
      headers: { ...FORM, cookie, host: "localhost:5001", origin: "http://localhost:5001" },
      payload: new URLSearchParams({ _csrf: csrf, typeId: "1", title: "Mine" }).toString(),
    });
    expect([res.statusCode, res.headers.location]).toEqual([303, "/entries/1"]);
  });

  test("a multipart upload without the CSRF token is refused; with it the file is stored", async () => {
    const { app } = await makeApp();
    const { cookie, csrf } = await session(app);
    const { id } = await createEntry(app, "With file");
    const upload = (withToken: boolean) => {
      const b = "----fleetweb";
      const token = withToken ? `--${b}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${csrf}\r\n` : "";
      const payload = `${token}--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--${b}--\r\n`;
      return app.inject({
        method: "POST",
        url: `/entries/${id}/attachments`,
        headers: { cookie, "content-type": `multipart/form-data; boundary=${b}` },
        payload,
      });
    };
    expect((await upload(false)).statusCode).toBe(403);
    expect((await app.inject({ url: `/api/entries/${id}/attachments`, headers: AUTH })).json().items).toEqual([]);
    const ok = await upload(true);
    expect([ok.statusCode, ok.headers.location]).toEqual([303, `/entries/${id}#attachments`]);
    const items = (await app.inject({ url: `/api/entries/${id}/attachments`, headers: AUTH })).json().items as {
      filename: string;
      size: number;
      mime: string;
    }[];
    expect(items.map((a) => [a.filename, a.size, a.mime])).toEqual([["a.txt", 5, "text/plain"]]);
  });

  test("log out clears the session cookie", async () => {
    const { app } = await makeApp();
    const { cookie, csrf } = await session(app);
    const res = await app.inject({
      method: "POST",
      url: "/logout",
      headers: { ...FORM, cookie },
      payload: `_csrf=${encodeURIComponent(csrf)}`,
    });
    expect([res.statusCode, res.headers.location]).toEqual([303, "/"]);
    expect(res.cookies.find((c) => c.name === "fleet_session_test")?.value).toBe("");
  });
});
