import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { blobPath, createBackup, readManifest } from "../src/backup";
import { backupKey, sha256Regular, signManifest, tableCounts } from "../src/backup-checks";
import { openFile } from "../src/db";
import { AUTH, createEntry, makeApp, multipart, type TestApp } from "./helpers";

/** An instance with an entry, a note and an attachment, and a backup of it. */
async function withBackup() {
  const t = await makeApp();
  const e = await createEntry(t.app, "live entry");
  await t.app.inject({ method: "POST", url: `/api/entries/${e.id}/notes`, headers: AUTH, payload: { body: "note" } });
  await t.app.inject({ method: "POST", url: `/api/entries/${e.id}/attachments`, ...multipart("a.txt", "attached bytes") });
  const b = createBackup({ paths: t.ctx.paths, instance: "test", appVersion: "1.0.0" });
  return { ...t, id: b.id, dir: b.path };
}

/** Rewrites the manifest after the backup's files changed, signed with `key` (as a backup this instance made of a bad database would be). */
function reseal(dir: string, key: Buffer | null, edit: (m: Record<string, unknown>) => void = () => {}) {
  const file = path.join(dir, "manifest.json");
  const m = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown> & { files: Record<string, { sha256: string; size: number }> };
  const db = path.join(dir, "app.db");
  m.files["app.db"] = { sha256: sha256Regular(db), size: readFileSync(db).length };
  delete m.signature;
  edit(m);
  if (key) m.signature = signManifest(m, key);
  writeFileSync(file, JSON.stringify(m, null, 2));
}

/** Runs SQL on the backup's snapshot and reseals it with the instance's key, keeping rowCounts true. */
function editSnapshot(t: { dir: string; ctx: TestApp["ctx"] }, sql: string) {
  const db = openFile(path.join(t.dir, "app.db"));
  db.exec(sql);
  const counts = tableCounts(db);
  db.close();
  reseal(t.dir, backupKey(t.ctx.paths.dataDir), (m) => (m.rowCounts = counts));
}

async function observable(t: TestApp) {
  const entries = (await t.app.inject({ url: "/api/entries?archived=all", headers: AUTH })).json();
  const atts = (await t.app.inject({ url: "/api/entries/1/attachments", headers: AUTH })).json().items;
  const down = await t.app.inject({ url: `/api/attachments/${atts[0].id}/download`, headers: AUTH });
  return {
    entries,
    atts,
    download: down.body,
    backups: readdirSync(t.ctx.paths.backupDir)
      .filter((f) => !f.startsWith("."))
      .sort(),
  };
}

const SHA = "ab".repeat(32);
const cases: [string, (t: Awaited<ReturnType<typeof withBackup>>) => void, string][] = [
  [
    "an attachment hash that walks out of uploads/",
    (t) => editSnapshot(t, `DROP TRIGGER attachments_sha256_update; UPDATE attachments SET sha256 = '../../../../../${"x".repeat(49)}'`),
    `app.db: 1 attachment hashes are not 64 lowercase hex digits ("../../../../../${"x".repeat(49)}")`,
  ],
  [
    "an upper-case attachment hash",
    (t) => editSnapshot(t, `DROP TRIGGER attachments_sha256_update; UPDATE attachments SET sha256 = upper(sha256)`),
    "app.db: the schema differs from the one migrations 1-5 build (tables, indexes or triggers were changed)",
  ],
  [
    "an attachment whose blob is not in the backup",
    (t) => editSnapshot(t, `UPDATE attachments SET sha256 = '${SHA}'`),
    `app.db: 1 attachments have no file in the backup (${SHA})`,
  ],
  [
    "an empty database",
    (t) => (writeFileSync(path.join(t.dir, "app.db"), ""), reseal(t.dir, backupKey(t.ctx.paths.dataDir))),
    "app.db: has no schema (no applied migrations)",
  ],
  [
    "a database of random bytes",
    (t) => (writeFileSync(path.join(t.dir, "app.db"), Buffer.alloc(8192, 0x5a)), reseal(t.dir, backupKey(t.ctx.paths.dataDir))),
    "app.db: not a SQLite database (file is not a database)",
  ],
  [
    "a symbolic link as app.db",
    (t) => (rmSync(path.join(t.dir, "app.db")), symlinkSync(t.ctx.paths.dbFile, path.join(t.dir, "app.db"))),
    "app.db: is a symbolic link",
  ],
  ["a FIFO among the uploads", (t) => execFileSync("mkfifo", [path.join(t.dir, "uploads", "fifo")]), "uploads/fifo: is not a regular file"],
  [
    "edited metadata (row counts), signed again",
    (t) => reseal(t.dir, backupKey(t.ctx.paths.dataDir), (m) => ((m.rowCounts as Record<string, number>).entries = 5)),
    'manifest: rowCounts {"attachments":1,"entries":5,"entry_types":1,"notes":1,"relationship_types":0,"relationships":0,"schema_migrations":5,"sessions":0,"settings":0,"states":3} do not match the database {"attachments":1,"entries":1,"entry_types":1,"notes":1,"relationship_types":0,"relationships":0,"schema_migrations":5,"sessions":0,"settings":0,"states":3}',
  ],
  [
    "edited metadata, not signed again",
    (t) => {
      const file = path.join(t.dir, "manifest.json");
      writeFileSync(file, readFileSync(file, "utf8").replace('"reason": "manual"', '"reason": "pre-update"'));
    },
    "the signature does not match the manifest (it was changed)",
  ],
  [
    "a changed migration checksum",
    (t) => editSnapshot(t, `UPDATE schema_migrations SET checksum = '${"0".repeat(64)}' WHERE version = 2`),
    'app.db: applied migration 2 "0002_default_entry_type.sql" is not this app\'s 0002_default_entry_type.sql (name or checksum differs)',
  ],
  [
    "an extra trigger",
    (t) => editSnapshot(t, "CREATE TRIGGER evil AFTER INSERT ON entries BEGIN DELETE FROM notes; END"),
    "app.db: the schema differs from the one migrations 1-5 build (tables, indexes or triggers were changed)",
  ],
  [
    "a row that points at nothing",
    (t) =>
      editSnapshot(
        t,
        "PRAGMA foreign_keys = OFF; INSERT INTO notes (entry_id, body, created_at, updated_at) VALUES (999, 'orphan', 'x', 'x')",
      ),
    "app.db: foreign_key_check: 1 rows point at missing rows (notes 2 -> entries)",
  ],
  [
    "another instance's backup",
    (t) => reseal(t.dir, backupKey(t.ctx.paths.dataDir), (m) => (m.instance = "other")),
    'made by instance "other", not "test"',
  ],
  ["an unsigned backup", (t) => reseal(t.dir, null), "the manifest is not signed"],
  [
    "a backup signed by another key",
    (t) => reseal(t.dir, Buffer.alloc(32, 1)),
    `signed by another key (${signManifest({}, Buffer.alloc(32, 1)).keyId}; this instance's key is ${"KEY"}, e.g. another host or a new data volume)`,
  ],
];

describe("a backup is untrusted input: restore refuses with 422 and the reason, and loses nothing", () => {
  test.each(cases)("%s", async (_name, mutate, problem) => {
    const t = await withBackup();
    const before = await observable(t);
    mutate(t);
    const res = await t.app.inject({ method: "POST", url: `/api/backups/${t.id}/restore`, headers: AUTH, payload: {} });
    const body = res.json();
    const key = signManifest({}, backupKey(t.ctx.paths.dataDir)).keyId;
    expect([res.statusCode, body.error]).toEqual([422, "Unprocessable Entity"]);
    expect(body.message.split(/: |; |\. /).join("|")).toContain(
      problem
        .replace("KEY", key)
        .split(/: |; |\. /)
        .join("|"),
    );
    expect([body.message.includes(t.ctx.paths.backupDir), body.message.includes(t.ctx.paths.dataDir)]).toEqual([false, false]);
    expect(t.ctx.maintenance).toBe(false);
    expect(await observable(t)).toEqual(before);
    expect((await t.app.inject({ url: "/api/health" })).json().status).toBe("ok");
  });

  test("--trust restores another instance's or another key's backup; its content is still checked", async () => {
    const t = await withBackup();
    reseal(t.dir, Buffer.alloc(32, 1), (m) => (m.instance = "other"));
    const refused = await t.app.inject({ method: "POST", url: `/api/backups/${t.id}/restore`, headers: AUTH, payload: {} });
    expect(refused.json().message).toMatch(
      /If you know where it comes from \(an off-site copy, a new host\), restore it with --trust \(API: \{"trust": true\}\)$/,
    );
    await createEntry(t.app, "after the backup");
    const ok = await t.app.inject({ method: "POST", url: `/api/backups/${t.id}/restore`, headers: AUTH, payload: { trust: true } });
    expect([ok.statusCode, ok.json().restored]).toEqual([200, t.id]);
    expect((await t.app.inject({ url: "/api/entries", headers: AUTH })).json().items.map((e: { title: string }) => e.title)).toEqual([
      "live entry",
    ]);
    const t2 = await withBackup();
    editSnapshot(t2, "CREATE TRIGGER evil AFTER INSERT ON entries BEGIN DELETE FROM notes; END");
    reseal(t2.dir, null);
    const bad = await t2.app.inject({ method: "POST", url: `/api/backups/${t2.id}/restore`, headers: AUTH, payload: { trust: true } });
    expect([bad.statusCode, bad.json().message]).toEqual([
      422,
      `backup ${t2.id} failed verification: app.db: the schema differs from the one migrations 1-5 build (tables, indexes or triggers were changed)`,
    ]);
  });

  test("a manifest that names a path outside the backup is refused before any file is read", async () => {
    const t = await withBackup();
    const file = path.join(t.dir, "manifest.json");
    const m = JSON.parse(readFileSync(file, "utf8"));
    m.files["uploads/../../../etc/passwd"] = { sha256: SHA, size: 1 };
    writeFileSync(file, JSON.stringify(m));
    const res = await t.app.inject({ method: "POST", url: `/api/backups/${t.id}/verify`, headers: AUTH });
    expect([res.statusCode, res.json().problems]).toEqual([
      422,
      [`BACKUP_DIR/${t.id}/manifest.json: field files.uploads/../../../etc/passwd: must be app.db or uploads/<2 hex>/<sha256>`],
    ]);
  });

  test("a backup of a live database holding a non-hex hash fails cleanly and writes nothing outside its temp directory", async () => {
    const t = await withBackup();
    t.ctx.db.exec(`DROP TRIGGER attachments_sha256_update; UPDATE attachments SET sha256 = '../../../../${"y".repeat(52)}'`);
    const list = () =>
      readdirSync(t.root, { recursive: true })
        .map(String)
        .filter((f) => !f.includes("app.db"))
        .sort();
    const before = list();
    expect(() => createBackup({ paths: t.ctx.paths, instance: "test", appVersion: "1.0.0" })).toThrow(
      `not a sha256 (64 lowercase hex digits): "../../../../${"y".repeat(52)}"`,
    );
    expect(list()).toEqual(before);
    expect(() => blobPath(t.ctx.paths.uploadsDir, "../x")).toThrow('not a sha256 (64 lowercase hex digits): "../x"');
  });

  test("manifests are signed with the instance's key, kept in DATA_DIR with mode 0600", async () => {
    const t = await withBackup();
    const key = backupKey(t.ctx.paths.dataDir);
    const m = readManifest(t.ctx.paths.backupDir, t.id);
    const { signature, ...rest } = m;
    expect(signature).toEqual(signManifest(rest, key));
    const keyFile = path.join(t.ctx.paths.dataDir, ".backup-key");
    expect([readFileSync(keyFile, "utf8"), execFileSync("stat", ["-c", "%a", keyFile], { encoding: "utf8" })]).toEqual([
      `${key.toString("hex")}\n`,
      "600\n",
    ]);
    mkdirSync(path.join(t.root, "other"));
    expect(backupKey(path.join(t.root, "other")).equals(key)).toBe(false);
  });
});
