import { AppContext } from "../src/context";
import type { Config } from "../src/config";
import { stmt } from "../src/db";

const WORDS = (
  "saison stout porter lager pilsner ale wheat rye oat barley malt hops citra mosaic simcoe cascade " +
  "yeast pitch ferment cold crash bottle keg carbonate gravity mash sparge boil whirlpool chill dry " +
  "hop lauter recipe batch kettle fermenter airlock hydrometer refractometer starter nutrient clarity " +
  "haze bitter sweet roast coffee chocolate caramel biscuit bread honey citrus grapefruit mango peach " +
  "pine resin earthy spicy pepper clove banana vanilla oak smoke peat cherry plum raisin toffee " +
  "project plan review ship deploy backup restore migrate index query cache server client fleet"
).split(" ");

/** Small deterministic PRNG (mulberry32) so every run seeds the same data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What {@link seed} wrote. */
export interface Seeded {
  readonly entries: number;
  readonly notes: number;
  readonly seconds: number;
}

/**
 * Seeds `count` entries, each with 1 to 3 notes, into a fresh database of `config`: opened and
 * migrated by the app itself (AppContext.open), rows written through the app's DB module (`stmt`)
 * in transactions of 5,000 entries, so the schema's FTS triggers index every row exactly as in
 * production. Every 10th entry is archived; a rare marker word every 1,000 entries gives searches
 * with few hits. The repositories' create() would re-read each row after inserting it; raw
 * inserts keep seeding to seconds.
 */
export function seed(config: Config, count: number): Seeded {
  const started = performance.now();
  const ctx = AppContext.open(config);
  const db = ctx.db;
  // This connection only; nothing is persisted in the file.
  db.exec("PRAGMA cache_size = -262144");
  const rand = rng(42);
  const pick = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]!).join(" ");
  const type = ctx.repos.types.list()[0]!;
  const insertEntry = stmt(
    db,
    `INSERT INTO entries (type_id, state_id, title, description, created_at, updated_at, planned_end, actual_end, archived)
     VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?)`,
  );
  const insertNote = stmt(db, "INSERT INTO notes (entry_id, body, created_at, updated_at) VALUES (?, ?, ?, ?)");
  const t0 = Date.parse("2024-01-01T00:00:00Z");
  let noteCount = 0;
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const state = type.states[i % type.states.length]!;
      const at = new Date(t0 + i * 60_000).toISOString();
      const marker = i % 1000 === 0 ? " zymurgy" : "";
      const id = Number(
        insertEntry.run(
          type.id,
          state.id,
          `Batch ${i} ${pick(3)}${marker}`,
          pick(12 + Math.floor(rand() * 20)),
          at,
          at,
          i % 10 === 9 ? 1 : 0,
        ).lastInsertRowid,
      );
      const n = 1 + (i % 3);
      for (let k = 0; k < n; k++) insertNote.run(id, pick(8 + Math.floor(rand() * 12)), at, at);
      noteCount += n;
    }
  });
  for (let from = 0; from < count; from += 5000) batch(from, Math.min(count, from + 5000));
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  ctx.close();
  return { entries: count, notes: noteCount, seconds: (performance.now() - started) / 1000 };
}
