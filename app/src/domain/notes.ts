import { stmt } from "../db";
import type { DbSource } from "./entry-types";
import { NotFoundError } from "./errors";

/** A note on an entry. */
export interface Note {
  readonly id: number;
  readonly entryId: number;
  readonly body: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

const SELECT = "SELECT id, entry_id AS entryId, body, created_at AS createdAt, updated_at AS updatedAt FROM notes";

/** Notes on entries, oldest first. */
export class NoteRepository {
  constructor(private readonly db: DbSource) {}

  /** Notes of an entry. */
  listFor(entryId: number): Note[] {
    return stmt(this.db(), `${SELECT} WHERE entry_id = ? ORDER BY id`).all(entryId) as Note[];
  }

  /** One note, or throws {@link NotFoundError}. */
  get(id: number): Note {
    const n = stmt(this.db(), `${SELECT} WHERE id = ?`).get(id) as Note | undefined;
    if (!n) throw new NotFoundError("note", id);
    return n;
  }

  /** Adds a note to an existing entry. */
  create(entryId: number, body: string): Note {
    const db = this.db();
    if (!stmt(db, "SELECT 1 FROM entries WHERE id = ?").get(entryId)) throw new NotFoundError("entry", entryId);
    const now = new Date().toISOString();
    const id = Number(
      stmt(db, "INSERT INTO notes (entry_id, body, created_at, updated_at) VALUES (?, ?, ?, ?)").run(entryId, body, now, now)
        .lastInsertRowid,
    );
    return this.get(id);
  }

  /** Changes a note's body. */
  update(id: number, body: string): Note {
    const r = stmt(this.db(), "UPDATE notes SET body = ?, updated_at = ? WHERE id = ?").run(body, new Date().toISOString(), id);
    if (r.changes === 0) throw new NotFoundError("note", id);
    return this.get(id);
  }

  /** Deletes a note and its attachments rows. */
  delete(id: number): void {
    if (stmt(this.db(), "DELETE FROM notes WHERE id = ?").run(id).changes === 0) throw new NotFoundError("note", id);
  }
}
