import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { loadConfig } from "../src/config";
import { AppContext } from "../src/context";
import { type Db, openDatabase, openReadOnly, pathsFor, stmt } from "../src/db";
import { loadMigrations, MigrationError } from "../src/migrations";
import { APP_DIR, installedApp, migrationsDir, tempDir, testEnv } from "./helpers";

/** Everything observable in a database: schema and every row of every table. */
function dump(db: Db): string {
  const tables = stmt(db, "SELECT name, sql FROM sqlite_master ORDER BY type, name").all() as { name: string; sql: string | null }[];
  const rows = tables.filter((t) => t.sql?.startsWith("CREATE TABLE")).map((t) => [t.name, stmt(db, `SELECT * FROM "${t.name}"`).all()]);
  return JSON.stringify({ tables, rows });
}

function dumpFile(file: string): string {
  const db = openReadOnly(file);
  try {
    return dump(db);
  } finally {
    db.close();
  }
}

function openCtx(root: string, dir: string): AppContext {
  return AppContext.open(loadConfig(testEnv(root)), { migrationsDir: dir });
}

describe("migrations", () => {
  test("a fresh database gets every migration, recorded with name, checksum and time", () => {
    const root = tempDir();
    const files = loadMigrations();
    expect(files.map((m) => m.name)).toEqual([
      "0001_init.sql",
      "0002_default_entry_type.sql",
      "0003_entry_filter_indexes.sql",
      "0004_sessions.sql",
      "0005_type_pages.sql",
    ]);
    const ctx = openCtx(root, migrationsDir(files.length));
    const rows = stmt(ctx.db, "SELECT version, name, checksum, applied_at FROM schema_migrations").all() as Record<string, unknown>[];
    expect(rows.map((r) => [r.version, r.name, r.checksum])).toEqual(files.map((m) => [m.version, m.name, m.checksum]));
    expect(rows.every((r) => typeof r.applied_at === "string" && !Number.isNaN(Date.parse(r.applied_at as string)))).toBe(true);
    expect(ctx.schemaVersion).toBe(5);
    expect(stmt(ctx.db, "PRAGMA journal_mode").pluck().get()).toBe("wal");
    expect(stmt(ctx.db, "PRAGMA foreign_keys").pluck().get()).toBe(1);
    expect(stmt(ctx.db, "PRAGMA busy_timeout").pluck().get()).toBe(5000);
    ctx.close();
    // first start of an empty database: nothing to back up
    expect(readdirSync(path.join(root, "backups")).filter((f) => !f.startsWith("."))).toEqual([]);
  });

  test("pending migrations on an existing database are applied after an automatic backup", () => {
    const root = tempDir();
    openCtx(root, migrationsDir(1)).close();
    const ctx = openCtx(root, migrationsDir(4));
    expect(ctx.schemaVersion).toBe(4);
    ctx.close();
    const backups = readdirSync(path.join(root, "backups")).filter((f) => !f.startsWith("."));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/^test-\d{8}t\d{9}z-v1\.0\.0-s0001$/);
  });

  test("a failing migration rolls back, leaves the database unchanged, and the server refuses to start", () => {
    const root = tempDir();
    openCtx(root, migrationsDir(2)).close();
    const dbFile = path.join(root, "data", "app.db");
    const before = dumpFile(dbFile);
    const broken = migrationsDir(2, {
      "0003_broken.sql": "CREATE TABLE tags (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n",
    });
    expect(() => openCtx(root, broken)).toThrow(
      new MigrationError("migration 0003_broken.sql failed and was rolled back: no such table: no_such_table"),
    );
    expect(dumpFile(dbFile)).toBe(before);

    // The real server, pointed at the broken migrations, exits non-zero with the message and changes nothing.
    const res = spawnSync(process.execPath, [path.join(installedApp(broken), "dist/server.js")], {
      env: { ...process.env, ...testEnv(root), PORT: "18999" },
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toBe("refusing to start: migration 0003_broken.sql failed and was rolled back: no such table: no_such_table\n");
    expect(dumpFile(dbFile)).toBe(before);
  });

  test("a changed checksum of an applied migration is refused", () => {
    const root = tempDir();
    const dir = migrationsDir(2);
    openCtx(root, dir).close();
    writeFileSync(path.join(dir, "0002_default_entry_type.sql"), "-- edited after release\nSELECT 1;\n");
    const message =
      /^migration 0002_default_entry_type\.sql changed after it was applied \(checksum [0-9a-f]{12} in the database, [0-9a-f]{12} in the file\); never edit applied migrations, add a new one$/;
    expect(() => openCtx(root, dir)).toThrow(message);
    const res = spawnSync(process.execPath, [path.join(installedApp(dir), "dist/server.js")], {
      env: { ...process.env, ...testEnv(root), PORT: "18998" },
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`^refusing to start: ${message.source.slice(1, -1)}\n$`));
  });

  test("0003 indexes the archived+type and archived+state filters and changes no table and no row", () => {
    const root = tempDir();
    const v2 = openCtx(root, migrationsDir(2));
    stmt(
      v2.db,
      "INSERT INTO entries (type_id, state_id, title, created_at, updated_at) VALUES (1, 1, 'kept', '2026-01-01', '2026-01-01')",
    ).run();
    const tablesAndRows = (db: Db) => {
      const { tables, rows } = JSON.parse(dump(db)) as { tables: { sql: string | null }[]; rows: [string, unknown][] };
      return {
        tables: tables.filter((t) => !t.sql?.startsWith("CREATE INDEX")),
        rows: rows.filter(([name]) => name !== "schema_migrations"),
      };
    };
    const before = tablesAndRows(v2.db);
    v2.close();
    const v3 = openCtx(root, migrationsDir(3));
    expect(tablesAndRows(v3.db)).toEqual(before);
    const indexes = stmt(
      v3.db,
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'entries_archived%' ORDER BY name",
    ).all();
    expect(indexes).toEqual([
      { name: "entries_archived_state", sql: "CREATE INDEX entries_archived_state ON entries (archived, state_id)" },
      { name: "entries_archived_type", sql: "CREATE INDEX entries_archived_type ON entries (archived, type_id)" },
    ]);
    const plan = (where: string) =>
      stmt(v3.db, `EXPLAIN QUERY PLAN SELECT count(*) FROM entries e WHERE ${where}`)
        .all()
        .map((r) => (r as { detail: string }).detail);
    expect(plan("e.type_id = 1 AND e.archived = 0")).toEqual([
      "SEARCH e USING COVERING INDEX entries_archived_type (archived=? AND type_id=?)",
    ]);
    expect(plan("e.state_id = 1 AND e.archived = 0")).toEqual([
      "SEARCH e USING COVERING INDEX entries_archived_state (archived=? AND state_id=?)",
    ]);
    v3.close();
  });

  test("0004 adds the sessions table, keeps every table and row, and refuses a non-hex attachment hash", () => {
    const root = tempDir();
    const v3 = openCtx(root, migrationsDir(3));
    stmt(
      v3.db,
      "INSERT INTO entries (type_id, state_id, title, created_at, updated_at) VALUES (1, 1, 'kept', '2026-01-01', '2026-01-01')",
    ).run();
    const { tables, rows } = JSON.parse(dump(v3.db)) as { tables: unknown[]; rows: [string, unknown][] };
    v3.close();
    const v4 = openCtx(root, migrationsDir(4));
    const after = JSON.parse(dump(v4.db)) as { tables: { name: string }[]; rows: [string, unknown][] };
    expect(
      after.tables.filter(
        (t) =>
          ![
            "sessions",
            "sqlite_autoindex_sessions_1",
            "sessions_expires",
            "attachments_sha256_insert",
            "attachments_sha256_update",
          ].includes(t.name),
      ),
    ).toEqual(tables);
    expect(after.rows.filter(([name]) => name !== "schema_migrations" && name !== "sessions")).toEqual(
      rows.filter(([name]) => name !== "schema_migrations"),
    );
    const insert = (sha: string) =>
      stmt(
        v4.db,
        "INSERT INTO attachments (entry_id, sha256, size, mime, filename, created_at) VALUES (1, ?, 1, 'text/plain', 'a', 'x')",
      ).run(sha);
    expect(() => insert(`../../${"a".repeat(58)}`)).toThrow("attachments.sha256 must be 64 lowercase hex digits");
    expect(() => insert("A".repeat(64))).toThrow("attachments.sha256 must be 64 lowercase hex digits");
    expect(insert("a".repeat(64)).changes).toBe(1);
    expect(() => stmt(v4.db, "UPDATE attachments SET sha256 = ?").run("../".repeat(21) + "a")).toThrow(
      "attachments.sha256 must be 64 lowercase hex digits",
    );
    v4.close();
  });

  test("a database newer than the code is refused", () => {
    const root = tempDir();
    openCtx(root, migrationsDir(2)).close();
    expect(() => openCtx(root, migrationsDir(1))).toThrow(
      new MigrationError(
        "the database is at schema version 2 (0002_default_entry_type.sql) but this app only knows 1; run a newer app version or restore a backup",
      ),
    );
  });

  test("an unusable DATA_DIR is named in the error", () => {
    const root = tempDir();
    writeFileSync(path.join(root, "file"), "");
    const config = loadConfig({ ...testEnv(root), DATA_DIR: path.join(root, "file", "data") });
    expect(() => AppContext.open(config)).toThrow(
      `DATA_DIR: cannot use ${path.join(root, "file", "data")} (ENOTDIR); it must be a writable directory, e.g. a mounted volume`,
    );
  });

  test("migrate status and migrate up through the CLI", () => {
    const root = tempDir();
    const env = { ...process.env, ...testEnv(root) };
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(APP_DIR, "dist/cli.js"), ...args], { env, encoding: "utf8" });
    const status0 = cli("migrate", "status");
    expect(JSON.parse(status0.stdout)).toEqual({
      database: null,
      schemaVersion: 0,
      latest: 5,
      applied: [],
      pending: [
        "0001_init.sql",
        "0002_default_entry_type.sql",
        "0003_entry_filter_indexes.sql",
        "0004_sessions.sql",
        "0005_type_pages.sql",
      ],
    });
    const up = cli("migrate", "up");
    expect(JSON.parse(up.stdout)).toEqual({
      schemaVersion: 5,
      applied: [
        "0001_init.sql",
        "0002_default_entry_type.sql",
        "0003_entry_filter_indexes.sql",
        "0004_sessions.sql",
        "0005_type_pages.sql",
      ],
      backup: null,
    });
    const status = JSON.parse(cli("migrate", "status").stdout);
    expect([status.schemaVersion, status.pending, status.applied.map((a: { name: string }) => a.name)]).toEqual([
      5,
      [],
      ["0001_init.sql", "0002_default_entry_type.sql", "0003_entry_filter_indexes.sql", "0004_sessions.sql", "0005_type_pages.sql"],
    ]);
  });

  test("two processes migrating at once: the lock serializes them and each migration runs once", async () => {
    const root = tempDir();
    const env = { ...process.env, ...testEnv(root) };
    const run = () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, [path.join(APP_DIR, "dist/cli.js"), "migrate", "up"], { env });
        let out = "";
        p.stdout.on("data", (d: Buffer) => (out += d.toString()));
        p.on("close", (code) => resolve({ code, out }));
      });
    const results = await Promise.all([run(), run(), run()]);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    const applied = results.map((r) => JSON.parse(r.out).applied as string[]).sort((a, b) => b.length - a.length);
    expect(applied).toEqual([
      ["0001_init.sql", "0002_default_entry_type.sql", "0003_entry_filter_indexes.sql", "0004_sessions.sql", "0005_type_pages.sql"],
      [],
      [],
    ]);
    const db = openDatabase(pathsFor(path.join(root, "data"), path.join(root, "backups")).dbFile);
    expect(stmt(db, "SELECT count(*) FROM schema_migrations").pluck().get()).toBe(5);
    db.close();
    expect(existsSync(path.join(root, "data", "app.db"))).toBe(true);
  });
});
