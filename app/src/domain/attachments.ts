import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, utimesSync } from "node:fs";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { blobPath } from "../backup";
import { stmt } from "../db";
import type { DbSource } from "./entry-types";
import { NotFoundError, ValidationError } from "./errors";

/** An attachment's metadata; the bytes live under `uploads/` by sha256. */
export interface Attachment {
  readonly id: number;
  readonly entryId: number;
  readonly noteId: number | null;
  readonly sha256: string;
  readonly size: number;
  readonly mime: string;
  readonly filename: string;
  readonly createdAt: string;
}

/** The upload was larger than the limit. Maps to 413. */
export class TooLargeError extends Error {
  override name = "TooLargeError";
}

const MIME_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/**
 * Characters that change how a name reads rather than what it says: controls (Cc), format
 * characters (Cf: bidi overrides and isolates such as U+202E, zero-width characters), line and
 * paragraph separators, surrogates and private-use characters. U+202E turns "invoice\u202Efdp.exe"
 * into what looks like "invoiceexe.pdf".
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]/u;

/**
 * Checks a client-supplied file name. It is only ever shown and sent back in Content-Disposition,
 * never used as a path, but names that try path tricks or hide their real text are refused outright.
 */
export function checkFilename(name: string | undefined): string {
  if (!name) throw new ValidationError("filename", "is required");
  if (/[/\\]/.test(name) || INVISIBLE.test(name) || name === "." || name === ".." || name.includes("..")) {
    throw new ValidationError(
      "filename",
      `${JSON.stringify(name.slice(0, 100))} must be a plain file name without path separators, '..', control or invisible formatting characters (such as U+202E)`,
    );
  }
  if (Buffer.byteLength(name) > 255) throw new ValidationError("filename", "must be at most 255 bytes");
  return name.normalize("NFC");
}

/** A recorded mime type: the client's if it is well-formed, else application/octet-stream. */
export function normalizeMime(mime: string | undefined): string {
  const m = (mime ?? "").toLowerCase().split(";")[0]!.trim();
  return MIME_RE.test(m) ? m : "application/octet-stream";
}

/**
 * Streams an upload to `uploadsDir/.tmp`, hashing as it goes, then moves it to its content address.
 * `isTruncated` reports whether the source stopped at the size limit (the file is then discarded).
 */
export async function storeUpload(
  uploadsDir: string,
  source: Readable,
  isTruncated: () => boolean,
): Promise<{ sha256: string; size: number }> {
  const tmpDir = path.join(uploadsDir, ".tmp");
  mkdirSync(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, `${Date.now()}-${randomBytes(8).toString("hex")}`);
  const hash = createHash("sha256");
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, createWriteStream(tmp, { flags: "wx" }));
    if (isTruncated()) throw new TooLargeError("file: larger than the upload limit");
    const sha256 = hash.digest("hex");
    const dest = blobPath(uploadsDir, sha256);
    if (existsSync(dest)) {
      // A fresh mtime keeps the blob collector (src/blobs.ts) off it until the row is inserted.
      const now = new Date();
      utimesSync(dest, now, now);
      rmSync(tmp, { force: true });
    } else {
      mkdirSync(path.dirname(dest), { recursive: true });
      renameSync(tmp, dest);
    }
    return { sha256, size };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

const SELECT = `SELECT id, entry_id AS entryId, note_id AS noteId, sha256, size, mime, filename, created_at AS createdAt FROM attachments`;

/** Attachment rows. Blobs are shared by content; the blob collector (src/blobs.ts) frees those no row references. */
export class AttachmentRepository {
  constructor(
    private readonly db: DbSource,
    readonly uploadsDir: string,
  ) {}

  /** Attachments of an entry (including those on its notes). */
  listFor(entryId: number): Attachment[] {
    return stmt(this.db(), `${SELECT} WHERE entry_id = ? ORDER BY id`).all(entryId) as Attachment[];
  }

  /** One attachment, or throws {@link NotFoundError}. */
  get(id: number): Attachment {
    const a = stmt(this.db(), `${SELECT} WHERE id = ?`).get(id) as Attachment | undefined;
    if (!a) throw new NotFoundError("attachment", id);
    return a;
  }

  /** Absolute path of an attachment's bytes. */
  fileOf(a: Attachment): string {
    return blobPath(this.uploadsDir, a.sha256);
  }

  /** Records a stored upload on an entry or on one of its notes. */
  create(input: { entryId: number; noteId: number | null; sha256: string; size: number; mime: string; filename: string }): Attachment {
    const db = this.db();
    const id = Number(
      stmt(db, "INSERT INTO attachments (entry_id, note_id, sha256, size, mime, filename, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)").run(
        input.entryId,
        input.noteId,
        input.sha256,
        input.size,
        input.mime,
        input.filename,
        new Date().toISOString(),
      ).lastInsertRowid,
    );
    return this.get(id);
  }

  /** Removes an attachment row. */
  delete(id: number): void {
    if (stmt(this.db(), "DELETE FROM attachments WHERE id = ?").run(id).changes === 0) throw new NotFoundError("attachment", id);
  }
}
