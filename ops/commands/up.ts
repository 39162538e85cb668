// `npm run up`, after the bootstrap (up.cjs: Node check, Docker CLI check, install): the Docker
// engine check, the Pulumi CLI, the local state backend and passphrase, the stack, `pulumi up`,
// and the report after a failed roll. The decisions are pure functions (test/up.test.ts);
// `runUp` strings them together through injected effects, and `main` wires in the real ones.
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { type NotificationPayload, sendNotification } from "../../app/src/notify";
import { dockerVerdict } from "../core/bootstrap.cjs";
import {
  backendDecision,
  type Env,
  findPulumi,
  lastLine,
  noCliMessage,
  passphraseDecision,
  pulumiEnv,
  type Run,
  STATE_DIR,
} from "../core/pulumi-cli";
import {
  movedInstances,
  readInstanceVersions,
  readNotifyUrl,
  rollNotifications,
  stackSetsNotify,
} from "../core/roll-notify";

/** The stack that `npm run up` deploys unless `--stack` says otherwise. */
export const DEFAULT_STACK = "dev";

/** The effects `runUp` needs; `main` wires in the real ones, tests pass fakes. */
export interface UpDeps {
  env: Env;
  repoRoot: string;
  home: string;
  platform: NodeJS.Platform;
  /** The folder of the Node that runs fleet (Node 24 from the npm package `node`). */
  nodeDir: string;
  out(line: string): void;
  err(line: string): void;
  run: Run;
  /** Runs a command attached to the terminal and returns its exit code. */
  runInteractive(cmd: string, args: string[], opts: { env: Env; cwd?: string }): number;
  isFile(path: string): boolean;
  listDir(path: string): string[];
  /** The file's text, or null when it cannot be read. */
  readText(path: string): string | null;
  mkdir(path: string): void;
  /** Creates a new file readable only by its owner (mode 600); fails if it exists. */
  writeSecretFile(path: string, content: string): void;
  randomPassphrase(): string;
  /** Sends one notification without waiting (app/src/notify.ts: best effort, never throws). */
  notify(url: string, payload: NotificationPayload): void;
}

/**
 * Splits `npm run up -- ...` arguments: everything goes to `pulumi up`, and `--stack`/`-s`
 * also names the stack to create or select.
 */
export function parseUpArgs(argv: string[]): { stack: string; upArgs: string[]; help: boolean } {
  let stack = DEFAULT_STACK;
  let help = false;
  argv.forEach((a, i) => {
    const next = argv[i + 1];
    if (a === "--help" || a === "-h") help = true;
    else if ((a === "--stack" || a === "-s") && next !== undefined) stack = next;
    else if (a.startsWith("--stack=")) stack = a.slice("--stack=".length);
  });
  return { stack, upArgs: [...argv], help };
}

/**
 * `fleet:dockerHost` of the stack file's text; null means the local engine. The one place `up`
 * reads the stack config, to be replaced by the program's stack-config reader.
 */
export function stackDockerHost(stackFileText: string | null): string | null {
  const doc: unknown = stackFileText ? parseYaml(stackFileText) : null;
  const config = doc && typeof doc === "object" ? (doc as { config?: unknown }).config : undefined;
  const value =
    config && typeof config === "object" ? (config as Record<string, unknown>)["fleet:dockerHost"] : undefined;
  return typeof value === "string" && value !== "" ? value : null;
}

/**
 * When `up` is about to make a new passphrase: an `encryptionsalt` already in the stack file was
 * made with another passphrase, so the new one would be refused. Returns the message, or null.
 */
export function saltConflict(stack: string, stackFileText: string | null): string | null {
  if (!stackFileText || !/^encryptionsalt:/m.test(stackFileText)) return null;
  return (
    `fleet up: Pulumi.${stack}.yaml has an encryptionsalt, made with a passphrase this machine does not have\n` +
    "(no PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE or .pulumi-state/passphrase). Either set the passphrase\n" +
    `it was made with, or, to start a new local stack, delete the encryptionsalt line (and any \`secure:\` values) from\n` +
    `Pulumi.${stack}.yaml and run \`npm run up\` again.`
  );
}

/**
 * `docker ps` arguments that list every app container of a stack, running or not, one
 * tab-separated line each: id, name, instance, version.
 */
export function appContainersArgs(stack: string): string[] {
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

/** An app container of the stack, as {@link appContainersArgs} lists it. */
export interface AppContainer {
  id: string;
  name: string;
  instance: string;
  version: string;
}

/** Parses the output of {@link appContainersArgs}. */
export function parseAppContainers(stdout: string): AppContainer[] {
  return stdout
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
 */
export function parseHealth(stdout: string): { status: string; lastOutput: string } {
  let h: unknown;
  try {
    h = JSON.parse(stdout.trim() || "null");
  } catch {
    return { status: "unknown", lastOutput: "" };
  }
  if (!h || typeof h !== "object") return { status: "none", lastOutput: "" };
  const health = h as { Status?: unknown; Log?: unknown };
  const log = Array.isArray(health.Log) ? (health.Log as { Output?: unknown }[]) : [];
  const lastOutput = String(log.at(-1)?.Output ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .join(" | ");
  return { status: String(health.Status || "unknown"), lastOutput };
}

/** An app container of the stack with its health, as `npm run up` reports it after a failed roll. */
export interface AppContainerHealth {
  name: string;
  instance: string;
  version: string;
  status: string;
  lastOutput: string;
}

/**
 * What `npm run up` prints after a failed `pulumi up`: one line per app container that is not
 * healthy, and what happens to its instance. Returns null when every app container is healthy
 * (the failure lies elsewhere and pulumi's own output says where).
 */
export function failedRollReport(stack: string, exitCode: number, containers: AppContainerHealth[]): string | null {
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
 */
export function reportFailedRoll(
  d: Pick<UpDeps, "run" | "err">,
  stack: string,
  exitCode: number,
  env: Env,
): AppContainerHealth[] {
  const ps = d.run("docker", appContainersArgs(stack), { env });
  if (ps.status !== 0) {
    d.err(
      `fleet up: could not list the app containers of stack ${stack}: ${lastLine(ps.stderr) || `exit ${ps.status}`}`,
    );
    return [];
  }
  const containers = parseAppContainers(ps.stdout).map((c) => {
    const r = d.run("docker", ["inspect", "--format", "{{json .State.Health}}", c.id], { env });
    return { ...c, ...(r.status === 0 ? parseHealth(r.stdout) : { status: "gone", lastOutput: "" }) };
  });
  const report = failedRollReport(stack, exitCode, containers);
  if (report) d.err(report);
  return containers;
}

/** Runs `npm run up` after the bootstrap, through injected effects. Returns the exit code. */
export function runUp(argv: string[], d: UpDeps): number {
  const args = parseUpArgs(argv);
  if (args.help) {
    d.out(
      "usage: npm run up [-- --yes] [-- --stack NAME] [-- other `pulumi up` flags]\n" +
        "Installs what is missing, uses the local state backend in .pulumi-state/, creates or selects\n" +
        `the stack (default ${DEFAULT_STACK}) and runs \`pulumi up\` with your flags.`,
    );
    return 0;
  }

  // The engine the stack deploys to: `fleet:dockerHost` when the stack file sets it.
  const stackFile = d.readText(path.join(d.repoRoot, `Pulumi.${args.stack}.yaml`));
  const dockerHost = stackDockerHost(stackFile);
  const dockerEnv = dockerHost ? { ...d.env, DOCKER_HOST: dockerHost } : d.env;
  const dockerProblem = dockerVerdict(
    d.run("docker", ["version", "--format", "{{.Server.Version}}"], { env: dockerEnv }),
    d.platform,
    dockerHost,
  );
  if (dockerProblem) return fail(d, dockerProblem);

  const { cli, tried } = findPulumi(d);
  if (!cli) return fail(d, noCliMessage(tried));
  d.out(`fleet up: using Pulumi CLI ${cli.version} (${cli.path})`);

  const backend = backendDecision(d.env, d.repoRoot);
  if (backend.local) d.mkdir(path.join(d.repoRoot, STATE_DIR));
  d.out(`fleet up: state backend ${backend.url}${backend.fromEnv ? " (from PULUMI_BACKEND_URL)" : ""}`);

  const pass = passphraseDecision(d.env, d.repoRoot, d.isFile);
  let passphraseFile: string | undefined;
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
  const env = pulumiEnv(d.env, { backendUrl: backend.url, passphraseFile, cliPath: cli.path, nodeDir: d.nodeDir });

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
  // fleet:notify (a secret) is asked of the CLI only when the stack file sets it.
  const cliOpts = { env, cwd: d.repoRoot };
  const notifyUrl = stackSetsNotify(stackFile) ? readNotifyUrl(d.run, cli.path, args.stack, cliOpts) : null;
  const before = notifyUrl ? readInstanceVersions(d.run, cli.path, args.stack, cliOpts) : {};
  const status = d.runInteractive(cli.path, ["up", ...args.upArgs], cliOpts);
  const containers = status !== 0 ? reportFailedRoll(d, args.stack, status, dockerEnv) : [];
  if (notifyUrl) {
    const moved =
      status === 0 ? movedInstances(before, readInstanceVersions(d.run, cli.path, args.stack, cliOpts)) : [];
    for (const payload of rollNotifications(args.stack, status, { containers, moved })) d.notify(notifyUrl, payload);
  }
  return status;
}

function fail(d: Pick<UpDeps, "err">, message: string): number {
  d.err(message);
  return 1;
}

/** The real effects. */
export function realUpDeps(repoRoot: string): UpDeps {
  const spawn = (cmd: string, args: string[], o: { env: Env; cwd?: string }, inherit: boolean) =>
    spawnSync(cmd, args, {
      env: o.env,
      cwd: o.cwd ?? repoRoot,
      encoding: "utf8",
      stdio: inherit ? "inherit" : ["ignore", "pipe", "pipe"],
    });
  const tryOr = <T>(f: () => T, fallback: T): T => {
    try {
      return f();
    } catch {
      return fallback;
    }
  };
  return {
    env: process.env,
    repoRoot,
    home: os.homedir(),
    platform: process.platform,
    nodeDir: path.dirname(process.execPath),
    out: (s) => process.stdout.write(s + "\n"),
    err: (s) => process.stderr.write(s + "\n"),
    run: (cmd, args, o) => {
      const r = spawn(cmd, args, o, false);
      return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
    },
    runInteractive: (cmd, args, o) => {
      const r = spawn(cmd, args, o, true);
      if (r.error) process.stderr.write(`fleet up: could not run ${cmd}: ${r.error.message}\n`);
      return r.status ?? 1;
    },
    isFile: (p) => tryOr(() => fs.statSync(p).isFile(), false),
    listDir: (p) => tryOr(() => fs.readdirSync(p), []),
    readText: (p) => tryOr<string | null>(() => fs.readFileSync(p, "utf8"), null),
    mkdir: (p) => fs.mkdirSync(p, { recursive: true, mode: 0o700 }),
    writeSecretFile: (p, content) => fs.writeFileSync(p, content, { mode: 0o600, flag: "wx" }),
    randomPassphrase: () => crypto.randomBytes(32).toString("base64url"),
    // Not awaited: the process stays until the request settles (at most the sender's 5 s timeout).
    notify: (url, payload) => void sendNotification(url, payload),
  };
}

if (require.main === module) {
  try {
    process.exitCode = runUp(process.argv.slice(2), realUpDeps(path.resolve(__dirname, "..", "..")));
  } catch (e) {
    process.stderr.write(`fleet up: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
