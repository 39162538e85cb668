import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { listBackups } from "../src/backup";
import { BackupScheduler, staleness } from "../src/backup-schedule";
import { scheduleIntervalSeconds } from "../src/backup-stale";
import { pathsFor } from "../src/db";
import { makeApp } from "./helpers";
import { type Receiver, startReceiver } from "./receiver";

const receivers: Receiver[] = [];
afterEach(async () => {
  while (receivers.length) await receivers.pop()!.close();
});

describe("scheduleIntervalSeconds", () => {
  test.each([
    ["0 3 * * *", 86400],
    ["*/10 * * * *", 600],
    ["0 3 * * 1-5", 3 * 86400],
    ["*/2 * * * * *", 2],
  ])("%s: %i s", (cron, seconds) => {
    expect(scheduleIntervalSeconds(cron, new Date("2026-11-29T12:00:00Z"))).toBe(seconds);
  });
});

describe("staleness", () => {
  const b = (id: string, createdAt: string, reason = "scheduled") => ({
    id,
    createdAt,
    reason,
    appVersion: "1.0.0",
    schemaVersion: 5,
    fromVersion: null,
    toVersion: null,
    entries: 0,
    bytes: 1,
  });
  const now = new Date("2026-11-29T03:00:00Z");
  const startedAt = new Date("2026-11-29T02:00:00Z");
  test("the newest scheduled backup counts, not a newer pre-update one", () => {
    const s = staleness([b("u", "2026-11-28T00:00:00Z", "pre-update"), b("s", "2026-11-27T02:59:59Z")], {
      reason: "scheduled",
      limitSeconds: 172800,
      startedAt,
      now,
    });
    expect(s).toEqual({ stale: true, newest: b("s", "2026-11-27T02:59:59Z"), ageSeconds: 172801 });
  });
  test("exactly at the limit is not stale yet", () => {
    expect(staleness([b("s", "2026-11-27T03:00:00Z")], { reason: "scheduled", limitSeconds: 172800, startedAt, now }).stale).toBe(false);
  });
  test("no scheduled backup yet: counted from the sidecar's start", () => {
    expect(staleness([], { reason: "scheduled", limitSeconds: 172800, startedAt, now })).toEqual({
      stale: false,
      newest: null,
      ageSeconds: 3600,
    });
  });
});

describe("BackupScheduler with a local receiver", () => {
  async function setup(env: Record<string, string> = {}) {
    const { ctx, root } = await makeApp({ env });
    const r = await startReceiver();
    receivers.push(r);
    const out: unknown[] = [];
    const err: string[] = [];
    let clock = new Date();
    const scheduler = (backupDir = ctx.paths.backupDir) =>
      new BackupScheduler({
        paths: pathsFor(ctx.paths.dataDir, backupDir),
        instance: "homebrews",
        appVersion: "1.0.0",
        cron: "0 3 * * *",
        keep: 3,
        reason: "scheduled",
        notifyUrl: `${r.url}/hook`,
        stack: "dev",
        out: (o) => out.push(o),
        err: (l) => err.push(l),
        now: () => clock,
      });
    return { ctx, root, r, out, err, scheduler, setClock: (d: Date) => (clock = d) };
  }

  test("a successful run sends nothing", async () => {
    const { ctx, r, out, scheduler } = await setup();
    const s = scheduler();
    s.run();
    await Promise.all(s.pending);
    expect(listBackups(ctx.paths.backupDir).map((x) => x.reason)).toEqual(["scheduled"]);
    expect(out).toHaveLength(1);
    expect(r.received).toEqual([]);
  });

  test("a failed run sends backup.failed with the error, and the run does not wait for it", async () => {
    const { root, r, err, scheduler, setClock } = await setup();
    const blocked = path.join(root, "not-a-dir");
    writeFileSync(blocked, "a file where the backups directory should be");
    setClock(new Date("2026-11-29T03:00:00.000Z"));
    const s = scheduler(blocked);
    s.run();
    expect(s.pending.size).toBe(1);
    const error = (JSON.parse(err[0]!) as { error: string }).error;
    expect(error).toContain("EEXIST");
    const [got] = await r.waitFor(1);
    expect(got!.path).toBe("/hook");
    expect(JSON.parse(got!.body)).toEqual({
      source: "fleet",
      event: "backup.failed",
      severity: "error",
      stack: "dev",
      instance: "homebrews",
      title: "fleet dev: scheduled backup of homebrews failed",
      message: `homebrews: the scheduled backup (0 3 * * *) failed: ${error}`,
      at: "2026-11-29T03:00:00.000Z",
      details: { schedule: "0 3 * * *", error },
    });
  });

  test("backups older than twice the schedule send backup.stale once, until a backup succeeds", async () => {
    const { ctx, r, scheduler, setClock } = await setup();
    const first = scheduler();
    first.run();
    const newest = listBackups(ctx.paths.backupDir)[0]!;
    const later = new Date(Date.parse(newest.createdAt) + (2 * 86400 + 60) * 1000);
    setClock(later);
    const s = scheduler();
    s.checkStale();
    s.checkStale();
    const [got] = await r.waitFor(1);
    await Promise.all(s.pending);
    expect(r.received).toHaveLength(1);
    expect(JSON.parse(got!.body)).toEqual({
      source: "fleet",
      event: "backup.stale",
      severity: "warning",
      stack: "dev",
      instance: "homebrews",
      title: "fleet dev: backups of homebrews are stale",
      message: `homebrews: the newest scheduled backup (${newest.id}) is 2 d 0 h old, more than twice its schedule (0 3 * * *).`,
      at: later.toISOString(),
      details: {
        schedule: "0 3 * * *",
        newest: { id: newest.id, createdAt: newest.createdAt },
        ageSeconds: 2 * 86400 + 60,
        limitSeconds: 172800,
      },
    });
  });
});
