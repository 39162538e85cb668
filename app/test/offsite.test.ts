import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { createBackupRecorded, restoreBackup, verifyBackup } from "../src/backup";
import { pathsFor, withFileLock } from "../src/db";
import { loadMigrations } from "../src/migrations";
import {
  backupCommand,
  checkCommand,
  forgetCommand,
  Offsite,
  offsiteSettings,
  type OffsiteEvents,
  readOffsiteStatus,
  resticRunner,
  sftpCommand,
  sftpTarget,
  snapshotTags,
} from "../src/offsite";
import { AUTH, createEntry, makeApp, multipart, sha256, tempDir } from "./helpers";

function hasRestic(): boolean {
  try {
    execFileSync("restic", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const restic = hasRestic();
if (!restic && process.env.CI)
  throw new Error("offsite tests: restic is not installed, and CI requires these tests (apt-get install restic)");

describe("off-site command builders", () => {
  test("snapshot tags carry instance, reason, versions and the backup id; the instance is the host", () => {
    const b = { instance: "homebrews", id: "homebrews-x", reason: "pre-update", fromVersion: "1.0.0", toVersion: "1.1.0" };
    expect(snapshotTags(b)).toEqual(["fleet", "instance=homebrews", "reason=pre-update", "id=homebrews-x", "versions=1.0.0->1.1.0"]);
    expect(snapshotTags({ ...b, reason: "scheduled", fromVersion: null, toVersion: null })).toEqual([
      "fleet",
      "instance=homebrews",
      "reason=scheduled",
      "id=homebrews-x",
    ]);
    expect(backupCommand("/backups/homebrews/homebrews-x", { ...b, fromVersion: null, toVersion: null, reason: "manual" })).toEqual([
      "backup",
      "--json",
      "--host",
      "homebrews",
      "--tag",
      "fleet",
      "--tag",
      "instance=homebrews",
      "--tag",
      "reason=manual",
      "--tag",
      "id=homebrews-x",
      "/backups/homebrews/homebrews-x",
    ]);
  });

  test("retention per instance; check reads a different tenth each week", () => {
    expect(forgetCommand("a", { daily: 7, weekly: 4, monthly: 12 })).toEqual([
      "forget",
      "--host",
      "a",
      "--tag",
      "fleet",
      "--group-by",
      "host",
      "--keep-daily",
      "7",
      "--keep-weekly",
      "4",
      "--keep-monthly",
      "12",
    ]);
    const week = 7 * 86_400_000;
    const subsets = Array.from({ length: 10 }, (_, i) => checkCommand(new Date(i * week + 1000))[1]);
    expect(new Set(subsets).size).toBe(10);
    expect(checkCommand(new Date(0))).toEqual(["check", "--read-data-subset=1/10"]);
  });

  test.each([
    ["sftp:backup@host.example:/srv/restic", { user: "backup", host: "host.example", port: null }],
    ["sftp://backup@10.0.0.2:2222//srv/restic", { user: "backup", host: "10.0.0.2", port: 2222 }],
    ["sftp:host:/r", { user: null, host: "host", port: null }],
    ["s3:s3.amazonaws.com/bucket/fleet", null],
    ["/srv/restic", null],
  ])("sftpTarget(%s)", (repo, expected) => {
    expect(sftpTarget(repo)).toEqual(expected);
  });

  test("sftp repositories log in with the key and the pinned host key from files", () => {
    expect(sftpCommand("sftp://backup@sftp:2222//srv/r", "/k", "/kh")).toEqual([
      "-o",
      "sftp.command=ssh -i /k -o UserKnownHostsFile=/kh -o StrictHostKeyChecking=yes -o BatchMode=yes -p 2222 backup@sftp -s sftp",
    ]);
    expect(() => offsiteSettings({ RESTIC_REPOSITORY: "sftp:b@h:/r", RESTIC_PASSWORD: "p", OFFSITE_INSTANCES: "a" })).toThrow(
      "an sftp: repository needs OFFSITE_SSH_KEY (a private key) and OFFSITE_KNOWN_HOSTS (the server's host key line); see docs/backups.md",
    );
    expect(() => offsiteSettings({ RESTIC_PASSWORD: "p", OFFSITE_INSTANCES: "a" })).toThrow(
      "invalid off-site environment:\n  RESTIC_REPOSITORY: is required (a local path, sftp:, s3: or rest: URL)",
    );
    const dir = tempDir();
    const s = offsiteSettings(
      {
        RESTIC_REPOSITORY: "sftp:b@h:/r",
        RESTIC_PASSWORD: "p",
        OFFSITE_INSTANCES: "a,b",
        OFFSITE_SSH_KEY: "KEY",
        OFFSITE_KNOWN_HOSTS: "h ssh-ed25519 AAA",
      },
      dir,
    );
    expect(s).toEqual({
      instances: ["a", "b"],
      backupsRoot: "/backups",
      stateDir: "/state",
      retention: { daily: 7, weekly: 4, monthly: 12 },
      intervalSeconds: 60,
      checkCron: "0 4 * * 0",
      pruneCron: "30 4 * * *",
      resticOptions: sftpCommand("sftp:b@h:/r", path.join(dir, "id"), path.join(dir, "known_hosts")),
    });
    expect(readFileSync(path.join(dir, "id"), "utf8")).toBe("KEY\n");
  });
});

describe.runIf(restic)("off-site copies with a real restic and a local repository", () => {
  test("copies each new backup once with its tags, reports failures without touching local backups, and fetches back what restores", async () => {
    const root = tempDir();
    const backupsRoot = path.join(root, "all-backups");
    const { app, ctx } = await makeApp({ root, env: { BACKUP_DIR: path.join(backupsRoot, "test") } });
    const e = await createEntry(app, "kept off-site");
    const bytes = Buffer.alloc(30_000, 9);
    expect((await app.inject({ method: "POST", url: `/api/entries/${e.id}/attachments`, ...multipart("a.bin", bytes) })).statusCode).toBe(
      201,
    );
    const base = { paths: ctx.paths, instance: "test", appVersion: "1.0.0" };
    const first = createBackupRecorded({ ...base, reason: "scheduled", now: new Date(Date.now() - 2000) });
    const second = createBackupRecorded({ ...base, reason: "pre-update", from: "1.0.0", to: "1.1.0" });

    const env = {
      RESTIC_REPOSITORY: path.join(root, "repo"),
      RESTIC_PASSWORD: "correct horse",
      RESTIC_CACHE_DIR: path.join(root, "cache"),
    };
    const settings = {
      instances: ["test"],
      backupsRoot,
      stateDir: path.join(root, "state"),
      retention: { daily: 7, weekly: 4, monthly: 12 },
    };
    const offsite = new Offsite(settings, resticRunner([], env));
    const events: { event: keyof OffsiteEvents; detail: unknown }[] = [];
    for (const event of ["copied", "copy-failed", "check-ok", "check-failed"] as const) {
      offsite.on(event, (detail: unknown) => events.push({ event, detail }));
    }

    expect(await offsite.ensureRepository()).toBe("created");
    expect(await offsite.ensureRepository()).toBe("exists");
    const round1 = await offsite.syncAll();
    expect(round1.test).toMatchObject({ ok: true, copied: [first.id, second.id], newest: second.id, error: null });
    expect(readOffsiteStatus(ctx.paths.backupDir)).toEqual(round1.test);
    expect(events.map((x) => [x.event, (x.detail as { id: string }).id])).toEqual([
      ["copied", first.id],
      ["copied", second.id],
    ]);
    const snaps = await offsite.snapshots("test");
    expect(snaps.map((s) => [s.hostname, [...(s.tags ?? [])].sort(), s.paths])).toEqual([
      ["test", ["fleet", `id=${first.id}`, "instance=test", "reason=scheduled"], [path.join(backupsRoot, "test", first.id)]],
      [
        "test",
        ["fleet", `id=${second.id}`, "instance=test", "reason=pre-update", "versions=1.0.0->1.1.0"],
        [path.join(backupsRoot, "test", second.id)],
      ],
    ]);
    // A second round with nothing new copies nothing.
    expect((await offsite.syncAll()).test).toMatchObject({ ok: true, copied: [], newest: second.id });

    // A copy that fails: the local backup stays, the round reports it, the event fires.
    const third = createBackupRecorded({ ...base, reason: "scheduled", now: new Date(Date.now() + 2000) });
    const failing = new Offsite(settings, async (args) =>
      args[0] === "backup"
        ? { status: 1, stdout: "", stderr: "Fatal: unable to save snapshot: no space left on device\n" }
        : resticRunner([], env)(args),
    );
    const failedEvents: unknown[] = [];
    failing.on("copy-failed", (d) => failedEvents.push(d));
    const bad = (await failing.syncAll()).test!;
    expect(bad).toMatchObject({
      ok: false,
      error: "restic backup failed (exit 1): Fatal: unable to save snapshot: no space left on device",
    });
    expect(failedEvents).toEqual([{ instance: "test", id: third.id, error: bad.error }]);
    expect(verifyBackup(ctx.paths.backupDir, third.id).ok).toBe(true);
    expect(readOffsiteStatus(ctx.paths.backupDir)).toMatchObject({ ok: false });
    const metric = async () =>
      (await app.inject({ url: "/metrics", headers: AUTH })).body.split("\n").find((l) => l.startsWith("fleet_offsite_last_success "));
    expect(await metric()).toBe("fleet_offsite_last_success 0");
    expect((await offsite.syncAll()).test).toMatchObject({ ok: true, copied: [third.id] });
    expect(await metric()).toBe("fleet_offsite_last_success 1");

    await offsite.check(new Date(0));
    expect(events.at(-1)).toEqual({ event: "check-ok", detail: { subset: "1/10" } });
    await offsite.prune();
    expect((await offsite.snapshots("test")).length).toBe(1); // one per day is kept: all three are of today

    // Disaster: every local backup is gone. Fetch the newest back and restore it into an empty data dir.
    rmSync(backupsRoot, { recursive: true, force: true });
    const fetched = await offsite.fetch("test");
    expect(fetched).toMatchObject({ id: third.id, alreadyLocal: false });
    expect(verifyBackup(ctx.paths.backupDir, third.id)).toEqual({ id: third.id, ok: true, problems: [] });
    await expect(offsite.fetch("test", "deadbeef")).rejects.toThrow(
      "the repository holds no snapshot deadbeef of instance test (list them with --list)",
    );
    const fresh = pathsFor(path.join(root, "fresh-data"), ctx.paths.backupDir);
    mkdirSync(fresh.dataDir);
    expect(() =>
      withFileLock(path.join(root, "fresh.lock"), () =>
        restoreBackup({ paths: fresh, id: third.id, migrations: loadMigrations(), instance: "test", appVersion: "1.0.0" }),
      ),
    ).toThrow(/signed by another key/);
    const restored = withFileLock(path.join(root, "fresh.lock"), () =>
      // A new data volume has a new signing key: the fetched backup is accepted with trust, its content checked all the same.
      restoreBackup({ paths: fresh, id: third.id, migrations: loadMigrations(), instance: "test", appVersion: "1.0.0", trust: true }),
    );
    expect(restored).toMatchObject({ restored: third.id, safetyBackup: null });
    expect(existsSync(path.join(fresh.uploadsDir, sha256(bytes).slice(0, 2), sha256(bytes)))).toBe(true);
    expect(sha256(readFileSync(path.join(fresh.uploadsDir, sha256(bytes).slice(0, 2), sha256(bytes))))).toBe(sha256(bytes));
  }, 120_000);
});
