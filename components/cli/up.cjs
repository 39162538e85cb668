#!/usr/bin/env node
// `npm run up`: deploy the dev stack with no Pulumi account.
//
// This file runs on a fresh clone, before `npm install`, so it is plain CommonJS that needs
// nothing but Node's built-ins. The decisions are pure functions (tested in test/up.test.ts);
// `runUp` strings them together through injected effects, and the bottom of the file wires in
// the real ones.
"use strict";

const path = require("node:path");

/** The oldest Node major that `@pulumi/pulumi` supports (package.json `engines.node`). */
const MIN_NODE_MAJOR = 22;

/** The stack that `npm run up` deploys unless `--stack` says otherwise. */
const DEFAULT_STACK = "dev";

/** Where the local state backend lives, relative to the repository root (gitignored). */
const STATE_DIR = ".pulumi-state";

/** The passphrase file that `up` creates when no passphrase is configured. */
const PASSPHRASE_FILE = path.join(STATE_DIR, "passphrase");

const INSTALL_HINT = [
  "Install the Pulumi CLI with one of:",
  "  curl -fsSL https://get.pulumi.com | sh        (Linux, macOS; installs into ~/.pulumi/bin)",
  "  brew install pulumi/tap/pulumi                (macOS, Linuxbrew)",
  "  winget install pulumi                         (Windows)",
  "  npx pulumi version                            (the npm package; downloads the CLI into ~/.pulumi/versions)",
  "then run `npm run up` again. See https://www.pulumi.com/docs/iac/download-install/",
].join("\n");

/**
 * Splits `npm run up -- ...` arguments: everything goes to `pulumi up`, and `--stack`/`-s`
 * also names the stack to create or select.
 * @param {string[]} argv
 * @returns {{ stack: string, upArgs: string[], help: boolean }}
 */
function parseUpArgs(argv) {
  let stack = DEFAULT_STACK;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") help = true;
    else if ((a === "--stack" || a === "-s") && i + 1 < argv.length) stack = argv[i + 1];
    else if (a.startsWith("--stack=")) stack = a.slice("--stack=".length);
  }
  return { stack, upArgs: [...argv], help };
}

/**
 * The Node version check. Returns an error message, or null when the version is fine.
 * @param {string} version e.g. "24.1.0" (process.versions.node)
 * @returns {string | null}
 */
function checkNodeVersion(version) {
  const major = Number.parseInt(version.split(".")[0], 10);
  if (Number.isFinite(major) && major >= MIN_NODE_MAJOR) return null;
  return (
    `fleet up: Node ${version} is too old; fleet needs Node >= ${MIN_NODE_MAJOR}.\n` +
    "Install Node 24 LTS (https://nodejs.org, or your version manager), or on Linux x64 run\n" +
    "`. .ci/provision-node.sh` to fetch it from the npm registry, then run `npm run up` again."
  );
}

/**
 * Decides whether the root dependencies must be installed.
 * `stampMtimeMs` is the mtime of `node_modules/.package-lock.json` (npm writes it on every
 * install), or of `node_modules` itself when that file is missing; null when node_modules is absent.
 * @param {{ stampMtimeMs: number | null, lockMtimeMs: number | null }} s
 * @returns {{ command: string[], reason: string } | null}
 */
function installDecision(s) {
  if (s.lockMtimeMs === null) {
    if (s.stampMtimeMs === null) {
      return { command: ["npm", "install"], reason: "node_modules is missing and there is no package-lock.json" };
    }
    return null;
  }
  if (s.stampMtimeMs === null) {
    return { command: ["npm", "ci"], reason: "node_modules is missing" };
  }
  if (s.stampMtimeMs < s.lockMtimeMs) {
    return { command: ["npm", "ci"], reason: "node_modules is older than package-lock.json" };
  }
  return null;
}

/**
 * Where the Pulumi CLI may be, in the order `up` tries them: PATH, the installer's
 * `~/.pulumi/bin`, the npm package's and Automation API's cache `~/.pulumi/versions/<v>/bin`
 * (newest first), and last the npm package's wrapper `node_modules/.bin/pulumi`, which downloads
 * the CLI on first run (it needs the internet for that).
 * @param {{ env: Record<string, string | undefined>, home: string, repoRoot: string,
 *   isFile: (p: string) => boolean, listDir: (p: string) => string[] }} io
 * @returns {{ path: string, source: string }[]}
 */
function pulumiCandidates(io) {
  const exe = process.platform === "win32" ? "pulumi.exe" : "pulumi";
  /** @type {{ path: string, source: string }[]} */
  const out = [];
  const seen = new Set();
  const add = (p, source) => {
    if (!seen.has(p) && io.isFile(p)) {
      seen.add(p);
      out.push({ path: p, source });
    }
  };
  const nodeModulesBin = path.join(io.repoRoot, "node_modules", ".bin");
  for (const dir of (io.env.PATH || "").split(path.delimiter)) {
    // npm puts node_modules/.bin on PATH for scripts; that entry is the wrapper, tried last.
    if (dir && path.resolve(dir) !== nodeModulesBin) add(path.join(dir, exe), "PATH");
  }
  const pulumiHome = io.env.PULUMI_HOME || path.join(io.home, ".pulumi");
  add(path.join(pulumiHome, "bin", exe), "~/.pulumi/bin");
  const versions = io
    .listDir(path.join(pulumiHome, "versions"))
    .filter((v) => /^v?\d+\.\d+\.\d+/.test(v))
    .sort(compareVersionsDesc);
  for (const v of versions) add(path.join(pulumiHome, "versions", v, "bin", exe), `~/.pulumi/versions/${v}`);
  add(path.join(nodeModulesBin, exe), "npm package pulumi");
  return out;
}

/** @param {string} a @param {string} b */
function compareVersionsDesc(a, b) {
  const pa = a
    .replace(/^v/, "")
    .split(/[.-]/)
    .map((x) => Number.parseInt(x, 10) || 0);
  const pb = b
    .replace(/^v/, "")
    .split(/[.-]/)
    .map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pb[i] || 0) - (pa[i] || 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The message printed when no working Pulumi CLI was found.
 * @param {{ path: string, source: string, reason: string }[]} tried
 * @param {string} [rerun] the command to run again once the CLI is installed
 * @returns {string}
 */
function noCliMessage(tried, rerun = "npm run up") {
  const lines = ["fleet up: no working Pulumi CLI was found."];
  if (tried.length === 0) {
    lines.push("  Looked on PATH, in ~/.pulumi/bin, ~/.pulumi/versions/*/bin and node_modules/.bin.");
  } else {
    for (const t of tried) {
      const why = t.source === "npm package pulumi" ? " (it downloads the CLI from get.pulumi.com on first run)" : "";
      lines.push(`  ${t.path} (${t.source}): ${t.reason}${why}`);
    }
  }
  lines.push(INSTALL_HINT.replace("`npm run up`", `\`${rerun}\``));
  return lines.join("\n");
}

/**
 * Chooses the state backend: the user's PULUMI_BACKEND_URL when set, else the repository's
 * own `.pulumi-state` directory.
 * @param {Record<string, string | undefined>} env
 * @param {string} repoRoot
 * @returns {{ url: string, local: boolean, fromEnv: boolean }}
 */
function backendDecision(env, repoRoot) {
  if (env.PULUMI_BACKEND_URL) return { url: env.PULUMI_BACKEND_URL, local: false, fromEnv: true };
  // file:// URLs take an absolute path; on Windows the drive letter needs a leading slash.
  const abs = path.resolve(repoRoot, STATE_DIR).split(path.sep).join("/");
  return { url: `file://${abs.startsWith("/") ? "" : "/"}${abs}`, local: true, fromEnv: false };
}

/**
 * Chooses where the passphrase of the passphrase secrets provider comes from.
 * PULUMI_CONFIG_PASSPHRASE wins (even when empty: Pulumi accepts an empty passphrase that is
 * set explicitly), then PULUMI_CONFIG_PASSPHRASE_FILE, then `.pulumi-state/passphrase`, which
 * is created when missing.
 * @param {Record<string, string | undefined>} env
 * @param {string} repoRoot
 * @param {(p: string) => boolean} isFile
 * @returns {{ source: "env" } | { source: "env-file", path: string, missing: boolean }
 *   | { source: "state-file", path: string, create: boolean }}
 */
function passphraseDecision(env, repoRoot, isFile) {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return { source: "env" };
  if (env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    const p = path.resolve(repoRoot, env.PULUMI_CONFIG_PASSPHRASE_FILE);
    return { source: "env-file", path: p, missing: !isFile(p) };
  }
  const p = path.join(repoRoot, PASSPHRASE_FILE);
  return { source: "state-file", path: p, create: !isFile(p) };
}

/**
 * The environment every fleet command gives the Pulumi CLI: the backend, the passphrase file,
 * no update-check round trip, and the CLI's own directory first on PATH (the language host
 * `pulumi-language-nodejs` ships next to it).
 * @param {Record<string, string | undefined>} env
 * @param {{ backendUrl?: string, passphraseFile?: string, cliPath?: string }} o
 * @returns {Record<string, string | undefined>}
 */
function pulumiEnv(env, o) {
  /** @type {Record<string, string | undefined>} */
  const out = { ...env };
  if (o.backendUrl) out.PULUMI_BACKEND_URL = o.backendUrl;
  if (o.passphraseFile) out.PULUMI_CONFIG_PASSPHRASE_FILE = o.passphraseFile;
  if (out.PULUMI_SKIP_UPDATE_CHECK === undefined) out.PULUMI_SKIP_UPDATE_CHECK = "true";
  if (o.cliPath && path.isAbsolute(o.cliPath)) {
    out.PATH = path.dirname(o.cliPath) + path.delimiter + (env.PATH || "");
  }
  return out;
}

/**
 * Resolves backend and passphrase for the commands that only use an existing stack
 * (`rollback`, `restore`): they never create a passphrase file.
 * @param {Record<string, string | undefined>} env
 * @param {string} repoRoot
 * @param {(p: string) => boolean} isFile
 * @returns {{ env: Record<string, string | undefined>, error: string | null }}
 */
function existingStackEnv(env, repoRoot, isFile) {
  const backend = backendDecision(env, repoRoot);
  const pass = passphraseDecision(env, repoRoot, isFile);
  if (pass.source === "env") return { env: pulumiEnv(env, { backendUrl: backend.url }), error: null };
  if (pass.source === "env-file") {
    if (pass.missing) {
      return { env, error: `PULUMI_CONFIG_PASSPHRASE_FILE points at ${pass.path}, which does not exist.` };
    }
    return { env: pulumiEnv(env, { backendUrl: backend.url, passphraseFile: pass.path }), error: null };
  }
  if (pass.create) {
    return {
      env,
      error:
        `no passphrase: ${path.relative(repoRoot, pass.path)} does not exist and neither ` +
        "PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set. Deploy first with " +
        "`npm run up`, or set the passphrase the stack was created with.",
    };
  }
  return { env: pulumiEnv(env, { backendUrl: backend.url, passphraseFile: pass.path }), error: null };
}

/**
 * When `up` is about to make a new passphrase: an `encryptionsalt` already in the stack file was
 * made with another passphrase, so the new one would be refused. Returns the message, or null.
 * @param {string} stack
 * @param {string | null} stackFileText the text of Pulumi.<stack>.yaml, null when it is missing
 * @returns {string | null}
 */
function saltConflict(stack, stackFileText) {
  if (!stackFileText || !/^encryptionsalt:/m.test(stackFileText)) return null;
  return (
    `fleet up: Pulumi.${stack}.yaml has an encryptionsalt, made with a passphrase this machine does not have\n` +
    "(no PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE or .pulumi-state/passphrase). Either set the passphrase\n" +
    `it was made with, or, to start a new local stack, delete the encryptionsalt line (and any \`secure:\` values) from\n` +
    `Pulumi.${stack}.yaml and run \`npm run up\` again.`
  );
}

/**
 * `fleet:dockerHost` from the text of Pulumi.<stack>.yaml, read with a regular expression
 * because this runs before `npm install` (no YAML parser yet). Empty means the local socket.
 * @param {string | null} stackFileText
 * @returns {string | null}
 */
function dockerHostOf(stackFileText) {
  const m = /^\s+fleet:dockerHost:[ \t]*(?:"([^"]*)"|'([^']*)'|([^\s#]+))?/m.exec(stackFileText || "");
  const value = m ? (m[1] ?? m[2] ?? m[3] ?? "") : "";
  return value === "" ? null : value;
}

/**
 * The Docker check's verdict from `docker version --format {{.Server.Version}}`.
 * @param {{ status: number | null, stdout: string, stderr: string, error?: { code?: string } }} r
 * @returns {string | null} an error message, or null when the engine answered
 */
function dockerVerdict(r) {
  if (r.error && r.error.code === "ENOENT") {
    return (
      "fleet up: the docker command was not found. Install Docker Engine " +
      "(https://docs.docker.com/engine/install/, or `sudo apt-get install docker.io`) and start it."
    );
  }
  if (r.status === 0 && r.stdout.trim() !== "") return null;
  const detail = firstLine(r.stderr) || firstLine(r.stdout) || (r.error ? String(r.error.code) : "no answer");
  return (
    `fleet up: Docker is not answering (${detail}).\n` +
    "Start the engine (`sudo systemctl start docker`, or open Docker Desktop), check that your user may use it\n" +
    "(`docker version` must show a Server section), or point DOCKER_HOST at a running engine."
  );
}

/** @param {string} s */
function firstLine(s) {
  return (
    (s || "")
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l !== "") || ""
  );
}

/**
 * Tries each candidate with `pulumi version` and returns the first that works, with the
 * reasons the others failed (the npm wrapper fails here when it cannot download the CLI).
 * @param {Pick<import("./up.d.cts").UpDeps, "env" | "home" | "repoRoot" | "isFile" | "listDir" | "run"> & { out?: (s: string) => void }} d
 * @returns {{ cli: { path: string, source: string, version: string } | null,
 *   tried: { path: string, source: string, reason: string }[] }}
 */
function findPulumi(d) {
  const tried = [];
  for (const c of pulumiCandidates(d)) {
    if (c.source === "npm package pulumi" && d.out) {
      d.out("fleet up: trying the npm package pulumi, which downloads the CLI on its first run ...");
    }
    const r = d.run(c.path, ["version"], { env: pulumiEnv(d.env, { cliPath: c.path }) });
    if (r.status === 0) return { cli: { ...c, version: firstLine(r.stdout) }, tried };
    // The npm wrapper prints "Downloading pulumi vX..." first and its error last.
    tried.push({
      ...c,
      reason: lastLine(r.stderr) || lastLine(r.stdout) || (r.error ? String(r.error.code) : `exit ${r.status}`),
    });
  }
  return { cli: null, tried };
}

/** @param {string} s */
function lastLine(s) {
  return (
    (s || "")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .pop() || ""
  );
}

/**
 * `docker ps` arguments that list every app container of a stack, running or not, one
 * tab-separated line each: id, name, instance, version.
 * @param {string} stack
 * @returns {string[]}
 */
function appContainersArgs(stack) {
  return [
    "ps",
    "-a",
    "--filter",
    `label=fleet.stack=${stack}`,
    "--filter",
    "label=fleet.role=app",
    "--format",
    '{{.ID}}\t{{.Names}}\t{{.Label "fleet.instance"}}\t{{.Label "fleet.version"}}',
  ];
}

/**
 * Parses the output of {@link appContainersArgs}.
 * @param {string} stdout
 * @returns {{ id: string, name: string, instance: string, version: string }[]}
 */
function parseAppContainers(stdout) {
  return (stdout || "")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const [id = "", name = "", instance = "", version = ""] = l.split("\t");
      return { id, name, instance, version };
    });
}

/**
 * The health of a container from `docker inspect --format '{{json .State.Health}}'`: its status
 * and the trimmed output of the last healthcheck (several lines joined with " | "). A container
 * without a healthcheck prints `null`; its status is then "none".
 * @param {string} stdout
 * @returns {{ status: string, lastOutput: string }}
 */
function parseHealth(stdout) {
  let h = null;
  try {
    h = JSON.parse((stdout || "").trim() || "null");
  } catch {
    return { status: "unknown", lastOutput: "" };
  }
  if (!h || typeof h !== "object") return { status: "none", lastOutput: "" };
  const log = Array.isArray(h.Log) ? h.Log : [];
  const last = log.length ? String(log[log.length - 1].Output ?? "") : "";
  const lastOutput = last
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .join(" | ");
  return { status: String(h.Status || "unknown"), lastOutput };
}

/**
 * What `npm run up` prints after a failed `pulumi up`: one line per app container that is not
 * healthy, and what happens to its instance. Returns null when every app container is healthy
 * (the failure lies elsewhere and pulumi's own output says where).
 * @param {string} stack
 * @param {number} exitCode
 * @param {{ name: string, instance: string, version: string, status: string, lastOutput: string }[]} containers
 * @returns {string | null}
 */
function failedRollReport(stack, exitCode, containers) {
  const bad = containers.filter((c) => c.status !== "healthy");
  if (bad.length === 0) return null;
  const lines = [
    `fleet up: pulumi up failed (exit ${exitCode}); app containers of stack ${stack} that are not healthy:`,
  ];
  for (const c of bad) {
    lines.push(
      `  ${c.instance}: container ${c.name}, version ${c.version || "?"}, health ${c.status}, ` +
        `last healthcheck: ${c.lastOutput || "(no output)"}`,
    );
  }
  for (const instance of [...new Set(bad.map((c) => c.instance))]) {
    const good = containers.find((c) => c.instance === instance && c.status === "healthy");
    lines.push(
      good
        ? `  ${instance}: the route still points to the previous container ${good.name} (version ${good.version || "?"}), which keeps serving.`
        : `  ${instance}: no healthy container; its route has nothing healthy to point to (a first deploy, or the old container is gone).`,
    );
  }
  lines.push(
    "Fix the cause (the last healthcheck above, `docker logs <container>`), then run `npm run up` again:",
    "the next `pulumi up` replaces each failed container (replaceOnChanges), and the route moves once it is healthy.",
  );
  return lines.join("\n");
}

/**
 * After a failed `pulumi up`: asks Docker which app containers of the stack are not healthy and
 * prints {@link failedRollReport}. Never changes the exit code; a Docker error is reported and skipped.
 * @param {Pick<import("./up.d.cts").UpDeps, "run" | "err">} d
 * @param {string} stack
 * @param {number} exitCode
 * @param {Record<string, string | undefined>} env the environment that reaches the stack's engine
 */
function reportFailedRoll(d, stack, exitCode, env) {
  const ps = d.run("docker", appContainersArgs(stack), { env });
  if (ps.status !== 0) {
    d.err(
      `fleet up: could not list the app containers of stack ${stack}: ${lastLine(ps.stderr) || `exit ${ps.status}`}`,
    );
    return;
  }
  const containers = parseAppContainers(ps.stdout).map((c) => {
    const r = d.run("docker", ["inspect", "--format", "{{json .State.Health}}", c.id], { env });
    return { ...c, ...(r.status === 0 ? parseHealth(r.stdout) : { status: "gone", lastOutput: "" }) };
  });
  const report = failedRollReport(stack, exitCode, containers);
  if (report) d.err(report);
}

/**
 * Runs the whole `npm run up` flow through injected effects. Returns the exit code.
 * @param {string[]} argv arguments after `npm run up --`
 * @param {import("./up.d.cts").UpDeps} d
 * @returns {number}
 */
function runUp(argv, d) {
  const args = parseUpArgs(argv);
  if (args.help) {
    d.out(
      "usage: npm run up [-- --yes] [-- --stack NAME] [-- other `pulumi up` flags]\n" +
        "Installs what is missing, uses the local state backend in .pulumi-state/, creates or selects\n" +
        `the stack (default ${DEFAULT_STACK}) and runs \`pulumi up\` with your flags.`,
    );
    return 0;
  }
  const nodeProblem = checkNodeVersion(d.nodeVersion);
  if (nodeProblem) return fail(d, nodeProblem);

  // The engine the stack deploys to: `fleet:dockerHost` when the stack file sets it.
  const stackFile = d.readText(path.join(d.repoRoot, `Pulumi.${args.stack}.yaml`));
  const dockerHost = dockerHostOf(stackFile);
  const dockerEnv = dockerHost ? { ...d.env, DOCKER_HOST: dockerHost } : d.env;
  const dockerProblem = dockerVerdict(
    d.run("docker", ["version", "--format", "{{.Server.Version}}"], { env: dockerEnv }),
  );
  if (dockerProblem)
    return fail(
      d,
      dockerHost ? `${dockerProblem}\n(Pulumi.${args.stack}.yaml sets fleet:dockerHost ${dockerHost}.)` : dockerProblem,
    );

  const install = installDecision({
    stampMtimeMs:
      d.mtimeMs(path.join(d.repoRoot, "node_modules", ".package-lock.json")) ??
      d.mtimeMs(path.join(d.repoRoot, "node_modules")),
    lockMtimeMs: d.mtimeMs(path.join(d.repoRoot, "package-lock.json")),
  });
  if (install) {
    d.out(`fleet up: ${install.reason}; running \`${install.command.join(" ")}\``);
    const status = d.runInteractive(install.command[0], install.command.slice(1), { env: d.env, cwd: d.repoRoot });
    if (status !== 0)
      return fail(
        d,
        `fleet up: \`${install.command.join(" ")}\` failed (exit ${status}); fix the error above and run \`npm run up\` again.`,
      );
  }

  const { cli, tried } = findPulumi(d);
  if (!cli) return fail(d, noCliMessage(tried));
  d.out(`fleet up: using Pulumi CLI ${cli.version} (${cli.path})`);

  const backend = backendDecision(d.env, d.repoRoot);
  if (backend.local) d.mkdir(path.join(d.repoRoot, STATE_DIR));
  d.out(`fleet up: state backend ${backend.url}${backend.fromEnv ? " (from PULUMI_BACKEND_URL)" : ""}`);

  const pass = passphraseDecision(d.env, d.repoRoot, d.isFile);
  let passphraseFile;
  if (pass.source === "env-file") {
    if (pass.missing)
      return fail(d, `fleet up: PULUMI_CONFIG_PASSPHRASE_FILE points at ${pass.path}, which does not exist.`);
    passphraseFile = pass.path;
  } else if (pass.source === "state-file") {
    passphraseFile = pass.path;
    if (pass.create) {
      // A new random passphrase cannot match a salt made with another one; Pulumi would fail with
      // "incorrect passphrase" after creating the stack (pulumi/pulumi#17759). Say why, first.
      const conflict = saltConflict(args.stack, stackFile);
      if (conflict) return fail(d, conflict);
      d.mkdir(path.dirname(pass.path));
      d.writeSecretFile(pass.path, d.randomPassphrase() + "\n");
      d.out(
        `fleet up: created ${path.relative(d.repoRoot, pass.path)} (mode 600), the passphrase that encrypts this stack's secrets.\n` +
          "          Back it up: without it the stack's secrets (admin tokens) cannot be decrypted.",
      );
    }
  }
  const env = pulumiEnv(d.env, { backendUrl: backend.url, passphraseFile, cliPath: cli.path });

  const sel = d.run(cli.path, ["stack", "select", args.stack, "--create"], { env, cwd: d.repoRoot });
  if (sel.status !== 0) {
    const why = lastLine(sel.stderr) || lastLine(sel.stdout);
    const hint = /incorrect passphrase/i.test(why)
      ? `\nThe passphrase does not match the encryptionsalt in Pulumi.${args.stack}.yaml; use the passphrase the stack was created with (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE).`
      : "";
    return fail(d, `fleet up: could not create or select stack ${args.stack}: ${why}${hint}`);
  }
  d.out(
    `fleet up: stack ${args.stack} selected; running \`pulumi up${args.upArgs.length ? " " + args.upArgs.join(" ") : ""}\``,
  );
  const status = d.runInteractive(cli.path, ["up", ...args.upArgs], { env, cwd: d.repoRoot });
  if (status !== 0) reportFailedRoll(d, args.stack, status, dockerEnv);
  return status;
}

/** @param {{ err: (s: string) => void }} d @param {string} message */
function fail(d, message) {
  d.err(message);
  return 1;
}

module.exports = {
  MIN_NODE_MAJOR,
  DEFAULT_STACK,
  STATE_DIR,
  PASSPHRASE_FILE,
  INSTALL_HINT,
  parseUpArgs,
  checkNodeVersion,
  installDecision,
  pulumiCandidates,
  noCliMessage,
  backendDecision,
  passphraseDecision,
  pulumiEnv,
  existingStackEnv,
  saltConflict,
  dockerHostOf,
  dockerVerdict,
  findPulumi,
  appContainersArgs,
  parseAppContainers,
  parseHealth,
  failedRollReport,
  reportFailedRoll,
  runUp,
};

if (require.main === module) {
  const fs = require("node:fs");
  const os = require("node:os");
  const crypto = require("node:crypto");
  const { spawnSync } = require("node:child_process");
  const repoRoot = path.resolve(__dirname, "..", "..");
  /** @type {import("./up.d.cts").UpDeps} */
  const deps = {
    env: process.env,
    repoRoot,
    home: os.homedir(),
    nodeVersion: process.versions.node,
    out: (s) => process.stdout.write(s + "\n"),
    err: (s) => process.stderr.write(s + "\n"),
    run: (cmd, args, o) => {
      const r = spawnSync(cmd, args, {
        env: o.env,
        cwd: o.cwd || repoRoot,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      return { status: r.status, stdout: r.stdout || "", stderr: r.stderr || "", error: r.error };
    },
    runInteractive: (cmd, args, o) => {
      // npm on Windows is npm.cmd, which spawn only finds through a shell.
      const r = spawnSync(cmd, args, {
        env: o.env,
        cwd: o.cwd || repoRoot,
        stdio: "inherit",
        shell: process.platform === "win32" && cmd === "npm",
      });
      if (r.error) {
        process.stderr.write(`fleet up: could not run ${cmd}: ${r.error.message}\n`);
        return 1;
      }
      return r.status === null ? 1 : r.status;
    },
    mtimeMs: (p) => {
      try {
        return fs.statSync(p).mtimeMs;
      } catch {
        return null;
      }
    },
    isFile: (p) => {
      try {
        return fs.statSync(p).isFile();
      } catch {
        return false;
      }
    },
    listDir: (p) => {
      try {
        return fs.readdirSync(p);
      } catch {
        return [];
      }
    },
    readText: (p) => {
      try {
        return fs.readFileSync(p, "utf8");
      } catch {
        return null;
      }
    },
    mkdir: (p) => fs.mkdirSync(p, { recursive: true, mode: 0o700 }),
    writeSecretFile: (p, content) => fs.writeFileSync(p, content, { mode: 0o600, flag: "wx" }),
    randomPassphrase: () => crypto.randomBytes(32).toString("base64url"),
  };
  try {
    process.exitCode = runUp(process.argv.slice(2), deps);
  } catch (e) {
    process.stderr.write(`fleet up: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
