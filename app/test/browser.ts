import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { APP_DIR, tempDir } from "./helpers";

/** Debian's Chromium; never downloaded by the tests. */
export const CHROMIUM = "/usr/bin/chromium";
/** Screenshots the browser tests keep (gitignored). */
export const ARTIFACTS_DIR = path.join(APP_DIR, "test", "artifacts");

/**
 * Whether the browser tests can run. Without Chromium they print "skipped: no Chromium" on a line
 * of their own, except under CI=true, where a missing browser is a failure.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === "true") {
    throw new Error(`CI=true but ${CHROMIUM} is missing: install it with apt-get install -y chromium`);
  }
  process.stdout.write("\nskipped: no Chromium\n");
  return false;
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
