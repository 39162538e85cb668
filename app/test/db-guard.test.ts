import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";

// better-sqlite3 objects must stay reachable (see src/db.ts); a direct constructor, prepare or
// pragma call creates one that the GC may finalize, which aborts the process on Node 24.19+.
test("no source file outside src/db.ts creates better-sqlite3 objects directly", () => {
  const src = path.resolve(__dirname, "../src");
  const offenders: string[] = [];
  for (const rel of readdirSync(src, { recursive: true }) as string[]) {
    if (!rel.endsWith(".ts") || rel === "db.ts") continue;
    const text = readFileSync(path.join(src, rel), "utf8");
    text.split("\n").forEach((line, i) => {
      if (/new Database\(|\.prepare\(|\.pragma\(|from "better-sqlite3"/.test(line)) offenders.push(`src/${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  expect(offenders).toEqual([]);
});
