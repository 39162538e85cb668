import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { ARTIFACTS_DIR, launchBrowser, requireChromium } from "./browser";
import { AUTH, makeApp, TOKEN } from "./helpers";

const ATTACHMENT = Buffer.concat([Buffer.from("OG 1.052, FG 1.006\nyeast: saison\n"), Buffer.from([0, 1, 2, 254, 255])]);

test("in Chromium: log in, create an entry with a note and an attachment, find it by search, download the attachment, archive it", async (ctx) => {
  requireChromium(ctx);
  // In-process on 127.0.0.1:0 (src, not dist/): the same app the server runs, on temp DATA_DIR/BACKUP_DIR.
  const { app } = await makeApp({ env: { APP_TITLE: "Homebrews" } });
  const server = { url: await app.listen({ port: 0, host: "127.0.0.1" }) };
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: { ...AUTH, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  await api("PATCH", "/api/settings", { theme: "ocean", labels: { entry: "Batch", entries: "Batches" } });
  await api("POST", "/api/entries", { typeId: 1, title: "Stout 7", description: "Roasted barley, no fruit" });
  const backup = (await api("POST", "/api/backups", { reason: "nightly" })) as { id: string };
  const context = await launchBrowser();
  try {
    const page = context.pages()[0] ?? (await context.newPage());

    // Not logged in: the API's 401, rendered as the login form, in the instance's title and theme.
    const first = await page.goto(`${server.url}/`);
    expect(first?.status()).toBe(401);
    expect(await page.locator("html").getAttribute("data-theme")).toBe("ocean");
    expect(await page.locator("header .title").innerText()).toBe("Homebrews");
    await page.getByLabel("Admin token").fill("wrong-token-wrong-token-wrong");
    await page.getByRole("button", { name: "Log in", exact: true }).click();
    await expect.poll(() => page.locator("#login-error").innerText()).toBe("token: wrong admin token");
    await page.getByLabel("Admin token").fill(TOKEN);
    await Promise.all([
      page.waitForResponse((r) => r.url() === `${server.url}/` && r.status() === 200),
      page.getByRole("button", { name: "Log in", exact: true }).click(),
    ]);
    expect(await page.locator("h1").innerText()).toBe("Batches");
    expect(await page.getByTestId("count").innerText()).toBe("1–1 of 1");
    expect(await page.getByTestId("version").innerText()).toBe("Version 1.0.0");
    expect(await page.getByTestId("last-backup").innerText()).toMatch(/^Last backup: \d{4}-\d\d-\d\d \d\d:\d\d UTC · ok \(nightly\)$/);

    // Create.
    await page.getByRole("link", { name: "New batch" }).click();
    await page.getByLabel("Title").fill("Saison <b>42</b>");
    await page.getByLabel("Description").fill("Belgian saison with a hint of grapefruit");
    await page.getByLabel("Planned end").fill("2026-12-24");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    await page.waitForURL(/\/entries\/\d+$/);
    const entryUrl = page.url();
    const entryId = Number(entryUrl.split("/").pop());
    expect(await page.locator("h1").innerText()).toBe("Saison <b>42</b> Open");

    // A note and an attachment.
    await page.getByLabel("Add a note").fill("Pitched at 20 degrees");
    await page.getByRole("button", { name: "Add note", exact: true }).click();
    await page.waitForURL(`${entryUrl}#notes`);
    expect(await page.locator("#notes .note").allInnerTexts()).toEqual(["Pitched at 20 degrees"]);
    await page.getByLabel("Upload a file").setInputFiles({ name: "gravity log.txt", mimeType: "text/plain", buffer: ATTACHMENT });
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.waitForURL(`${entryUrl}#attachments`);
    expect(await page.locator("#attachments tbody tr td").allInnerTexts()).toEqual([
      "gravity log.txt",
      "text/plain",
      "38 B",
      expect.stringMatching(/UTC$/),
    ]);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, "entry.png"), fullPage: true });

    // Search: by a word of the description, and by a word that is only in the note.
    for (const q of ["grapefruit", "pitched"]) {
      await page.goto(`${server.url}/`);
      await page.getByLabel("Search").fill(q);
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.waitForURL(`${server.url}/?q=${q}&type=&state=&archived=false`);
      expect(await page.locator("tbody td:first-child a").allInnerTexts()).toEqual(["Saison <b>42</b>"]);
      expect(await page.getByTestId("count").innerText()).toBe("1–1 of 1");
    }
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, "search.png"), fullPage: true });

    // Download: the same bytes, under the uploaded name.
    await page.getByRole("link", { name: "Saison <b>42</b>" }).click();
    await page.waitForURL(entryUrl);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "gravity log.txt" }).click()]);
    expect(download.suggestedFilename()).toBe("gravity log.txt");
    expect(readFileSync(await download.path())).toEqual(ATTACHMENT);

    // Edit, then archive: the entry leaves the default list and shows under "Archived".
    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByLabel("Title").fill("Saison 42");
    await page.getByLabel("State").selectOption({ label: "In progress" });
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.waitForURL(entryUrl);
    expect(await page.locator("h1").innerText()).toBe("Saison 42 In progress");
    await page.getByRole("button", { name: "Archive", exact: true }).click();
    await page.waitForURL(entryUrl);
    expect(await page.getByTestId("archived").innerText()).toBe("Archived");
    await page.goto(`${server.url}/?archived=true`);
    expect(await page.locator("tbody td:first-child a").allInnerTexts()).toEqual(["Saison 42"]);

    // What the browser did is what the API sees.
    expect(await api("GET", `/api/entries/${entryId}`)).toMatchObject({
      title: "Saison 42",
      description: "Belgian saison with a hint of grapefruit",
      stateName: "In progress",
      plannedEnd: "2026-12-24",
      archived: true,
    });
    expect(backup.id).toMatch(/^test-/);
  } finally {
    await context.close();
  }
});
