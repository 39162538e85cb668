/// <reference lib="dom" />
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import axe from "axe-core";
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import type { TestContext } from "vitest";
import { APP_DIR, tempDir } from "./helpers";

/** Debian's Chromium, or CHROMIUM_PATH (GitHub's runners have Google Chrome); never downloaded by the tests. */
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
/** Screenshots the browser tests keep (gitignored). */
export const ARTIFACTS_DIR = path.join(APP_DIR, "test", "artifacts");

/**
 * Skips the calling test, reported as skipped with the reason, when Chromium is missing; under
 * CI=true a missing browser is a failure instead. Call it first in a browser test.
 */
export function requireChromium(ctx: Pick<TestContext, "skip">): void {
  if (existsSync(CHROMIUM)) return;
  if (process.env.CI === "true") {
    throw new Error(`CI=true but ${CHROMIUM} is missing: install it with apt-get install -y chromium`);
  }
  ctx.skip(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
}

/** A headless Chromium with a fresh profile directory (removed after the test). Close it when done. */
export async function launchBrowser(): Promise<BrowserContext> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  // Playwright takes the profile as userDataDir (it refuses --user-data-dir in args) and adds --headless itself.
  return chromium.launchPersistentContext(tempDir("fleet-chromium-"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
}

/** One axe-core violation, as the tests report it. */
export interface AxeProblem {
  readonly rule: string;
  readonly impact: string;
  readonly help: string;
  readonly targets: string[];
}

/**
 * Runs axe-core on the page and returns its serious and critical violations (moderate and minor
 * ones are not counted). axe is evaluated through the DevTools protocol, which the page's CSP
 * (scripts only with the page's nonce) does not govern, so the page is checked as served.
 */
export async function axeProblems(page: Page): Promise<AxeProblem[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axe.source);
  const results = (await page.evaluate(() =>
    (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<unknown> } }).axe.run(document, {
      resultTypes: ["violations"],
    }),
  )) as { violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] };
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ rule: v.id, impact: v.impact!, help: v.help, targets: v.nodes.map((n) => n.target.map(String).join(" ")) }));
}

/**
 * Presses Tab (at most `max` times) until `target` has the focus: proves it is reachable with the
 * keyboard alone. Throws naming the target when it never gets there.
 */
export async function tabTo(page: Page, target: Locator, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await target.evaluate((el) => el === document.activeElement)) return;
  }
  throw new Error(`${max} presses of Tab never reached ${target.toString()}`);
}
