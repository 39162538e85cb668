import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test, vi } from "vitest";
import { createBackup, listBackups, pruneBackups, readManifest, verifyBackup } from "../src/backup";
import { backupKey, keyId, signManifest } from "../src/backup-checks";
import { loadConfig } from "../src/config";
import { AppContext } from "../src/context";
import { integrityCheck, openReadOnly, pathsFor, stmt } from "../src/db";
import { APP_DIR, AUTH, createEntry, makeApp, migrationsDir, multipart, sha256, tempDir, testEnv } from "./helpers";

function cli(root: string, ...args: string[]) {
  return spawnSync(process.execPath, [path.join(APP_DIR, "dist/cli.js"), ...args], {
    env: { ...process.env, ...testEnv(root) },
    encoding: "utf8",
    timeout: 30_000,
  });
}

function fileHash(p: string): string {
  return existsSync(p) ? sha256(readFileSync(p)) : "absent";
}

describe("backups", () => {
  test("create: consistent snapshot with uploads and a manifest; list, verify, prune", async () => {
    const { app, ctx, root } = await makeApp();
    const e = await createEntry(app, "keep me");
    await app.inject({ method: "POST", url: `/api/entries/${e.id}/notes`, headers: AUTH, payload: { body: "a note" } });
    const up = (
      await app.inject({ method: "POST", url: `/api/entries/${e.id}/attachments`, ...multipart("a.bin", Buffer.alloc(3000, 7)) })
    ).json();

    const res = cli(root, "backup", "create", "--reason", "pre-update", "--from", "1.0.0", "--to", "1.1.0");
    expect(res.status).toBe(0);
    const line = JSON.parse(res.stdout);
    expect(Object.keys(line)).toEqual(["id", "path"]);
    expect(line.id).toMatch(/^test-\d{8}t\d{9}z-v1\.0\.0-s0005-from-1\.0\.0-to-1\.1\.0$/);
    expect(line.path).toBe(path.join(root, "backups", line.id));

    const m = readManifest(ctx.paths.backupDir, line.id);
    const blob = `uploads/${up.sha256.slice(0, 2)}/${up.sha256}`;
    expect({ ...m, createdAt: "x", files: Object.keys(m.files).sort() }).toEqual({
      format: 1,
      id: line.id,
      instance: "test",
      createdAt: "x",
      reason: "pre-update",
      fromVersion: "1.0.0",
      toVersion: "1.1.0",
      appVersion: "1.0.0",
      schemaVersion: 5,
      migrations: [
        "0001_init.sql",
        "0002_default_entry_type.sql",
        "0003_entry_filter_indexes.sql",
        "0004_sessions.sql",
        "0005_type_pages.sql",
      ],
      rowCounts: {
        attachments: 1,
        entries: 1,
        entry_types: 1,
        notes: 1,
        relationship_types: 0,
        relationships: 0,
        schema_migrations: 5,
        sessions: 0,
        settings: 0,
        states: 3,
      },
      integrity: "ok",
      files: ["app.db", blob].sort(),
      signature: signManifest(m, backupKey(ctx.paths.dataDir)),
    });
    expect(m.files[blob]).toEqual({ sha256: up.sha256, size: 3000 });
    expect(m.files["app.db"]!.sha256).toBe(fileHash(path.join(line.path, "app.db")));
    expect(verifyBackup(ctx.paths.backupDir, line.id)).toEqual({ id: line.id, ok: true, problems: [] });

    // tampering is detected
    writeFileSync(path.join(line.path, blob), "evil");
    const bad = verifyBackup(ctx.paths.backupDir, line.id);
    expect(bad.ok).toBe(false);
    expect(bad.problems).toEqual([`${blob}: size 4, manifest says 3000`, `${blob}: sha256 ${sha256("evil")}, manifest says ${up.sha256}`]);
    const verifyCli = cli(root, "backup", "verify", line.id);
    expect([verifyCli.status, JSON.parse(verifyCli.stdout).ok]).toEqual([1, false]);

    const second = createBackup({ paths: ctx.paths, instance: "test", appVersion: "1.0.0", now: new Date(Date.now() + 1000) });
    const third = createBackup({ paths: ctx.paths, instance: "test", appVersion: "1.0.0", now: new Date(Date.now() + 2000) });
    expect(listBackups(ctx.paths.backupDir).map((b) => b.id)).toEqual([third.id, second.id, line.id]);
    const pruned = cli(root, "backup", "prune", "--keep", "2");
    expect(JSON.parse(pruned.stdout)).toEqual({ deleted: [line.id], kept: [third.id, second.id] });
    expect(() => pruneBackups(ctx.paths.backupDir, 0)).toThrow("--keep 0: must be an integer of at least 1");
    const list = JSON.parse(cli(root, "backup", "list", "--json").stdout);
    expect(list.map((b: { id: string; entries: number }) => [b.id, b.entries])).toEqual([
      [third.id, 1],
      [second.id, 1],
    ]);
  });

  test("prune with a reason deletes only that reason's backups: the schedule never prunes pre-update backups", async () => {
    const { ctx } = await makeApp();
    const at = (s: number) => new Date(Date.now() + s * 1000);
    const make = (reason: string, s: number) =>
      createBackup({ paths: ctx.paths, instance: "test", appVersion: "1.0.0", reason, now: at(s) }).id;
    const pre = make("pre-update", 1);
    const s1 = make("scheduled", 2);
    const s2 = make("scheduled", 3);
    const s3 = make("scheduled", 4);
    expect(pruneBackups(ctx.paths.backupDir, 2, "scheduled")).toEqual({ deleted: [s1], kept: [s3, s2] });
    expect(listBackups(ctx.paths.backupDir).map((b) => b.id)).toEqual([s3, s2, pre]);
    expect(pruneBackups(ctx.paths.backupDir, 1)).toEqual({ deleted: [s2, pre], kept: [s3] });
  });

  test("create --if-exists without a database prints skipped and exits 0; bad ids and flags are refused", () => {
    const root = tempDir();
    const res = cli(root, "backup", "create", "--if-exists");
    expect([res.status, res.stdout]).toEqual([0, '{"skipped":"no database"}\n']);
    const noDb = cli(root, "backup", "create");
    expect([noDb.status, noDb.stderr]).toEqual([
      1,
      `error: no database at ${path.join(root, "data", "app.db")} (use --if-exists to skip on a first deploy)\n`,
    ]);
    const badKeep = cli(root, "backup", "prune", "--keep", "zero");
    expect(badKeep.status).toBe(2);
    expect(badKeep.stderr.split("\n")[0]).toBe('error: --keep "zero": must be an integer of at least 1');
    const traversal = cli(root, "backup", "verify", "../../etc");
    expect([traversal.status, traversal.stderr]).toEqual([1, 'error: backup id "../../etc" is not valid (see backup list)\n']);
  });

  test("backup never changes the live database files", async () => {
    const { app, ctx, root } = await makeApp();
    await createEntry(app, "x");
    ctx.close();
    const files = () =>
      readdirSync(ctx.paths.dataDir)
        .filter((f) => f.startsWith("app.db"))
        .map((f) => [f, fileHash(path.join(ctx.paths.dataDir, f))]);
    const before = files();
    expect(before.map(([f]) => f)).toEqual(["app.db"]);
    expect(cli(root, "backup", "create").status).toBe(0);
    // The read-only connection may leave SQLite's empty -wal and -shm index behind; the database
    // file is byte-identical and the WAL holds no frames (zero bytes), so nothing was written.
    const after = Object.fromEntries(files());
    expect(after["app.db"]).toBe(before[0]![1]);
    expect(after["app.db-wal"] ?? sha256("")).toBe(sha256(""));
  });

  test("restore round-trip through the admin API (live): entries and attachment sha256 identical", async () => {
    const { app, ctx } = await makeApp();
    const bodies = [Buffer.from("first file"), Buffer.alloc(50_000, 3)];
    for (let i = 0; i < 5; i++) {
      const e = await createEntry(app, `entry ${i}`, `description ${i}`);
      await app.inject({ method: "POST", url: `/api/entries/${e.id}/notes`, headers: AUTH, payload: { body: `note ${i}` } });
      if (i < 2) await app.inject({ method: "POST", url: `/api/entries/${e.id}/attachments`, ...multipart(`f${i}.bin`, bodies[i]!) });
    }
    const snapshot = async () => {
      const entries = (await app.inject({ url: "/api/entries?limit=100&archived=all", headers: AUTH })).json().items;
      const files: string[] = [];
      for (const e of entries) {
        for (const a of (await app.inject({ url: `/api/entries/${e.id}/attachments`, headers: AUTH })).json().items) {
          const down = await app.inject({ url: `/api/attachments/${a.id}/download`, headers: AUTH });
          files.push(`${a.filename}:${sha256(down.rawPayload)}`);
        }
      }
      return { entries, files: files.sort() };
    };
    const before = await snapshot();
    expect(before.files).toEqual([`f0.bin:${sha256(bodies[0]!)}`, `f1.bin:${sha256(bodies[1]!)}`]);
    const created = (await app.inject({ method: "POST", url: "/api/backups", headers: AUTH, payload: { reason: "manual" } })).json();

    // change everything after the backup
    await createEntry(app, "after the backup");
    await app.inject({ method: "PATCH", url: "/api/entries/1", headers: AUTH, payload: { title: "changed" } });
    await app.inject({ method: "DELETE", url: "/api/attachments/1", headers: AUTH });
    expect((await snapshot()).entries.length).toBe(6);

    const restored = await app.inject({ method: "POST", url: `/api/backups/${created.id}/restore`, headers: AUTH });
    expect(restored.statusCode).toBe(200);
    const r = restored.json();
    expect([r.restored, r.schemaVersion, r.migrationsApplied]).toEqual([created.id, 5, []]);
    expect(r.safetyBackup).toMatch(/^test-\d{8}t\d{9}z-v1\.0\.0-s0005$/);
    expect(await snapshot()).toEqual(before);
    expect(ctx.maintenance).toBe(false);
    expect((await app.inject({ url: "/api/health" })).statusCode).toBe(200);
    // the safety backup holds the state from just before the restore
    expect(readManifest(ctx.paths.backupDir, r.safetyBackup).rowCounts.entries).toBe(6);
  });

  test("during a live restore health answers 503 (maintenance) until the swap is done", async () => {
    const { app, ctx } = await makeApp();
    await createEntry(app, "one");
    const created = (await app.inject({ method: "POST", url: "/api/backups", headers: AUTH, payload: {} })).json();
    // A request still in flight makes the restore wait in maintenance mode.
    ctx.inFlight++;
    const restoring = ctx.restore(created.id);
    // Verification runs first, in a child process, with the app still serving.
    await vi.waitFor(() => expect(ctx.maintenance).toBe(true), { timeout: 10_000, interval: 10 });
    const during = await app.inject({ url: "/api/health" });
    expect([during.statusCode, during.json().status]).toEqual([503, "maintenance"]);
    expect((await app.inject({ url: "/api/entries", headers: AUTH })).statusCode).toBe(503);
    ctx.inFlight--;
    await restoring;
    const after = await app.inject({ url: "/api/health" });
    expect([after.statusCode, after.json().status]).toEqual([200, "ok"]);
  });

  test("restoring a backup made by an older schema migrates it (offline CLI restore)", async () => {
    const root = tempDir();
    const config = loadConfig(testEnv(root));
    const old = AppContext.open(config, { migrationsDir: migrationsDir(1) });
    stmt(old.db, "INSERT INTO entry_types (key, singular, plural, created_at) VALUES ('batch', 'Batch', 'Batches', '2026-01-01')").run();
    stmt(old.db, "INSERT INTO states (type_id, name, color, is_open) VALUES (1, 'Brewing', '#000000', 1)").run();
    stmt(
      old.db,
      "INSERT INTO entries (type_id, state_id, title, created_at, updated_at) VALUES (1, 1, 'old batch', '2026-01-01', '2026-01-01')",
    ).run();
    const oldBackup = createBackup({ paths: old.paths, instance: "test", appVersion: "0.9.0" });
    expect(oldBackup.manifest.schemaVersion).toBe(1);
    old.close();
    rmSync(path.join(root, "data"), { recursive: true });

    // A new data volume has a new backup key: the old backup is refused until trusted.
    const refused = cli(root, "backup", "restore", oldBackup.id);
    expect([refused.status, refused.stderr]).toEqual([
      1,
      `error: backup ${oldBackup.id} is not known to be this instance's: signed by another key (${oldBackup.manifest.signature!.keyId}; this instance's key is ${keyId(backupKey(path.join(root, "data")))}, e.g. another host or a new data volume). If you know where it comes from (an off-site copy, a new host), restore it with --trust (API: {"trust": true})\n`,
    ]);
    const res = cli(root, "backup", "restore", oldBackup.id, "--trust");
    expect([res.status, res.stderr]).toEqual([0, expect.stringContaining(`restored ${oldBackup.id}`)]);
    expect(JSON.parse(res.stdout)).toEqual({
      restored: oldBackup.id,
      safetyBackup: null,
      schemaVersion: 5,
      migrationsApplied: ["0002_default_entry_type.sql", "0003_entry_filter_indexes.sql", "0004_sessions.sql", "0005_type_pages.sql"],
    });
    const db = openReadOnly(pathsFor(path.join(root, "data"), path.join(root, "backups")).dbFile);
    expect(stmt(db, "SELECT title FROM entries").pluck().all()).toEqual(["old batch"]);
    expect(stmt(db, "SELECT key FROM entry_types ORDER BY id").pluck().all()).toEqual(["batch", "entry"]);
    expect(integrityCheck(db)).toBe("ok");
    db.close();
  });

  test("a backup while 4 processes insert continuously passes integrity and its count is between before and after", async () => {
    const { app, ctx } = await makeApp();
    await createEntry(app, "seed");
    const writers = [0, 1, 2, 3].map(
      (i) =>
        new Promise<number>((resolve, reject) => {
          const p = spawn(process.execPath, [path.join(__dirname, "fixtures/writer.js"), ctx.paths.dbFile, "2500", `w${i}`]);
          let out = "";
          p.stdout.on("data", (d: Buffer) => (out += d.toString()));
          p.stderr.on("data", (d: Buffer) => (out += d.toString()));
          p.on("close", (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`writer ${i}: ${code} ${out}`))));
        }),
    );
    const count = () => ctx.repos.entries.count();
    // Wait until every writer has committed rows, so the backup really races them.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const tags = stmt(ctx.db, "SELECT DISTINCT substr(title, 1, 2) FROM entries WHERE description = 'concurrent'").pluck().all();
      if (tags.length === 4) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const before = count();
    const backup = createBackup({ paths: ctx.paths, instance: "test", appVersion: "1.0.0" });
    const after = count();
    const inserted = await Promise.all(writers);
    const inBackup = backup.manifest.rowCounts.entries!;
    expect(inserted.every((n) => n > 0)).toBe(true);
    expect(after).toBeGreaterThan(before);
    expect(inBackup).toBeGreaterThanOrEqual(before);
    expect(inBackup).toBeLessThanOrEqual(after);
    expect(count()).toBe(1 + inserted.reduce((a, b) => a + b, 0));
    expect(verifyBackup(ctx.paths.backupDir, backup.id)).toEqual({ id: backup.id, ok: true, problems: [] });
    const snap = openReadOnly(path.join(backup.path, "app.db"));
    expect([integrityCheck(snap), stmt(snap, "SELECT count(*) FROM entries").pluck().get()]).toEqual(["ok", inBackup]);
    snap.close();
    expect(statSync(backup.path).isDirectory()).toBe(true);
  });
});
