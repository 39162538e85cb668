import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../src/config";
import { stmt } from "../src/db";
import { seed } from "./seed";
import { AppContext } from "../src/context";

const root = mkdtempSync(path.join(tmpdir(), "fleet-oneletter-"));
const config = loadConfig(
  { DATA_DIR: path.join(root, "d"), BACKUP_DIR: path.join(root, "b"), LOG_LEVEL: "silent" },
  { requireAdminToken: false },
);
const n = Number(process.env.N ?? 20000);
seed(config, n);
const ctx = AppContext.open(config);
const letters = "abcdefghijklmnopqrst".split("");
for (const [name, q] of [
  ["20 one-letter prefix terms", letters.map((l) => `"${l}"*`).join(" ")],
  ["20 one-letter whole-word terms", letters.map((l) => `"${l}"`).join(" ")],
  [
    "5 one-letter prefix terms",
    letters
      .slice(0, 5)
      .map((l) => `"${l}"*`)
      .join(" "),
  ],
  ["'s' prefix", `"s"*`],
] as const) {
  const t = process.hrtime.bigint();
  const c = stmt(ctx.db, "SELECT count(*) FROM entries_fts f JOIN entries e ON e.id = f.rowid WHERE entries_fts MATCH ? AND e.archived = 0")
    .pluck()
    .get(q);
  console.log(`${name}: ${Number(process.hrtime.bigint() - t) / 1e6} ms, ${c} rows`);
}
ctx.close();
rmSync(root, { recursive: true, force: true });
