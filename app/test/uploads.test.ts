import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { AUTH, createEntry, makeApp, multipart, sha256 } from "./helpers";

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

describe("attachments", () => {
  test("upload is stored by sha256, never under the client's name; download has safe headers", async () => {
    const { app, ctx } = await makeApp();
    const entry = await createEntry(app, "with file");
    const body = Buffer.from("<html><script>alert(1)</script></html>");
    const up = await app.inject({
      method: "POST",
      url: `/api/entries/${entry.id}/attachments`,
      ...multipart("résumé v2.html", body, "text/html"),
    });
    expect(up.statusCode).toBe(201);
    const a = up.json();
    const hash = sha256(body);
    expect({ ...a, createdAt: "x" }).toEqual({
      id: 1,
      entryId: entry.id,
      noteId: null,
      sha256: hash,
      size: body.length,
      mime: "text/html",
      filename: "résumé v2.html",
      createdAt: "x",
    });
    expect(filesUnder(ctx.paths.uploadsDir)).toEqual([path.join(hash.slice(0, 2), hash)]);
    const down = await app.inject({ url: `/api/attachments/${a.id}/download`, headers: AUTH });
    expect(down.rawPayload.equals(body)).toBe(true);
    expect({
      type: down.headers["content-type"],
      disposition: down.headers["content-disposition"],
      nosniff: down.headers["x-content-type-options"],
      csp: down.headers["content-security-policy"],
    }).toEqual({
      type: "text/html",
      disposition: "attachment; filename=\"r_sum_ v2.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20v2.html",
      nosniff: "nosniff",
      csp: "default-src 'none'; sandbox",
    });
  });

  test("attachment on a note belongs to the note's entry", async () => {
    const { app } = await makeApp();
    const entry = await createEntry(app, "noted");
    const note = (
      await app.inject({ method: "POST", url: `/api/entries/${entry.id}/notes`, headers: AUTH, payload: { body: "see file" } })
    ).json();
    const up = await app.inject({ method: "POST", url: `/api/notes/${note.id}/attachments`, ...multipart("a.txt", "abc", "text/plain") });
    expect([up.json().entryId, up.json().noteId]).toEqual([entry.id, note.id]);
    const list = (await app.inject({ url: `/api/entries/${entry.id}/attachments`, headers: AUTH })).json();
    expect(list.items.map((x: { filename: string }) => x.filename)).toEqual(["a.txt"]);
  });

  test.each([
    "../../etc/passwd",
    "../escape.txt",
    "a/b.txt",
    "..\\win.txt",
    "..",
    "sub\\x",
    // characters that change how a name reads: bidi overrides and isolates, zero-width, separators
    "invoice\u202Efdp.exe",
    "a\u2066b.txt",
    "a\u200Bb.txt",
    "a\u061Cb.txt",
    "a\u2028b.txt",
    "tab\tname.txt",
    "a\u007Fb",
    "a\uE000b.txt",
  ])("path traversal or hidden characters in the file name %j are refused and nothing is written", async (name) => {
    const { app, ctx, root } = await makeApp();
    const entry = await createEntry(app, "target");
    const before = filesUnder(root).filter((f) => !f.startsWith("data/app.db"));
    const res = await app.inject({ method: "POST", url: `/api/entries/${entry.id}/attachments`, ...multipart(name, "pwned") });
    expect([res.statusCode, res.json().field]).toEqual([400, "filename"]);
    expect(res.json().message).toBe(
      `filename: ${JSON.stringify(name)} must be a plain file name without path separators, '..', control or invisible formatting characters (such as U+202E)`,
    );
    expect(filesUnder(ctx.paths.uploadsDir)).toEqual([]);
    expect(filesUnder(root).filter((f) => !f.startsWith("data/app.db"))).toEqual(before);
    expect((await app.inject({ url: `/api/entries/${entry.id}/attachments`, headers: AUTH })).json().items).toEqual([]);
  });

  test("an oversize upload is refused with 413 and leaves no file or row", async () => {
    const { app, ctx } = await makeApp({ env: { MAX_UPLOAD_BYTES: "1024" } });
    const entry = await createEntry(app, "small files only");
    const ok = await app.inject({
      method: "POST",
      url: `/api/entries/${entry.id}/attachments`,
      ...multipart("ok.bin", Buffer.alloc(1024, 1)),
    });
    expect(ok.statusCode).toBe(201);
    const big = await app.inject({
      method: "POST",
      url: `/api/entries/${entry.id}/attachments`,
      ...multipart("big.bin", Buffer.alloc(4096, 2)),
    });
    expect(big.json()).toEqual({
      statusCode: 413,
      error: "Payload Too Large",
      message: "file: larger than the upload limit",
      field: "file",
    });
    const okHash = sha256(Buffer.alloc(1024, 1));
    expect(filesUnder(ctx.paths.uploadsDir)).toEqual([path.join(okHash.slice(0, 2), okHash)]);
    const items = (await app.inject({ url: `/api/entries/${entry.id}/attachments`, headers: AUTH })).json().items;
    expect(items.map((x: { filename: string }) => x.filename)).toEqual(["ok.bin"]);
    expect(readFileSync(path.join(ctx.paths.uploadsDir, okHash.slice(0, 2), okHash)).length).toBe(1024);
  });

  test("an upload without multipart or on a missing entry is refused", async () => {
    const { app } = await makeApp();
    const notMultipart = await app.inject({ method: "POST", url: "/api/entries/1/attachments", headers: AUTH, payload: { file: "x" } });
    expect(notMultipart.statusCode).toBe(404);
    const entry = await createEntry(app, "e");
    const json = await app.inject({ method: "POST", url: `/api/entries/${entry.id}/attachments`, headers: AUTH, payload: { file: "x" } });
    expect(json.json()).toEqual({
      statusCode: 400,
      error: "Bad Request",
      message: "body: must be multipart/form-data with a field named file",
      field: "body",
    });
  });
});
