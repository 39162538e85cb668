/** `offsite sync` and fleet:notify: a failed copy is notified once per instance and failure episode. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { runOffsiteCli } from "../src/offsite-cli";
import { type Receiver, startReceiver } from "./receiver";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(): Promise<{ receiver: Receiver; env: NodeJS.ProcessEnv }> {
  const receiver = await startReceiver();
  const dir = mkdtempSync(path.join(os.tmpdir(), "fleet-offsite-notify-"));
  cleanups.push(
    () => receiver.close(),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  mkdirSync(path.join(dir, "backups", "alpha"), { recursive: true });
  mkdirSync(path.join(dir, "state"));
  // The repository's parent is a regular file: restic cannot open or create it.
  writeFileSync(path.join(dir, "not-a-directory"), "x");
  const env = {
    PATH: process.env.PATH,
    RESTIC_REPOSITORY: path.join(dir, "not-a-directory", "repo"),
    RESTIC_PASSWORD: "correct horse",
    OFFSITE_INSTANCES: "alpha",
    OFFSITE_BACKUPS_ROOT: path.join(dir, "backups"),
    OFFSITE_STATE_DIR: path.join(dir, "state"),
    NOTIFY_URL: `${receiver.url}/hook`,
    FLEET_STACK: "home",
  };
  return { receiver, env };
}

it("a failed copy round exits 1 and sends offsite.failed once; the next failing round sends nothing new", async () => {
  const { receiver, env } = await setup();
  expect(await runOffsiteCli(["sync"], env)).toBe(1);
  expect(receiver.received).toHaveLength(1);
  const [first] = receiver.received;
  expect(first!.method).toBe("POST");
  expect(first!.path).toBe("/hook");
  const body = JSON.parse(first!.body) as Record<string, unknown>;
  expect(body).toMatchObject({
    source: "fleet",
    event: "offsite.failed",
    severity: "error",
    stack: "home",
    instance: "alpha",
    title: "fleet home: off-site copy of alpha failed",
  });
  expect(body.message).toMatch(/^alpha: the off-site copy failed: \S/);

  expect(await runOffsiteCli(["sync"], env)).toBe(1);
  expect(receiver.received).toHaveLength(1);
});

it("without NOTIFY_URL a failed round still exits 1 and sends nothing", async () => {
  const { receiver, env } = await setup();
  delete env.NOTIFY_URL;
  env.OFFSITE_INSTANCES = "alpha";
  expect(await runOffsiteCli(["sync"], env)).toBe(1);
  expect(receiver.received).toHaveLength(0);
});
