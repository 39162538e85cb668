import { type Db, stmt } from "../db";
import { ConflictError, NotFoundError } from "./errors";
import type { EntryTypeCreate, StateInput } from "./schemas";

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
  readonly states: State[];
}

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
    const types = stmt(db, "SELECT id, key, singular, plural FROM entry_types ORDER BY key").all() as Omit<EntryType, "states">[];
    const states = (stmt(db, "SELECT * FROM states ORDER BY type_id, position, id").all() as StateRow[]).map(toState);
    return types.map((t) => ({ ...t, states: states.filter((s) => s.typeId === t.id) }));
  }

  /** One type, or throws {@link NotFoundError}. */
  get(id: number): EntryType {
    const db = this.db();
    const t = stmt(db, "SELECT id, key, singular, plural FROM entry_types WHERE id = ?").get(id) as Omit<EntryType, "states"> | undefined;
    if (!t) throw new NotFoundError("entry type", id);
    const states = (stmt(db, "SELECT * FROM states WHERE type_id = ? ORDER BY position, id").all(id) as StateRow[]).map(toState);
    return { ...t, states };
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

  /** Changes a type's labels. */
  update(id: number, input: { singular?: string | undefined; plural?: string | undefined }): EntryType {
    const cur = this.get(id);
    stmt(this.db(), "UPDATE entry_types SET singular = ?, plural = ? WHERE id = ?").run(
      input.singular ?? cur.singular,
      input.plural ?? cur.plural,
      id,
    );
    return this.get(id);
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
