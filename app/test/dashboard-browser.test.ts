/// <reference lib="dom" />
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import { buildDashboard } from "../src/dashboard";
import { ARTIFACTS_DIR, axeProblems, launchBrowser, requireChromium } from "./browser";
import { DASHBOARD_TOKEN, fleetOnSockets } from "./dashboard-fixture";

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

test("in Chromium: one instance down and one on the wrong version show plainly, the page refreshes itself, axe finds nothing serious", async (ctx) => {
  requireChromium(ctx);
  const { config, start } = await fleetOnSockets();
  const app = await buildDashboard(config, { logger: false });
  closers.push(() => app.close());
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  const context = await launchBrowser();
  closers.push(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());

  // (Headless Chromium cannot answer a Basic prompt; the token goes in a header, as a script would send it.)
  expect((await fetch(`${url}/`)).status).toBe(401);

  await page.setExtraHTTPHeaders({ authorization: `Bearer ${DASHBOARD_TOKEN}` });
  await page.goto(`${url}/`);
  const summary = page.locator(".summary");
  expect(await summary.innerText()).toBe("2 of 3 instances need attention: projects (wrong version); recipes (down)");
  const row = (name: string) => page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: new RegExp(`^${name}`) }) });
  expect(await row("recipes").getByRole("cell").nth(2).innerText()).toBe("DOWN\nno container is listening (no socket)");
  expect(await row("projects").getByRole("cell").nth(1).innerText()).toBe("WRONG VERSION\nrunning 0.9.0, declared 1.0.0");
  expect(await row("homebrews").getByRole("cell").nth(1).innerText()).toBe("1.0.0");
  expect(await row("homebrews").getByRole("cell").nth(2).innerText()).toBe("OK\nGET /api/health: 200");
  expect(await axeProblems(page)).toEqual([]);
  await page.screenshot({ path: path.join(ARTIFACTS_DIR, "dashboard.png"), fullPage: true });

  // recipes comes up: within two refreshes (2 s each) the page says so without a reload.
  await start("recipes");
  await page.waitForFunction(() => document.querySelector(".summary")?.textContent?.includes("1 of 3 instances needs attention"), null, {
    timeout: 10_000,
  });
  expect(await summary.innerText()).toBe("1 of 3 instances needs attention: projects (wrong version)");
  await page.screenshot({ path: path.join(ARTIFACTS_DIR, "dashboard-refreshed.png"), fullPage: true });
});
