import { type Db, stmt } from "../db";
import { ConflictError, NotFoundError, ValidationError } from "./errors";
import type { EntryTypeCreate, EntryTypeUpdate, StateInput } from "./schemas";

/** Returns the current live connection (it changes after a restore). */
export type DbSource = () => Db;

/** A state of an entry type. */
export interface State {
  readonly id: number;
  readonly typeId: number;
  readonly name: string;
  readonly color: string;
  readonly open: boolean;
  readonly position: number;
}

/** An entry type with its states in order. */
export interface EntryType {
  readonly id: number;
  readonly key: string;
  readonly singular: string;
  readonly plural: string;
  /** The state new entries get when none is chosen: the one set, else the first open state, else the first. */
  readonly defaultStateId: number | null;
  readonly states: State[];
}

interface TypeRow {
  id: number;
  key: string;
  singular: string;
  plural: string;
  default_state_id: number | null;
}

function toType(t: TypeRow, states: State[]): EntryType {
  const set = states.find((s) => s.id === t.default_state_id);
  const fallback = states.find((s) => s.open) ?? states[0];
  return { id: t.id, key: t.key, singular: t.singular, plural: t.plural, defaultStateId: (set ?? fallback)?.id ?? null, states };
}

const TYPE_SELECT = "SELECT id, key, singular, plural, default_state_id FROM entry_types";

interface StateRow {
  id: number;
  type_id: number;
  name: string;
  color: string;
  is_open: number;
  position: number;
}

function toState(r: StateRow): State {
  return { id: r.id, typeId: r.type_id, name: r.name, color: r.color, open: r.is_open === 1, position: r.position };
}

function isUnique(err: unknown): boolean {
  return (err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE";
}

/** Entry types and their states. */
export class EntryTypeRepository {
  constructor(private readonly db: DbSource) {}

  /** All types with their states, by key. */
  list(): EntryType[] {
    const db = this.db();
    const types = stmt(db, `${TYPE_SELECT} ORDER BY key`).all() as TypeRow[];
    const states = (stmt(db, "SELECT * FROM states ORDER BY type_id, position, id").all() as StateRow[]).map(toState);
    return types.map((t) =>
      toType(
        t,
        states.filter((s) => s.typeId === t.id),
      ),
    );
  }

  /** One type, or throws {@link NotFoundError}. */
  get(id: number): EntryType {
    const db = this.db();
    const t = stmt(db, `${TYPE_SELECT} WHERE id = ?`).get(id) as TypeRow | undefined;
    if (!t) throw new NotFoundError("entry type", id);
    const states = (stmt(db, "SELECT * FROM states WHERE type_id = ? ORDER BY position, id").all(id) as StateRow[]).map(toState);
    return toType(t, states);
  }

  /** Creates a type with its states. */
  create(input: EntryTypeCreate): EntryType {
    const db = this.db();
    const id = db.transaction(() => {
      let typeId: number;
      try {
        typeId = Number(
          stmt(db, "INSERT INTO entry_types (key, singular, plural, created_at) VALUES (?, ?, ?, ?)").run(
            input.key,
            input.singular,
            input.plural,
            new Date().toISOString(),
          ).lastInsertRowid,
        );
      } catch (err) {
        if (isUnique(err)) throw new ConflictError(`key: an entry type with key ${input.key} already exists`);
        throw err;
      }
      input.states.forEach((s, i) => this.insertState(db, typeId, s, i));
      return typeId;
    })();
    return this.get(id);
  }

  /** Changes a type's labels or its default state (which must be one of its own). */
  update(id: number, input: EntryTypeUpdate): EntryType {
    const cur = this.get(id);
    if (input.defaultStateId !== undefined && !cur.states.some((s) => s.id === input.defaultStateId)) {
      throw new ValidationError("defaultStateId", `state ${input.defaultStateId} does not belong to entry type ${id}`);
    }
    const db = this.db();
    stmt(db, "UPDATE entry_types SET singular = ?, plural = ? WHERE id = ?").run(
      input.singular ?? cur.singular,
      input.plural ?? cur.plural,
      id,
    );
    if (input.defaultStateId !== undefined)
      stmt(db, "UPDATE entry_types SET default_state_id = ? WHERE id = ?").run(input.defaultStateId, id);
    return this.get(id);
  }

  /** Deletes a type with its states; refused while entries or relationship definitions use it. */
  delete(id: number): void {
    const t = this.get(id);
    const db = this.db();
    const entries = (stmt(db, "SELECT count(*) AS n FROM entries WHERE type_id = ?").get(id) as { n: number }).n;
    if (entries > 0) {
      throw new ConflictError(
        `entry type ${t.singular} still has ${entries} ${entries === 1 ? "entry" : "entries"}; delete them or move them to another type first`,
      );
    }
    const defs = (
      stmt(db, "SELECT count(*) AS n FROM relationship_types WHERE from_type_id = ? OR to_type_id = ?").get(id, id) as { n: number }
    ).n;
    if (defs > 0) {
      throw new ConflictError(
        `entry type ${t.singular} is used by ${defs} relationship ${defs === 1 ? "definition" : "definitions"}; delete ${defs === 1 ? "it" : "them"} first`,
      );
    }
    stmt(db, "DELETE FROM entry_types WHERE id = ?").run(id);
  }

  /** Adds a state at the end of a type's list. */
  addState(typeId: number, input: StateInput): State {
    const type = this.get(typeId);
    const id = this.insertState(this.db(), typeId, input, type.states.length);
    return this.getState(id);
  }

  /** One state, or throws {@link NotFoundError}. */
  getState(id: number): State {
    const r = stmt(this.db(), "SELECT * FROM states WHERE id = ?").get(id) as StateRow | undefined;
    if (!r) throw new NotFoundError("state", id);
    return toState(r);
  }

  /** Changes a state's name, color or open flag. */
  updateState(id: number, input: Partial<StateInput>): State {
    const cur = this.getState(id);
    try {
      stmt(this.db(), "UPDATE states SET name = ?, color = ?, is_open = ? WHERE id = ?").run(
        input.name ?? cur.name,
        input.color ?? cur.color,
        (input.open ?? cur.open) ? 1 : 0,
        id,
      );
    } catch (err) {
      if (isUnique(err)) throw new ConflictError(`name: this type already has a state named ${input.name}`);
      throw err;
    }
    return this.getState(id);
  }

  /** Deletes a state; refused while entries are in it, and for a type's last state. */
  deleteState(id: number): void {
    const st = this.getState(id);
    const db = this.db();
    const used = (stmt(db, "SELECT count(*) AS n FROM entries WHERE state_id = ?").get(id) as { n: number }).n;
    if (used > 0) {
      throw new ConflictError(
        `state ${st.name} is in use by ${used} ${used === 1 ? "entry" : "entries"}; move ${used === 1 ? "it" : "them"} to another state first`,
      );
    }
    if (this.get(st.typeId).states.length === 1)
      throw new ConflictError(`state ${st.name} is the type's only state; a type needs at least one`);
    stmt(db, "DELETE FROM states WHERE id = ?").run(id);
  }

  /** Moves a state one place up or down in its type's order (positions are renumbered 0..n-1). */
  moveState(id: number, direction: "up" | "down"): State {
    const st = this.getState(id);
    const ids = this.get(st.typeId).states.map((s) => s.id);
    const i = ids.indexOf(id);
    const j = direction === "up" ? i - 1 : i + 1;
    if (j >= 0 && j < ids.length) [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    const db = this.db();
    const set = stmt(db, "UPDATE states SET position = ? WHERE id = ?");
    db.transaction(() => ids.forEach((sid, pos) => set.run(pos, sid)))();
    return this.getState(id);
  }

  private insertState(db: Db, typeId: number, s: StateInput, position: number): number {
    try {
      return Number(
        stmt(db, "INSERT INTO states (type_id, name, color, is_open, position) VALUES (?, ?, ?, ?, ?)").run(
          typeId,
          s.name,
          s.color.toLowerCase(),
          s.open ? 1 : 0,
          position,
        ).lastInsertRowid,
      );
    } catch (err) {
      if (isUnique(err)) throw new ConflictError(`states: duplicate state name ${s.name}`);
      throw err;
    }
  }
}
