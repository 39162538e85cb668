// Installs the root's and the app's npm dependencies when they are missing or older than their
// lockfile, so `npm test` works on a fresh clone. Dependency-free: it runs before `npm install`.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { installDecision } = require("./up.cjs");

const mtimeMs = (p) => {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return null;
  }
};

const repoRoot = path.resolve(__dirname, "..", "..");
for (const dir of [repoRoot, path.join(repoRoot, "app")]) {
  const install = installDecision({
    stampMtimeMs:
      mtimeMs(path.join(dir, "node_modules", ".package-lock.json")) ?? mtimeMs(path.join(dir, "node_modules")),
    lockMtimeMs: mtimeMs(path.join(dir, "package-lock.json")),
  });
  if (!install) continue;
  const where = path.relative(repoRoot, dir) || ".";
  console.log(`fleet: ${install.reason} in ${where}: running ${install.command.join(" ")}`);
  const r = spawnSync(install.command[0], [...install.command.slice(1), "--no-audit", "--no-fund"], {
    cwd: dir,
    stdio: "inherit",
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
