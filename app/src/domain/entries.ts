import { stmt } from "../db";
import type { DbSource, EntryTypeRepository } from "./entry-types";
import { NotFoundError, ValidationError } from "./errors";
import type { EntryCreate, EntryQuery, EntryUpdate } from "./schemas";

/** An entry as the API and the pages show it. */
export interface Entry {
  readonly id: number;
  readonly typeId: number;
  readonly typeKey: string;
  readonly typeSingular: string;
  readonly stateId: number;
  readonly stateName: string;
  readonly stateColor: string;
  readonly stateOpen: boolean;
  readonly title: string;
  readonly description: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly plannedEnd: string | null;
  readonly actualEnd: string | null;
  readonly archived: boolean;
}

/**
 * The most matches a list counts exactly (beyond the current page). Counting every match of a
 * broad search or of the whole table costs time in proportion to the matches (20–60 ms at 100k
 * entries); counting stops here instead.
 */
export const TOTAL_CAP = 10_000;

/** One page of a list. */
export interface Page<T> {
  readonly items: T[];
  /**
   * How many match: exact when `totalCapped` is false. When true, more than `total` match, and
   * `total` is `max(TOTAL_CAP, offset + limit)`: a lower bound that always reaches past the page,
   * so "is there a next page" is `offset + limit < total || totalCapped`.
   */
  readonly total: number;
  /** True when counting stopped at the cap; the pages show "10,000+". */
  readonly totalCapped: boolean;
}

interface Row {
  id: number;
  type_id: number;
  type_key: string;
  type_singular: string;
  state_id: number;
  state_name: string;
  state_color: string;
  state_open: number;
  title: string;
  description: string;
  created_at: string;
  updated_at: string;
  planned_end: string | null;
  actual_end: string | null;
  archived: number;
}

const SELECT = `SELECT e.id, e.type_id, t.key AS type_key, t.singular AS type_singular, e.state_id,
  s.name AS state_name, s.color AS state_color, s.is_open AS state_open, e.title, e.description,
  e.created_at, e.updated_at, e.planned_end, e.actual_end, e.archived
  FROM entries e JOIN entry_types t ON t.id = e.type_id JOIN states s ON s.id = e.state_id`;

function toEntry(r: Row): Entry {
  return {
    id: r.id,
    typeId: r.type_id,
    typeKey: r.type_key,
    typeSingular: r.type_singular,
    stateId: r.state_id,
    stateName: r.state_name,
    stateColor: r.state_color,
    stateOpen: r.state_open === 1,
    title: r.title,
    description: r.description,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    plannedEnd: r.planned_end,
    actualEnd: r.actual_end,
    archived: r.archived === 1,
  };
}

/**
 * Turns user text into a safe FTS5 query: every word becomes a quoted prefix term, all must match.
 * FTS5 syntax (AND, NEAR, column filters, quotes) in the input is treated as plain text.
 * https://www.sqlite.org/fts5.html#full_text_query_syntax
 * A one-letter word is matched as a whole word: as a prefix it merges the index entries of every
 * word that starts with that letter, and twenty of them kept the event loop busy for seconds
 * (app/README.md, "Performance"). Repeated words count once.
 */
export function toFtsQuery(q: string): string | null {
  const words = q.match(/[\p{L}\p{N}_]+/gu);
  if (!words) return null;
  return [...new Set(words.map((w) => w.toLowerCase()))]
    .slice(0, 20)
    .map((w) => ([...w].length === 1 ? `"${w}"` : `"${w}"*`))
    .join(" ");
}

/** Entries: create, change, archive, list with search, filters and paging. */
export class EntryRepository {
  constructor(
    private readonly db: DbSource,
    private readonly types: EntryTypeRepository,
  ) {}

  /** One entry, or throws {@link NotFoundError}. */
  get(id: number): Entry {
    const r = stmt(this.db(), `${SELECT} WHERE e.id = ?`).get(id) as Row | undefined;
    if (!r) throw new NotFoundError("entry", id);
    return toEntry(r);
  }

  /** True when the entry exists. */
  exists(id: number): boolean {
    return stmt(this.db(), "SELECT 1 FROM entries WHERE id = ?").get(id) !== undefined;
  }

  /** Creates an entry; the state defaults to the type's default state. */
  create(input: EntryCreate): Entry {
    const db = this.db();
    const type = this.types.get(input.typeId);
    const stateId = this.checkState(type.id, input.stateId) ?? type.defaultStateId;
    if (stateId === null) throw new ValidationError("typeId", `entry type ${type.id} has no states`);
    const now = new Date().toISOString();
    const id = Number(
      stmt(
        db,
        `INSERT INTO entries (type_id, state_id, title, description, created_at, updated_at, planned_end, actual_end, archived)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
      ).run(type.id, stateId, input.title, input.description, now, now, input.plannedEnd ?? null, input.actualEnd ?? null).lastInsertRowid,
    );
    return this.get(id);
  }

  /** Changes an entry; only the given fields change. */
  update(id: number, input: EntryUpdate): Entry {
    const cur = this.get(id);
    const stateId = this.checkState(cur.typeId, input.stateId) ?? cur.stateId;
    stmt(
      this.db(),
      `UPDATE entries SET state_id = ?, title = ?, description = ?, planned_end = ?, actual_end = ?, archived = ?, updated_at = ?
       WHERE id = ?`,
    ).run(
      stateId,
      input.title ?? cur.title,
      input.description ?? cur.description,
      input.plannedEnd === undefined ? cur.plannedEnd : input.plannedEnd,
      input.actualEnd === undefined ? cur.actualEnd : input.actualEnd,
      (input.archived ?? cur.archived) ? 1 : 0,
      new Date().toISOString(),
      id,
    );
    return this.get(id);
  }

  /** Deletes an entry with its notes, attachments rows and relationships. */
  delete(id: number): void {
    if (stmt(this.db(), "DELETE FROM entries WHERE id = ?").run(id).changes === 0) throw new NotFoundError("entry", id);
  }

  /**
   * Lists entries, newest first: full-text search over title, description and notes, filters,
   * paging. Search results are ordered newest first too (not by relevance): predictable, and
   * FTS5 can walk its index in rowid order and stop at the page instead of ranking every match.
   * The total is counted up to {@link TOTAL_CAP} (see {@link Page}).
   */
  list(query: EntryQuery): Page<Entry> {
    const fts = query.q ? toFtsQuery(query.q) : null;
    if (query.q && fts === null) return { items: [], total: 0, totalCapped: false };
    // The page must be read in id order and stop after offset + limit rows. An index whose
    // columns are all fixed by `=` (archived + type, archived + state) yields rowids in order;
    // an index on archived alone is not ordered by id here, and SQLite would sort every match
    // (35 ms for the plain list at 100k). Unary + keeps such a term out of index selection, so
    // the page walks the table backwards by id instead:
    // https://www.sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_
    const walkById = !fts && query.type === undefined && query.state === undefined;
    const count: string[] = [];
    const page: string[] = [];
    const params: unknown[] = [];
    const where = (sql: string, pageSql: string, value: unknown) => {
      count.push(sql);
      page.push(pageSql);
      params.push(value);
    };
    if (fts) where("entries_fts MATCH ?", "entries_fts MATCH ?", fts);
    if (query.type !== undefined) where("e.type_id = ?", "e.type_id = ?", query.type);
    if (query.state !== undefined) where("e.state_id = ?", "e.state_id = ?", query.state);
    if (query.open !== undefined) {
      const open = "e.state_id IN (SELECT id FROM states WHERE is_open = ?)";
      where(open, `+${open}`, query.open === "true" ? 1 : 0);
    }
    if (query.archived !== "all") {
      where("e.archived = ?", walkById ? "+e.archived = ?" : "e.archived = ?", query.archived === "true" ? 1 : 0);
    }
    const from = fts ? "entries_fts f JOIN entries e ON e.id = f.rowid" : "entries e";
    const order = fts ? "f.rowid DESC" : "e.id DESC";
    const whereSql = (terms: string[]) => (terms.length ? ` WHERE ${terms.join(" AND ")}` : "");
    const db = this.db();
    const countLimit = Math.max(TOTAL_CAP, query.offset + query.limit);
    let counted: number;
    let ids: number[];
    if (fts) {
      // FTS5 expands a prefix term ("ferm"*) into one merged list of every matching row before it
      // returns the first, once per statement: one statement reads the ids up to the cap, and the
      // page is a slice of them. https://www.sqlite.org/fts5.html#prefix_indexes
      const upTo = stmt(db, `SELECT e.id FROM ${from}${whereSql(page)} ORDER BY ${order} LIMIT ?`)
        .pluck()
        .all(...params, countLimit + 1) as number[];
      counted = upTo.length;
      ids = upTo.slice(query.offset, query.offset + query.limit);
    } else {
      counted = stmt(db, `SELECT count(*) FROM (SELECT 1 FROM ${from}${whereSql(count)} LIMIT ?)`)
        .pluck()
        .get(...params, countLimit + 1) as number;
      ids = stmt(db, `SELECT e.id FROM ${from}${whereSql(page)} ORDER BY ${order} LIMIT ? OFFSET ?`)
        .pluck()
        .all(...params, query.limit, query.offset) as number[];
    }
    const one = stmt(db, `${SELECT} WHERE e.id = ?`);
    const items = ids.map((id) => toEntry(one.get(id) as Row));
    return { items, total: Math.min(counted, countLimit), totalCapped: counted > countLimit };
  }

  /** Number of entries (for metrics). */
  count(): number {
    return (stmt(this.db(), "SELECT count(*) AS n FROM entries").get() as { n: number }).n;
  }

  private checkState(typeId: number, stateId: number | undefined): number | undefined {
    if (stateId === undefined) return undefined;
    const ok = stmt(this.db(), "SELECT 1 FROM states WHERE id = ? AND type_id = ?").get(stateId, typeId);
    if (!ok) throw new ValidationError("stateId", `state ${stateId} does not belong to entry type ${typeId}`);
    return stateId;
  }
}
