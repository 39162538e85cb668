// The name of every instance file in a directory: the file's `name`, or its base name (the
// instance file contract). The e2e checks compare this list with the stack outputs.
// Run directly, it prints the names of instances/ (or of the directory given), one per line.
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** @param {string} dir @returns {string[]} sorted instance names */
export function instanceNames(dir) {
  const names = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => {
      const doc = parse(readFileSync(join(dir, f), "utf8")) ?? {};
      return typeof doc.name === "string" ? doc.name : basename(f).replace(/\.ya?ml$/, "");
    })
    .sort();
  if (names.length === 0) throw new Error(`no instance files in ${dir}`);
  return names;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(instanceNames(process.argv[2] ?? "instances").join("\n"));
}
