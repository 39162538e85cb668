// Prints the name of every instance file in instances/, one per line: the file's `name`, or its
// base name (the instance file contract). The e2e checks compare this list with the stack outputs.
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parse } from "yaml";

const dir = process.argv[2] ?? "instances";
const names = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => {
    const doc = parse(readFileSync(join(dir, f), "utf8")) ?? {};
    return typeof doc.name === "string" ? doc.name : basename(f).replace(/\.ya?ml$/, "");
  })
  .sort();
if (names.length === 0) {
  console.error(`fleet-instances: no instance files in ${dir}`);
  process.exit(1);
}
console.log(names.join("\n"));
