import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync, utimesSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, test, vi } from "vitest";
import { blobPath } from "../src/backup";
import { collectGarbage, withBlobReadLock } from "../src/blobs";
import { storeUpload } from "../src/domain/attachments";
import { AUTH, createEntry, makeApp, multipart, sha256 } from "./helpers";

/** Bytes of every blob under uploads/ (the live content store). */
function uploadBytes(uploadsDir: string): number {
  let total = 0;
  for (const shard of readdirSync(uploadsDir)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const f of readdirSync(path.join(uploadsDir, shard))) total += statSync(path.join(uploadsDir, shard, f)).size;
  }
  return total;
}

/** Makes a blob look `seconds` old, as if uploaded long ago. */
function age(file: string, seconds: number): void {
  const t = new Date(Date.now() - seconds * 1000);
  utimesSync(file, t, t);
}

describe("upload blob collection", () => {
  test("deleting entries frees their blobs; a blob shared with a kept entry stays until its last reference goes", async () => {
    const { app, ctx } = await makeApp();
    const a = await createEntry(app, "a");
    const b = await createEntry(app, "b");
    const shared = Buffer.alloc(40_000, 1);
    const onlyA = Buffer.alloc(60_000, 2);
    for (const [entry, name, bytes] of [
      [a, "shared.bin", shared],
      [a, "only-a.bin", onlyA],
      [b, "shared.bin", shared],
    ] as const) {
      const res = await app.inject({ method: "POST", url: `/api/entries/${entry.id}/attachments`, ...multipart(name, bytes) });
      expect(res.statusCode).toBe(201);
    }
    const dir = ctx.paths.uploadsDir;
    expect(uploadBytes(dir)).toBe(100_000);
    const gc = () => collectGarbage({ paths: ctx.paths, db: () => ctx.db, graceMs: 0 });

    expect((await app.inject({ method: "DELETE", url: `/api/entries/${a.id}`, headers: AUTH })).statusCode).toBe(204);
    expect(await gc()).toEqual({ deleted: 1, freedBytes: 60_000, kept: 1, skipped: null });
    expect(uploadBytes(dir)).toBe(40_000);
    expect(existsSync(blobPath(dir, sha256(onlyA)))).toBe(false);

    expect((await app.inject({ method: "DELETE", url: `/api/entries/${b.id}`, headers: AUTH })).statusCode).toBe(204);
    expect(await gc()).toEqual({ deleted: 1, freedBytes: 40_000, kept: 0, skipped: null });
    expect(uploadBytes(dir)).toBe(0);
  });

  test("the server collects on its own after a DELETE (BLOB_GRACE_SECONDS old blobs only)", async () => {
    const { app, ctx } = await makeApp({ env: { BLOB_GRACE_SECONDS: "5" } });
    const e = await createEntry(app, "e");
    const bytes = Buffer.alloc(10_000, 3);
    const up = (await app.inject({ method: "POST", url: `/api/entries/${e.id}/attachments`, ...multipart("x.bin", bytes) })).json();
    const file = blobPath(ctx.paths.uploadsDir, up.sha256);
    age(file, 10);
    expect((await app.inject({ method: "DELETE", url: `/api/attachments/${up.id}`, headers: AUTH })).statusCode).toBe(204);
    await vi.waitFor(() => expect(existsSync(file)).toBe(false), { timeout: 5000, interval: 50 });
    expect(ctx.blobs.last).toMatchObject({ deleted: 1, freedBytes: 10_000, kept: 0, skipped: null });
  });

  test("an upload of content whose old unreferenced blob is still there keeps it: the collector runs between store and row", async () => {
    const { app, ctx } = await makeApp();
    const e = await createEntry(app, "e");
    const bytes = Buffer.alloc(5000, 4);
    const up = (await app.inject({ method: "POST", url: `/api/entries/${e.id}/attachments`, ...multipart("x.bin", bytes) })).json();
    await app.inject({ method: "DELETE", url: `/api/attachments/${up.id}`, headers: AUTH });
    const file = blobPath(ctx.paths.uploadsDir, up.sha256);
    age(file, 3600);

    // The same content is uploaded again: the blob is found, not rewritten, and its row is not inserted yet.
    const stored = await storeUpload(ctx.paths.uploadsDir, Readable.from([bytes]), () => false);
    expect(stored).toEqual({ sha256: up.sha256, size: 5000 });
    expect(await collectGarbage({ paths: ctx.paths, db: () => ctx.db, graceMs: 60_000 })).toEqual({
      deleted: 0,
      freedBytes: 0,
      kept: 1,
      skipped: null,
    });
    ctx.repos.attachments.create({ entryId: e.id, noteId: null, ...stored, mime: "application/octet-stream", filename: "x.bin" });
    expect(sha256(await (await import("node:fs/promises")).readFile(file))).toBe(up.sha256);

    // Without that touch the same blob would have gone: the grace is what protects it.
    const other = Buffer.alloc(5000, 5);
    const lone = await storeUpload(ctx.paths.uploadsDir, Readable.from([other]), () => false);
    age(blobPath(ctx.paths.uploadsDir, lone.sha256), 3600);
    expect(await collectGarbage({ paths: ctx.paths, db: () => ctx.db, graceMs: 60_000 })).toEqual({
      deleted: 1,
      freedBytes: 5000,
      kept: 1,
      skipped: null,
    });
  });

  test("a backup in progress in another process holds the collector off; afterwards it runs", async () => {
    const { app, ctx } = await makeApp();
    const e = await createEntry(app, "e");
    const up = (
      await app.inject({ method: "POST", url: `/api/entries/${e.id}/attachments`, ...multipart("x.bin", Buffer.alloc(2000, 6)) })
    ).json();
    await app.inject({ method: "DELETE", url: `/api/entries/${e.id}`, headers: AUTH });
    const file = blobPath(ctx.paths.uploadsDir, up.sha256);

    // Another process holds the shared lock as createBackupRecorded does, until told to stop.
    const holder = spawn(
      process.execPath,
      [
        "-e",
        `const { withBlobReadLock } = require(${JSON.stringify(path.resolve(__dirname, "../dist/blobs.js"))});
         withBlobReadLock(${JSON.stringify(ctx.paths)}, () => { process.stdout.write("held\\n"); require("node:child_process").execSync("read _", { stdio: ["inherit", "ignore", "ignore"], shell: "/bin/bash" }); });`,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
    const gc = () => collectGarbage({ paths: ctx.paths, db: () => ctx.db, graceMs: 0 });
    expect(await gc()).toEqual({ deleted: 0, freedBytes: 0, kept: 0, skipped: "backup-in-progress" });
    expect(existsSync(file)).toBe(true);
    holder.stdin.end("\n");
    await new Promise((r) => holder.once("exit", r));
    expect(await gc()).toEqual({ deleted: 1, freedBytes: 2000, kept: 0, skipped: null });

    // In this process too: a collector started inside a backup's lock gives up.
    expect(await withBlobReadLock(ctx.paths, () => gc())).toEqual({ deleted: 0, freedBytes: 0, kept: 0, skipped: "backup-in-progress" });
  });
});
