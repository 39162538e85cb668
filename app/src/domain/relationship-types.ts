import { stmt } from "../db";
import type { DbSource } from "./entry-types";
import { ConflictError, NotFoundError, ValidationError } from "./errors";
import type { Cardinality, RelationshipTypeCreate, RelationshipTypeUpdate } from "./schemas";

/** A relationship definition: entries of one type link to entries of another (or the same) type. */
export interface RelationshipType {
  readonly id: number;
  readonly fromTypeId: number;
  readonly fromTypeSingular: string;
  readonly toTypeId: number;
  readonly toTypeSingular: string;
  /** How the from-side reads it: batch "uses" recipe. */
  readonly label: string;
  /** How the to-side reads it: recipe "used by" batch. */
  readonly reverseLabel: string;
  readonly cardinality: Cardinality;
}

const SELECT = `SELECT d.id, d.from_type_id AS fromTypeId, f.singular AS fromTypeSingular, d.to_type_id AS toTypeId,
  t.singular AS toTypeSingular, d.label, d.reverse_label AS reverseLabel, d.cardinality
  FROM relationship_types d JOIN entry_types f ON f.id = d.from_type_id JOIN entry_types t ON t.id = d.to_type_id`;

/** Whether each from-entry may link to at most one to-entry, and each to-entry be linked from at most one from-entry. */
export function sidesOfOne(c: Cardinality): { fromHasOne: boolean; toHasOne: boolean } {
  return { fromHasOne: c.endsWith("-to-one"), toHasOne: c.startsWith("one-") };
}

/** Relationship definitions. */
export class RelationshipTypeRepository {
  constructor(private readonly db: DbSource) {}

  /** All definitions, by from-type, to-type and label. */
  list(): RelationshipType[] {
    return stmt(this.db(), `${SELECT} ORDER BY f.singular, t.singular, d.label`).all() as RelationshipType[];
  }

  /** Definitions with `typeId` on either side. */
  listForType(typeId: number): RelationshipType[] {
    return stmt(this.db(), `${SELECT} WHERE d.from_type_id = ? OR d.to_type_id = ? ORDER BY d.label, d.id`).all(
      typeId,
      typeId,
    ) as RelationshipType[];
  }

  /** One definition, or throws {@link NotFoundError}. */
  get(id: number): RelationshipType {
    const d = stmt(this.db(), `${SELECT} WHERE d.id = ?`).get(id) as RelationshipType | undefined;
    if (!d) throw new NotFoundError("relationship definition", id);
    return d;
  }

  /** Creates a definition between two existing types. */
  create(input: RelationshipTypeCreate): RelationshipType {
    const db = this.db();
    for (const field of ["fromTypeId", "toTypeId"] as const) {
      if (!stmt(db, "SELECT 1 FROM entry_types WHERE id = ?").get(input[field])) {
        throw new ValidationError(field, `entry type ${input[field]} does not exist`);
      }
    }
    try {
      const id = Number(
        stmt(
          db,
          "INSERT INTO relationship_types (from_type_id, to_type_id, label, reverse_label, cardinality, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        ).run(input.fromTypeId, input.toTypeId, input.label, input.reverseLabel, input.cardinality, new Date().toISOString())
          .lastInsertRowid,
      );
      return this.get(id);
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
        throw new ConflictError(`label: these two types already have a relationship labelled ${input.label}`);
      }
      throw err;
    }
  }

  /**
   * Changes labels or cardinality. The relationships made through it keep up (their kind is the
   * label); a cardinality that the existing relationships already exceed is refused.
   */
  update(id: number, input: RelationshipTypeUpdate): RelationshipType {
    const cur = this.get(id);
    const db = this.db();
    const next = { ...cur, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as RelationshipType;
    const { fromHasOne, toHasOne } = sidesOfOne(next.cardinality);
    const most = (side: "from_entry_id" | "to_entry_id") =>
      (
        stmt(db, `SELECT coalesce(max(n), 0) AS n FROM (SELECT count(*) AS n FROM relationships WHERE type_id = ? GROUP BY ${side})`).get(
          id,
        ) as {
          n: number;
        }
      ).n;
    if ((fromHasOne && most("from_entry_id") > 1) || (toHasOne && most("to_entry_id") > 1)) {
      throw new ConflictError(
        `cardinality: existing relationships already have more than one entry on a side; remove some before making it ${next.cardinality}`,
      );
    }
    try {
      db.transaction(() => {
        stmt(db, "UPDATE relationship_types SET label = ?, reverse_label = ?, cardinality = ? WHERE id = ?").run(
          next.label,
          next.reverseLabel,
          next.cardinality,
          id,
        );
        stmt(db, "UPDATE relationships SET kind = ? WHERE type_id = ?").run(next.label, id);
      })();
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
        throw new ConflictError(`label: these two types already have a relationship labelled ${next.label}`);
      }
      throw err;
    }
    return this.get(id);
  }

  /** Deletes a definition; refused while relationships use it. */
  delete(id: number): void {
    const d = this.get(id);
    const used = (stmt(this.db(), "SELECT count(*) AS n FROM relationships WHERE type_id = ?").get(id) as { n: number }).n;
    if (used > 0) {
      throw new ConflictError(
        `relationship ${d.fromTypeSingular} ${d.label} ${d.toTypeSingular} is used by ${used} ${used === 1 ? "link" : "links"}; remove ${used === 1 ? "it" : "them"} first`,
      );
    }
    stmt(this.db(), "DELETE FROM relationship_types WHERE id = ?").run(id);
  }
}
