import type { FastifyInstance } from "fastify";
import { describe, expect, test } from "vitest";
import { AUTH, createEntry, FORM, HTML, makeApp, session } from "./helpers";

/** A logged-in browser: GET a page, POST a form (with the session's CSRF token unless `csrf: false`). */
async function browser(app: FastifyInstance) {
  const { cookie, csrf } = await session(app);
  return {
    get: (url: string) => app.inject({ url, headers: { ...HTML, cookie } }),
    post: (url: string, fields: Record<string, string>, opts: { csrf?: boolean } = {}) =>
      app.inject({
        method: "POST",
        url,
        headers: { ...HTML, ...FORM, cookie },
        payload: new URLSearchParams({ ...(opts.csrf === false ? {} : { _csrf: csrf }), ...fields }).toString(),
      }),
  };
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" };
const text = (s: string) => s.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!);

/** Every message shown next to a field, by the field's id. */
function fieldErrors(body: string): Record<string, string> {
  return Object.fromEntries(
    [...body.matchAll(/<p class="field-error" id="([^"]+)-error"[^>]*>([^<]*)<\/p>/g)].map((m) => [m[1], text(m[2]!)]),
  );
}

/** Messages of the page's error boxes. */
function alerts(body: string): string[] {
  return [...body.matchAll(/<p class="error" role="alert">([^<]*)<\/p>/g)].map((m) => text(m[1]!));
}

const api = async (app: FastifyInstance, url: string) => (await app.inject({ url, headers: AUTH })).json();
const typeOf = (app: FastifyInstance, id: number) => api(app, `/api/types/${id}`);
const stateNames = async (app: FastifyInstance, id: number) => ((await typeOf(app, id)).states as { name: string }[]).map((s) => s.name);

/** A type "recipe" (id 2) with two states, made through the API. */
async function recipeType(app: FastifyInstance): Promise<{ id: number; states: { id: number; name: string }[] }> {
  const res = await app.inject({
    method: "POST",
    url: "/api/types",
    headers: AUTH,
    payload: {
      key: "recipe",
      singular: "Recipe",
      plural: "Recipes",
      states: [
        { name: "Draft", color: "#888888", open: true },
        { name: "Final", color: "#2e8b57", open: false },
      ],
    },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json();
}

async function definition(app: FastifyInstance, payload: Record<string, unknown>): Promise<{ id: number }> {
  const res = await app.inject({ method: "POST", url: "/api/relationship-types", headers: AUTH, payload });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json();
}

describe("pages: every new form refuses a post without the session's CSRF token", () => {
  test("403 with the reason, and nothing changes", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    const recipe = await recipeType(app);
    const { id: entryId } = await createEntry(app, "Batch 1");
    const def = await definition(app, { fromTypeId: 1, toTypeId: 2, label: "uses", reverseLabel: "used by", cardinality: "many-to-one" });
    const state = recipe.states[0]!.id;
    const snapshot = async () =>
      JSON.stringify([await api(app, "/api/types"), await api(app, "/api/relationship-types"), await api(app, "/api/settings")]);
    const before = await snapshot();
    const posts: [string, Record<string, string>][] = [
      [
        "/types",
        { key: "forged", singular: "F", plural: "Fs", "states.0.name": "A", "states.0.color": "#000000", "states.0.open": "true" },
      ],
      [`/types/${recipe.id}`, { singular: "Forged", plural: "Forged" }],
      [`/types/${recipe.id}/delete`, {}],
      [`/types/${recipe.id}/states`, { name: "Forged", color: "#000000", open: "true" }],
      [`/states/${state}`, { name: "Forged", color: "#000000", open: "true" }],
      [`/states/${state}/move`, { direction: "down" }],
      [`/states/${recipe.states[1]!.id}/default`, {}],
      [`/states/${state}/delete`, {}],
      ["/relationship-types", { fromTypeId: "2", toTypeId: "1", label: "forged", reverseLabel: "forged by", cardinality: "many-to-many" }],
      [`/relationship-types/${def.id}`, { label: "forged", reverseLabel: "forged by", cardinality: "many-to-many" }],
      [`/relationship-types/${def.id}/delete`, {}],
      [`/entries/${entryId}/relationships`, { rel: `${def.id}:out`, otherId: "1" }],
      ["/settings", { title: "Forged", theme: "dark" }],
    ];
    for (const [url, fields] of posts) {
      const res = await b.post(url, fields, { csrf: false });
      expect([url, res.statusCode, alerts(res.body)]).toEqual([url, 403, ["the form has no CSRF token; reload the page and try again"]]);
    }
    expect(await snapshot()).toBe(before);
  });
});

describe("pages: types", () => {
  test("the list shows every type with its states and entry count", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    await recipeType(app);
    await createEntry(app, "one");
    const res = await b.get("/types");
    expect(res.statusCode).toBe(200);
    const rows = [
      ...res.body.matchAll(
        /<tr><td><a href="\/types\/(\d+)">([^<]+)<\/a><\/td><td>([^<]+)<\/td><td><code>([^<]+)<\/code><\/td>\s*<td>(.*?)<\/td><td>(\d+)<\/td><\/tr>/g,
      ),
    ];
    expect(rows.map((m) => [m[1], m[2], m[3], m[4], [...m[5]!.matchAll(/>([^<]+)<\/span>/g)].map((x) => x[1]), m[6]])).toEqual([
      ["1", "Entry", "Entries", "entry", ["Open", "In progress", "Done"], "1"],
      ["2", "Recipe", "Recipes", "recipe", ["Draft", "Final"], "0"],
    ]);
  });

  test("create: success, then each refusal names its field next to it and keeps the input", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    const form = {
      key: "batch",
      singular: "Batch",
      plural: "Batches",
      "states.0.name": "",
      "states.0.color": "#2f6fdb",
      "states.0.open": "true",
      "states.1.name": "Brewing",
      "states.1.color": "#d98e04",
      "states.1.open": "true",
      "states.2.name": "Bottled",
      "states.2.color": "#2e8b57",
      "states.2.open": "false",
    };
    const cases: [Record<string, string>, number, Record<string, string>][] = [
      [{ key: "Bad Key" }, 400, { key: "Key: must be 1-40 lowercase letters, digits or dashes, starting with a letter" }],
      [{ singular: " " }, 400, { singular: "Singular label: is required" }],
      [{ "states.1.name": "", "states.2.name": "" }, 400, { states: "States: needs at least one state" }],
      // Row 1 is the first state given (row 0 is blank): the message goes to row 1's field.
      [{ "states.1.color": "orange" }, 400, { "states-1-color": "State 2 color: must be a color like #2f6fdb" }],
      [{ "states.2.open": "maybe" }, 400, { "states-2-open": "State 3 is: must be true or false" }],
      [{ "states.2.name": "Brewing" }, 409, { states: "States: duplicate state name Brewing" }],
      [{ key: "entry" }, 409, { key: "Key: an entry type with key entry already exists" }],
    ];
    for (const [change, status, errors] of cases) {
      const res = await b.post("/types", { ...form, ...change });
      expect([change, res.statusCode, fieldErrors(res.body)]).toEqual([change, status, errors]);
    }
    const kept = await b.post("/types", { ...form, key: "Bad Key" });
    expect(kept.body).toContain(
      '<input type="text" id="key" name="key" value="Bad Key" required maxlength="40" aria-invalid="true" aria-describedby="key-hint key-error">',
    );
    expect(kept.body).toContain('<input type="text" id="states-1-name" name="states.1.name" value="Brewing" maxlength="60">');
    expect((await api(app, "/api/types")).items.map((t: { key: string }) => t.key)).toEqual(["entry"]);

    const ok = await b.post("/types", form);
    expect([ok.statusCode, ok.headers.location]).toEqual([303, "/types/2"]);
    const t = await typeOf(app, 2);
    expect([
      t.key,
      t.singular,
      t.plural,
      t.states.map((s: { name: string; color: string; open: boolean }) => [s.name, s.color, s.open]),
    ]).toEqual([
      "batch",
      "Batch",
      "Batches",
      [
        ["Brewing", "#d98e04", true],
        ["Bottled", "#2e8b57", false],
      ],
    ]);
    expect(t.defaultStateId).toBe(t.states[0].id);
  });

  test("edit labels: success, and a refusal next to the field", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    const bad = await b.post("/types/1", { singular: "Batch", plural: "" });
    expect([bad.statusCode, fieldErrors(bad.body)]).toEqual([400, { plural: "Plural label: is required" }]);
    expect(bad.body).toContain('<input type="text" id="singular" name="singular" value="Batch" required maxlength="60">');
    const ok = await b.post("/types/1", { singular: "Batch", plural: "Batches" });
    expect([ok.statusCode, ok.headers.location]).toEqual([303, "/types/1"]);
    expect([(await typeOf(app, 1)).singular, (await typeOf(app, 1)).plural]).toEqual(["Batch", "Batches"]);
    expect((await b.get("/types/99")).statusCode).toBe(404);
  });

  test("delete: refused while entries or definitions use the type, done when unused", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    const recipe = await recipeType(app);
    await createEntry(app, "one");
    const withEntries = await b.post("/types/1/delete", {});
    expect([withEntries.statusCode, alerts(withEntries.body)]).toEqual([
      409,
      ["entry type Entry still has 1 entry; delete them or move them to another type first"],
    ]);
    const def = await definition(app, {
      fromTypeId: 1,
      toTypeId: recipe.id,
      label: "uses",
      reverseLabel: "used by",
      cardinality: "many-to-one",
    });
    const withDefinition = await b.post(`/types/${recipe.id}/delete`, {});
    expect([withDefinition.statusCode, alerts(withDefinition.body)]).toEqual([
      409,
      ["entry type Recipe is used by 1 relationship definition; delete it first"],
    ]);
    await app.inject({ method: "DELETE", url: `/api/relationship-types/${def.id}`, headers: AUTH });
    const ok = await b.post(`/types/${recipe.id}/delete`, {});
    expect([ok.statusCode, ok.headers.location]).toEqual([303, "/types"]);
    expect((await app.inject({ url: `/api/types/${recipe.id}`, headers: AUTH })).statusCode).toBe(404);
  });
});

describe("pages: states", () => {
  test("add: success at the end; a refusal next to the field", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    const blank = await b.post("/types/1/states", { name: " ", color: "#123456", open: "false" });
    expect([blank.statusCode, fieldErrors(blank.body)]).toEqual([400, { name: "Name: is required" }]);
    const dup = await b.post("/types/1/states", { name: "Done", color: "#123456", open: "false" });
    expect([dup.statusCode, fieldErrors(dup.body), alerts(dup.body)]).toEqual([409, {}, ["states: duplicate state name Done"]]);
    const ok = await b.post("/types/1/states", { name: "Dumped", color: "#123456", open: "false" });
    expect([ok.statusCode, ok.headers.location]).toEqual([303, "/types/1#states"]);
    expect(await stateNames(app, 1)).toEqual(["Open", "In progress", "Done", "Dumped"]);
  });

  test("edit: success; a duplicate name and a bad color are refused next to their fields", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    const form = await b.get("/states/2/edit");
    expect(form.body).toContain('<input type="text" id="name" name="name" value="In progress" required maxlength="60">');
    const dup = await b.post("/states/2", { name: "Done", color: "#d98e04", open: "true" });
    expect([dup.statusCode, fieldErrors(dup.body)]).toEqual([409, { name: "Name: this type already has a state named Done" }]);
    const color = await b.post("/states/2", { name: "Brewing", color: "#d98e0", open: "true" });
    expect([color.statusCode, fieldErrors(color.body)]).toEqual([400, { color: "Color: must be a color like #2f6fdb" }]);
    const ok = await b.post("/states/2", { name: "Brewing", color: "#aa5500", open: "false" });
    expect([ok.statusCode, ok.headers.location]).toEqual([303, "/types/1#states"]);
    expect((await typeOf(app, 1)).states[1]).toEqual({ id: 2, typeId: 1, name: "Brewing", color: "#aa5500", open: false, position: 1 });
  });

  test("reorder with up and down buttons; a bad direction is refused", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    expect((await b.post("/states/3/move", { direction: "up" })).headers.location).toBe("/types/1#states");
    expect(await stateNames(app, 1)).toEqual(["Open", "Done", "In progress"]);
    await b.post("/states/1/move", { direction: "down" });
    expect(await stateNames(app, 1)).toEqual(["Done", "Open", "In progress"]);
    await b.post("/states/2/move", { direction: "down" }); // already last: no change
    expect(await stateNames(app, 1)).toEqual(["Done", "Open", "In progress"]);
    const bad = await b.post("/states/3/move", { direction: "sideways" });
    expect([bad.statusCode, alerts(bad.body)]).toEqual([400, ["direction: must be up or down"]]);
    const page = await b.get("/types/1");
    expect([...page.body.matchAll(/aria-label="(Move [^"]+)"/g)].map((m) => m[1])).toEqual([
      "Move Done down",
      "Move Open up",
      "Move Open down",
      "Move In progress up",
    ]);
  });

  test("make default: new entries start there", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    const ok = await b.post("/states/2/default", {});
    expect([ok.statusCode, ok.headers.location]).toEqual([303, "/types/1#states"]);
    expect((await typeOf(app, 1)).defaultStateId).toBe(2);
    const { id } = await createEntry(app, "new");
    expect((await api(app, `/api/entries/${id}`)).stateName).toBe("In progress");
    expect((await b.get("/types/1")).body).toContain("<td><strong>Default</strong></td>");
  });

  test("delete: refused while entries are in it and for the last state; done when unused", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    await createEntry(app, "one");
    await createEntry(app, "two");
    const used = await b.post("/states/1/delete", {});
    expect([used.statusCode, alerts(used.body)]).toEqual([409, ["state Open is in use by 2 entries; move them to another state first"]]);
    const ok = await b.post("/states/2/delete", {});
    expect([ok.statusCode, ok.headers.location]).toEqual([303, "/types/1#states"]);
    expect(await stateNames(app, 1)).toEqual(["Open", "Done"]);
    const recipe = await recipeType(app);
    await b.post(`/states/${recipe.states[0]!.id}/delete`, {});
    const last = await b.post(`/states/${recipe.states[1]!.id}/delete`, {});
    expect([last.statusCode, alerts(last.body)]).toEqual([409, ["state Final is the type's only state; a type needs at least one"]]);
  });
});

describe("pages: relationship definitions", () => {
  test("create, edit, and the refusals next to their fields", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    await recipeType(app);
    const form = { fromTypeId: "1", toTypeId: "2", label: "uses", reverseLabel: "used by", cardinality: "many-to-one" };
    const cases: [Record<string, string>, number, Record<string, string>][] = [
      [
        { label: "Uses!" },
        400,
        { label: "Label from the from-side: must be 1-40 lowercase letters, digits, spaces or dashes (e.g. uses)" },
      ],
      [
        { reverseLabel: "" },
        400,
        { reverseLabel: "Label from the to-side: must be 1-40 lowercase letters, digits, spaces or dashes (e.g. uses)" },
      ],
      [{ cardinality: "lots" }, 400, { cardinality: "Cardinality: must be one of one-to-one, one-to-many, many-to-one, many-to-many" }],
      [{ toTypeId: "9" }, 400, { toTypeId: "To type: entry type 9 does not exist" }],
    ];
    for (const [change, status, errors] of cases) {
      const res = await b.post("/relationship-types", { ...form, ...change });
      expect([change, res.statusCode, fieldErrors(res.body)]).toEqual([change, status, errors]);
    }
    const ok = await b.post("/relationship-types", form);
    expect([ok.statusCode, ok.headers.location]).toEqual([303, "/relationship-types"]);
    const again = await b.post("/relationship-types", form);
    expect([again.statusCode, fieldErrors(again.body)]).toEqual([
      409,
      { label: "Label from the from-side: these two types already have a relationship labelled uses" },
    ]);
    const list = await b.get("/relationship-types");
    expect(list.body).toContain(
      '<tr><td>Entry</td><td><a href="/relationship-types/1">uses</a> / used by</td><td>Recipe</td><td>many to one</td></tr>',
    );

    const edit = await b.post("/relationship-types/1", { label: "follows", reverseLabel: "followed by", cardinality: "many-to-many" });
    expect([edit.statusCode, edit.headers.location]).toEqual([303, "/relationship-types"]);
    expect(await api(app, "/api/relationship-types/1")).toEqual({
      id: 1,
      fromTypeId: 1,
      fromTypeSingular: "Entry",
      toTypeId: 2,
      toTypeSingular: "Recipe",
      label: "follows",
      reverseLabel: "followed by",
      cardinality: "many-to-many",
    });
    const badEdit = await b.post("/relationship-types/1", { label: "follows", reverseLabel: "Followed By", cardinality: "many-to-many" });
    expect([badEdit.statusCode, fieldErrors(badEdit.body)]).toEqual([
      400,
      { reverseLabel: "Label from the to-side: must be 1-40 lowercase letters, digits, spaces or dashes (e.g. uses)" },
    ]);
  });

  test("a cardinality the existing links exceed is refused; delete is refused while links use it", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    const recipe = await recipeType(app);
    const def = await definition(app, {
      fromTypeId: 1,
      toTypeId: recipe.id,
      label: "uses",
      reverseLabel: "used by",
      cardinality: "many-to-one",
    });
    const r = await app.inject({ method: "POST", url: "/api/entries", headers: AUTH, payload: { typeId: recipe.id, title: "Pale ale" } });
    const a = await createEntry(app, "Batch A");
    const c = await createEntry(app, "Batch C");
    for (const from of [a.id, c.id]) {
      const link = await app.inject({
        method: "POST",
        url: `/api/entries/${from}/relationships`,
        headers: AUTH,
        payload: { typeId: def.id, toEntryId: r.json().id },
      });
      expect(link.statusCode).toBe(201);
    }
    const narrow = await b.post(`/relationship-types/${def.id}`, { label: "uses", reverseLabel: "used by", cardinality: "one-to-one" });
    expect([narrow.statusCode, fieldErrors(narrow.body)]).toEqual([
      409,
      {
        cardinality:
          "Cardinality: existing relationships already have more than one entry on a side; remove some before making it one-to-one",
      },
    ]);
    const del = await b.post(`/relationship-types/${def.id}/delete`, {});
    expect([del.statusCode, alerts(del.body)]).toEqual([409, ["relationship Entry uses Recipe is used by 2 links; remove them first"]]);
  });
});

describe("pages: relationships on the entry page", () => {
  test("find, link from either side, see both sides, refusals, remove", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    const recipe = await recipeType(app);
    const def = await definition(app, {
      fromTypeId: 1,
      toTypeId: recipe.id,
      label: "uses",
      reverseLabel: "used by",
      cardinality: "many-to-one",
    });
    const newRecipe = async (title: string) =>
      (await app.inject({ method: "POST", url: "/api/entries", headers: AUTH, payload: { typeId: recipe.id, title } })).json() as {
        id: number;
      };
    const pale = await newRecipe("Pale ale");
    const stout = await newRecipe("Dry stout");
    const batch = await createEntry(app, "Batch 7");

    const start = await b.get(`/entries/${batch.id}`);
    expect(start.body).toContain(`<option value="${def.id}:out">uses (Recipe)</option>`);
    const found = await b.get(`/entries/${batch.id}/link?rel=${def.id}%3Aout&q=pale`);
    expect(found.statusCode).toBe(200);
    expect([...found.body.matchAll(/aria-label="Link ([^"]+)"/g)].map((m) => m[1])).toEqual(["Pale ale"]);
    const all = await b.get(`/entries/${batch.id}/link?rel=${def.id}%3Aout`);
    expect([...all.body.matchAll(/aria-label="Link ([^"]+)"/g)].map((m) => m[1])).toEqual(["Dry stout", "Pale ale"]);
    const noRel = await b.get(`/entries/${batch.id}/link?rel=99%3Aout`);
    expect([noRel.statusCode, alerts(noRel.body)]).toEqual([400, ["rel: choose a relationship"]]);

    const ok = await b.post(`/entries/${batch.id}/relationships`, { rel: `${def.id}:out`, otherId: String(pale.id) });
    expect([ok.statusCode, ok.headers.location]).toEqual([303, `/entries/${batch.id}#links`]);
    // many-to-one: the batch already uses a recipe.
    const second = await b.post(`/entries/${batch.id}/relationships`, { rel: `${def.id}:out`, otherId: String(stout.id) });
    expect([second.statusCode, alerts(second.body)]).toEqual([
      409,
      [`entry ${batch.id} already uses one Recipe (many-to-one); remove that link first`],
    ]);
    const wrongType = await b.post(`/entries/${batch.id}/relationships`, { rel: `${def.id}:out`, otherId: String(batch.id) });
    expect([wrongType.statusCode, alerts(wrongType.body)]).toEqual([400, ["toEntryId: an entry cannot be related to itself"]]);
    const noChoice = await b.post(`/entries/${batch.id}/relationships`, { otherId: String(stout.id) });
    expect([noChoice.statusCode, alerts(noChoice.body)]).toEqual([400, ["rel: choose a relationship"]]);

    // From the recipe's side: "used by" links another batch to it.
    const other = await createEntry(app, "Batch 8");
    const fromRecipe = await b.post(`/entries/${pale.id}/relationships`, { rel: `${def.id}:in`, otherId: String(other.id) });
    expect([fromRecipe.statusCode, fromRecipe.headers.location]).toEqual([303, `/entries/${pale.id}#links`]);

    const linked = (body: string) =>
      [...body.matchAll(/<li><span class="muted">([^<]+)<\/span> <a href="\/entries\/(\d+)">([^<]+)<\/a>/g)].map((m) => [
        m[1],
        Number(m[2]),
        m[3],
      ]);
    expect(linked((await b.get(`/entries/${batch.id}`)).body)).toEqual([["uses", pale.id, "Pale ale"]]);
    expect(linked((await b.get(`/entries/${pale.id}`)).body)).toEqual([
      ["used by", batch.id, "Batch 7"],
      ["used by", other.id, "Batch 8"],
    ]);

    const rels = await api(app, `/api/entries/${pale.id}/relationships`);
    const [first] = rels.incoming as { id: number }[];
    const notHere = await b.post(`/entries/${stout.id}/relationships/${first!.id}/delete`, {});
    expect([notHere.statusCode, alerts(notHere.body)]).toEqual([400, [`relationship ${first!.id} does not link this entry`]]);
    const removed = await b.post(`/entries/${pale.id}/relationships/${first!.id}/delete`, {});
    expect([removed.statusCode, removed.headers.location]).toEqual([303, `/entries/${pale.id}#links`]);
    expect(linked((await b.get(`/entries/${pale.id}`)).body)).toEqual([["used by", other.id, "Batch 8"]]);
    expect(linked((await b.get(`/entries/${batch.id}`)).body)).toEqual([]);
  });
});

describe("pages: settings", () => {
  test("title, subtitle, theme and labels: success shows everywhere; refusals next to their fields", async () => {
    const { app } = await makeApp();
    const b = await browser(app);
    const form = {
      title: "Homebrews",
      subtitle: "What is in the fermenters",
      theme: "forest",
      "labels.entry": "Batch",
      "labels.entries": "Batches",
      "labels.note": "Log",
      "labels.notes": "Logs",
      "labels.attachments": "Files",
    };
    const cases: [Record<string, string>, Record<string, string>][] = [
      [{ title: "" }, { title: "Title: is required" }],
      [{ theme: "neon" }, { theme: "Theme: must be one of light, dark, forest, ocean, amber" }],
      [{ "labels.notes": "x".repeat(41) }, { "labels-notes": "Label for notes: must be at most 40 characters" }],
      [{ subtitle: "s".repeat(201) }, { subtitle: "Subtitle: must be at most 200 characters" }],
    ];
    for (const [change, errors] of cases) {
      const res = await b.post("/settings", { ...form, ...change });
      expect([change, res.statusCode, fieldErrors(res.body)]).toEqual([change, 400, errors]);
    }
    expect((await api(app, "/api/settings")).title).toBe("Test Instance");
    const ok = await b.post("/settings", form);
    expect([ok.statusCode, ok.headers.location]).toEqual([303, "/settings?saved=1"]);
    expect(await api(app, "/api/settings")).toEqual({
      title: "Homebrews",
      subtitle: "What is in the fermenters",
      theme: "forest",
      labels: { entry: "Batch", entries: "Batches", note: "Log", notes: "Logs", attachments: "Files" },
    });
    const saved = await b.get("/settings?saved=1");
    expect(saved.body).toContain('<p class="notice" role="status">Settings saved.</p>');
    const list = await b.get("/");
    expect(list.body).toContain(
      '<a class="title" href="/">Homebrews</a><p class="subtitle" data-testid="subtitle">What is in the fermenters</p>',
    );
    expect(list.body).toContain('<html lang="en" data-theme="forest">');
    expect(list.body).toContain("<h1>Batches</h1>");
    // An emptied subtitle is removed.
    await b.post("/settings", { ...form, subtitle: "" });
    expect((await api(app, "/api/settings")).subtitle).toBe("");
    expect((await b.get("/")).body).not.toContain('class="subtitle"');
  });
});
