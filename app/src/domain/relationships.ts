import { stmt } from "../db";
import type { DbSource } from "./entry-types";
import { ConflictError, NotFoundError, ValidationError } from "./errors";

/** A typed link between two entries: `from` kind `to` (e.g. batch 12 uses recipe 3). */
export interface Relationship {
  readonly id: number;
  readonly fromEntryId: number;
  readonly kind: string;
  readonly toEntryId: number;
  readonly fromTitle: string;
  readonly toTitle: string;
  readonly createdAt: string;
}

const SELECT = `SELECT r.id, r.from_entry_id AS fromEntryId, r.kind, r.to_entry_id AS toEntryId,
  f.title AS fromTitle, t.title AS toTitle, r.created_at AS createdAt
  FROM relationships r JOIN entries f ON f.id = r.from_entry_id JOIN entries t ON t.id = r.to_entry_id`;

/** Typed relationships between entries. */
export class RelationshipRepository {
  constructor(private readonly db: DbSource) {}

  /** Links from and to an entry. */
  listFor(entryId: number): { outgoing: Relationship[]; incoming: Relationship[] } {
    const db = this.db();
    return {
      outgoing: stmt(db, `${SELECT} WHERE r.from_entry_id = ? ORDER BY r.id`).all(entryId) as Relationship[],
      incoming: stmt(db, `${SELECT} WHERE r.to_entry_id = ? ORDER BY r.id`).all(entryId) as Relationship[],
    };
  }

  /** One relationship, or throws {@link NotFoundError}. */
  get(id: number): Relationship {
    const r = stmt(this.db(), `${SELECT} WHERE r.id = ?`).get(id) as Relationship | undefined;
    if (!r) throw new NotFoundError("relationship", id);
    return r;
  }

  /** Links `fromEntryId` to `toEntryId` with `kind`. */
  create(fromEntryId: number, kind: string, toEntryId: number): Relationship {
    const db = this.db();
    if (!stmt(db, "SELECT 1 FROM entries WHERE id = ?").get(fromEntryId)) throw new NotFoundError("entry", fromEntryId);
    if (fromEntryId === toEntryId) throw new ValidationError("toEntryId", "an entry cannot be related to itself");
    if (!stmt(db, "SELECT 1 FROM entries WHERE id = ?").get(toEntryId)) {
      throw new ValidationError("toEntryId", `entry ${toEntryId} does not exist`);
    }
    try {
      const id = Number(
        stmt(db, "INSERT INTO relationships (from_entry_id, kind, to_entry_id, created_at) VALUES (?, ?, ?, ?)").run(
          fromEntryId,
          kind,
          toEntryId,
          new Date().toISOString(),
        ).lastInsertRowid,
      );
      return this.get(id);
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
        throw new ConflictError(`entry ${fromEntryId} already ${kind} entry ${toEntryId}`);
      }
      throw err;
    }
  }

  /** Removes a relationship. */
  delete(id: number): void {
    if (stmt(this.db(), "DELETE FROM relationships WHERE id = ?").run(id).changes === 0) {
      throw new NotFoundError("relationship", id);
    }
  }
}
