/// <reference lib="dom" />
import path from "node:path";
import type { Page } from "playwright-core";
import { expect, test } from "vitest";
import { ARTIFACTS_DIR, axeProblems, launchBrowser, requireChromium, tabTo } from "./browser";
import { AUTH, makeApp, TOKEN } from "./helpers";

/** An in-process app listening on 127.0.0.1 (closed after the test), and a JSON API client for it. */
async function server(env: Record<string, string> = {}) {
  const { app } = await makeApp({ env: { APP_TITLE: "Homebrews", ...env } });
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  const api = async <T = Record<string, unknown>>(method: string, route: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: { ...AUTH, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<T>;
  };
  return { url, api };
}

/** Logs in through the login form. */
async function logIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/login`);
  await page.getByLabel("Admin token").fill(TOKEN);
  await Promise.all([page.waitForURL(`${url}/`), page.getByRole("button", { name: "Log in", exact: true }).click()]);
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });

test("in Chromium: axe-core finds no serious or critical violation on any page, logged in or out", async (ctx) => {
  requireChromium(ctx);
  // PUBLIC_READ=true: logged out, the list and entry pages are readable and the others are the login form.
  const { url, api } = await server({ PUBLIC_READ: "true" });
  await api("PATCH", "/api/settings", { subtitle: "What is in the fermenters", theme: "dark" });
  const recipe = await api<{ id: number; states: { id: number }[] }>("POST", "/api/types", {
    key: "recipe",
    singular: "Recipe",
    plural: "Recipes",
    states: [
      { name: "Draft", color: "#ffeb3b", open: true },
      { name: "Final", color: "#1a237e", open: false },
    ],
  });
  const def = await api<{ id: number }>("POST", "/api/relationship-types", {
    fromTypeId: 1,
    toTypeId: recipe.id,
    label: "uses",
    reverseLabel: "used by",
    cardinality: "many-to-one",
  });
  const pale = await api<{ id: number }>("POST", "/api/entries", { typeId: recipe.id, title: "Pale ale" });
  const batch = await api<{ id: number }>("POST", "/api/entries", { typeId: 1, title: "Batch 7", description: "Cascade" });
  await api("POST", `/api/entries/${batch.id}/relationships`, { typeId: def.id, toEntryId: pale.id });
  await api("POST", `/api/entries/${batch.id}/notes`, { body: "Pitched at 20 degrees" });

  const pages: [name: string, route: string][] = [
    ["list", "/"],
    ["search", "/?q=cascade"],
    ["entry", `/entries/${batch.id}`],
    ["entry-linked", `/entries/${pale.id}`],
    ["entry-new", "/entries/new"],
    ["entry-edit", `/entries/${batch.id}/edit`],
    ["entry-link", `/entries/${batch.id}/link?rel=${def.id}%3Aout&q=`],
    ["types", "/types"],
    ["type-new", "/types/new"],
    ["type", `/types/${recipe.id}`],
    ["state-edit", `/states/${recipe.states[0]!.id}/edit`],
    ["relationship-types", "/relationship-types"],
    ["relationship-type", `/relationship-types/${def.id}`],
    ["settings", "/settings"],
    ["not-found", "/entries/999"],
    ["login", "/login"],
  ];
  const context = await launchBrowser();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const found: Record<string, unknown> = {};
    for (const [name, route] of pages) {
      await page.goto(`${url}${route}`);
      found[`logged out ${name}`] = await axeProblems(page);
    }
    expect(await page.locator("h1").innerText()).toBe("Log in");
    await logIn(page, url);
    for (const [name, route] of pages) {
      await page.goto(`${url}${route}`);
      found[`logged in ${name}`] = await axeProblems(page);
      if (name !== "login") await shot(page, `page-${name}`);
    }
    // A refused form: messages next to their fields.
    await page.goto(`${url}/settings`);
    await page.getByLabel("Title", { exact: true }).fill("");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.waitForURL(`${url}/settings`);
    expect(await page.locator(".field-error").allInnerTexts()).toEqual(["Title: is required"]);
    found["logged in settings refused"] = await axeProblems(page);
    await shot(page, "page-settings-refused");

    expect(Object.keys(found)).toHaveLength(pages.length * 2 + 1);
    expect(Object.entries(found).filter(([, problems]) => (problems as unknown[]).length > 0)).toEqual([]);
  } finally {
    await context.close();
  }
  // 33 page loads with an axe run each: about 20 s on an idle 2-core machine.
}, 240_000);

test("in Chromium, with the keyboard alone: log in, create a type with states, reorder them, set the default, rename the instance", async (ctx) => {
  requireChromium(ctx);
  const { url, api } = await server();
  const context = await launchBrowser();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${url}/login`);
    // The first Tab of a page lands on the skip link, which moves the focus to the content.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await tabTo(page, page.getByLabel("Admin token"));
    await page.keyboard.type(TOKEN);
    await Promise.all([page.waitForURL(`${url}/`), page.keyboard.press("Enter")]);

    await tabTo(page, page.getByRole("link", { name: "Types", exact: true }));
    await Promise.all([page.waitForURL(`${url}/types`), page.keyboard.press("Enter")]);
    await tabTo(page, page.getByRole("link", { name: "New type" }));
    await Promise.all([page.waitForURL(`${url}/types/new`), page.keyboard.press("Enter")]);
    for (const [label, text] of [
      ["Key", "recipe"],
      ["Singular label", "Recipe"],
      ["Plural label", "Recipes"],
      ["State 1 name", "Draft"],
      ["State 2 name", "Final"],
    ] as const) {
      await tabTo(page, page.getByLabel(label, { exact: true }));
      await page.keyboard.type(text);
    }
    await tabTo(page, page.getByLabel("State 2 is"));
    await page.keyboard.press("ArrowDown"); // Open -> Closed
    await tabTo(page, page.getByRole("button", { name: "Create type" }));
    await Promise.all([page.waitForURL(/\/types\/\d+$/), page.keyboard.press("Enter")]);
    const typeUrl = page.url();
    const typeId = Number(typeUrl.split("/").pop());
    const states = () =>
      api<{ defaultStateId: number; states: { id: number; name: string; open: boolean }[] }>("GET", `/api/types/${typeId}`);
    expect((await states()).states.map((s) => [s.name, s.open])).toEqual([
      ["Draft", true],
      ["Final", false],
    ]);

    await tabTo(page, page.getByRole("button", { name: "Move Final up" }));
    await Promise.all([page.waitForURL(`${typeUrl}#states`), page.keyboard.press("Enter")]);
    expect((await states()).states.map((s) => s.name)).toEqual(["Final", "Draft"]);
    // Draft, the first open state, is the default until another is made the default.
    expect(await page.getByRole("button", { name: "Make default: Draft" }).count()).toBe(0);
    await tabTo(page, page.getByRole("button", { name: "Make default: Final" }));
    // The page reloads at the same address (…#states), so the test waits for what it shows.
    await page.keyboard.press("Space");
    await expect
      .poll(() => page.locator("#states tbody tr").allInnerTexts())
      .toEqual([expect.stringMatching(/^Final\tClosed\tDefault\t/), expect.stringMatching(/^Draft\tOpen\tMake default\t/)]);
    const after = await states();
    expect(after.defaultStateId).toBe(after.states[0]!.id);

    await tabTo(page, page.getByRole("link", { name: "Settings", exact: true }));
    await Promise.all([page.waitForURL(`${url}/settings`), page.keyboard.press("Enter")]);
    await tabTo(page, page.getByLabel("Title", { exact: true }));
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type("Cellar");
    await page.keyboard.press("Enter"); // submits the form
    await page.waitForURL(`${url}/settings?saved=1`);
    expect(await page.locator("header .title").innerText()).toBe("Cellar");
    await shot(page, "keyboard-settings");
  } finally {
    await context.close();
  }
}, 120_000);

test("in Chromium: a type with states, an entry of it linked to another entry, a new instance title, all rendered", async (ctx) => {
  requireChromium(ctx);
  const { url, api } = await server();
  await api("POST", "/api/entries", { typeId: 1, title: "Batch 7", description: "Saison" });
  const context = await launchBrowser();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await logIn(page, url);

    // A type with three states, then a fourth added on its page.
    await page.getByRole("link", { name: "Types", exact: true }).click();
    await page.getByRole("link", { name: "New type" }).click();
    await page.getByLabel("Key").fill("recipe");
    await page.getByLabel("Singular label").fill("Recipe");
    await page.getByLabel("Plural label").fill("Recipes");
    await page.getByLabel("State 1 name").fill("Draft");
    await page.getByLabel("State 1 color").fill("#ffeb3b");
    await page.getByLabel("State 2 name").fill("Tested");
    await page.getByLabel("State 3 name").fill("Retired");
    await page.getByLabel("State 3 is").selectOption("Closed");
    await page.getByRole("button", { name: "Create type" }).click();
    await page.waitForURL(/\/types\/\d+$/);
    await page.getByLabel("Name", { exact: true }).fill("Final");
    await page.getByLabel("Open or closed").selectOption("Closed");
    await page.getByRole("button", { name: "Add state" }).click();
    await page.waitForURL(/\/types\/\d+#states$/);
    expect(await page.locator("#states tbody .badge").allInnerTexts()).toEqual(["Draft", "Tested", "Retired", "Final"]);
    await shot(page, "flow-type");

    // Entries of type Entry use a Recipe.
    await page.goto(`${url}/relationship-types`);
    await page.getByLabel("From type").selectOption("Entry");
    await page.getByLabel("To type").selectOption("Recipe");
    await page.getByLabel("Label from the from-side").fill("uses");
    await page.getByLabel("Label from the to-side").fill("used by");
    await page.getByLabel("Cardinality").selectOption("many to one");
    await page.getByRole("button", { name: "Create relationship definition" }).click();
    await page.waitForURL(`${url}/relationship-types`);
    expect(await page.locator("tbody tr").allInnerTexts()).toEqual(["Entry\tuses / used by\tRecipe\tmany to one"]);

    // An entry of the new type.
    await page.getByRole("link", { name: "New entry" }).click();
    await page.getByLabel("Type").selectOption("Recipe");
    await page.getByLabel("Title").fill("Pale ale");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    await page.waitForURL(/\/entries\/\d+$/);
    const recipeUrl = page.url();
    expect(await page.locator("h1").innerText()).toBe("Pale ale Draft");

    // Link Batch 7 to it from the recipe's side.
    await page.getByLabel("Relationship").selectOption("used by (Entry)");
    await page.getByLabel("Find the entry").fill("saison");
    await page.getByRole("button", { name: "Find entries" }).click();
    await page.waitForURL(/\/link\?/);
    await shot(page, "flow-link");
    await page.getByRole("button", { name: "Link Batch 7" }).click();
    await page.waitForURL(`${recipeUrl}#links`);
    expect(await page.getByTestId("links").locator("li").allInnerTexts()).toEqual(["used by Batch 7 Remove"]);
    await page.getByRole("link", { name: "Batch 7" }).click();
    expect(await page.getByTestId("links").locator("li").allInnerTexts()).toEqual(["uses Pale ale Remove"]);
    await shot(page, "flow-entry");

    // A new title and subtitle for the instance.
    await page.getByRole("link", { name: "Settings", exact: true }).click();
    await page.getByLabel("Title", { exact: true }).fill("Cellar book");
    await page.getByLabel("Subtitle").fill("Recipes and batches");
    await page.getByLabel("Theme").selectOption("Forest");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.waitForURL(`${url}/settings?saved=1`);
    await page.goto(`${url}/`);
    expect(await page.locator("header .title").innerText()).toBe("Cellar book");
    expect(await page.getByTestId("subtitle").innerText()).toBe("Recipes and batches");
    expect(await page.locator("html").getAttribute("data-theme")).toBe("forest");
    expect(await page.title()).toBe("Entries · Cellar book");
    expect(await page.locator("tbody tr").allInnerTexts()).toEqual([
      expect.stringMatching(/^Pale ale\tRecipe\tDraft\t/),
      expect.stringMatching(/^Batch 7\tEntry\tOpen\t/),
    ]);
    await shot(page, "flow-list");
  } finally {
    await context.close();
  }
}, 120_000);
