import { stmt } from "../db";
import type { DbSource } from "./entry-types";
import { ConflictError, NotFoundError, ValidationError } from "./errors";
import { type RelationshipTypeRepository, sidesOfOne } from "./relationship-types";

/** A typed link between two entries: `from` kind `to` (e.g. batch 12 uses recipe 3). */
export interface Relationship {
  readonly id: number;
  readonly fromEntryId: number;
  readonly kind: string;
  readonly toEntryId: number;
  readonly fromTitle: string;
  readonly toTitle: string;
  readonly createdAt: string;
  /** The definition it was made through, or null for a free-form kind. */
  readonly typeId: number | null;
  /** How the to-side reads it ("used by"); the kind itself for a free-form link. */
  readonly reverseLabel: string;
}

const SELECT = `SELECT r.id, r.from_entry_id AS fromEntryId, r.kind, r.to_entry_id AS toEntryId,
  f.title AS fromTitle, t.title AS toTitle, r.created_at AS createdAt, r.type_id AS typeId,
  coalesce(d.reverse_label, r.kind) AS reverseLabel
  FROM relationships r JOIN entries f ON f.id = r.from_entry_id JOIN entries t ON t.id = r.to_entry_id
  LEFT JOIN relationship_types d ON d.id = r.type_id`;

/** Typed relationships between entries. */
export class RelationshipRepository {
  constructor(
    private readonly db: DbSource,
    private readonly definitions: RelationshipTypeRepository,
  ) {}

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

  /**
   * Links `fromEntryId` to `toEntryId` with a free-form `kind`, or through the definition `typeId`
   * (the entries must be of its types, its cardinality must allow one more link; the kind is its label).
   */
  create(fromEntryId: number, link: { kind: string } | { typeId: number }, toEntryId: number): Relationship {
    const db = this.db();
    const typeOf = (id: number) => (stmt(db, "SELECT type_id FROM entries WHERE id = ?").pluck().get(id) as number | undefined) ?? null;
    const fromType = typeOf(fromEntryId);
    if (fromType === null) throw new NotFoundError("entry", fromEntryId);
    if (fromEntryId === toEntryId) throw new ValidationError("toEntryId", "an entry cannot be related to itself");
    const toType = typeOf(toEntryId);
    if (toType === null) throw new ValidationError("toEntryId", `entry ${toEntryId} does not exist`);
    let kind: string;
    let typeId: number | null = null;
    if ("typeId" in link) {
      const d = this.definitions.get(link.typeId);
      if (d.fromTypeId !== fromType)
        throw new ValidationError(
          "typeId",
          `relationship ${d.label} starts at an entry of type ${d.fromTypeSingular}, and entry ${fromEntryId} is of another type`,
        );
      if (d.toTypeId !== toType)
        throw new ValidationError(
          "toEntryId",
          `relationship ${d.label} leads to an entry of type ${d.toTypeSingular}, and entry ${toEntryId} is of another type`,
        );
      const { fromHasOne, toHasOne } = sidesOfOne(d.cardinality);
      const count = (side: string, entryId: number) =>
        (stmt(db, `SELECT count(*) AS n FROM relationships WHERE type_id = ? AND ${side} = ?`).get(d.id, entryId) as { n: number }).n;
      if (fromHasOne && count("from_entry_id", fromEntryId) > 0) {
        throw new ConflictError(
          `entry ${fromEntryId} already ${d.label} one ${d.toTypeSingular} (${d.cardinality}); remove that link first`,
        );
      }
      if (toHasOne && count("to_entry_id", toEntryId) > 0) {
        throw new ConflictError(
          `entry ${toEntryId} is already ${d.reverseLabel} one ${d.fromTypeSingular} (${d.cardinality}); remove that link first`,
        );
      }
      kind = d.label;
      typeId = d.id;
    } else {
      kind = link.kind;
    }
    try {
      const id = Number(
        stmt(db, "INSERT INTO relationships (from_entry_id, kind, to_entry_id, created_at, type_id) VALUES (?, ?, ?, ?, ?)").run(
          fromEntryId,
          kind,
          toEntryId,
          new Date().toISOString(),
          typeId,
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
