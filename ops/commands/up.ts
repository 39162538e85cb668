// `npm run up`, after the bootstrap (up.cjs: Node check, Docker CLI check, install): the Docker
// engine check, the Pulumi CLI, the stack (ops/core/pulumi-stack.ts), `pulumi up`, the report
// after a failed roll (ops/core/failed-roll.ts) and the notifications (ops/core/roll-notify.ts).
// Its messages are whole lines (`fleet up: ...`), as the bootstrap's are.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type NotificationPayload, sendNotification } from "../../app/src/notify";
import { dockerVerdict } from "../core/bootstrap.cjs";
import { DEFAULT_STACK } from "../core/args";
import { captureRun, isFile, listDir, readText, terminalRun } from "../core/effects";
import { reportFailedRoll } from "../core/failed-roll";
import { type Env, findPulumi, noCliMessage, type Run } from "../core/pulumi-cli";
import { prepareStack, type StackSetupDeps } from "../core/pulumi-stack";
import { movedInstances, readInstanceVersions, readNotifyUrl, rollNotifications } from "../core/roll-notify";
import { stackDockerHost, stackSetsNotify } from "../core/stack-file";

/** The effects `runUp` needs; `main` wires in the real ones, tests pass fakes. */
export interface UpDeps extends StackSetupDeps {
  home: string;
  platform: NodeJS.Platform;
  err(line: string): void;
  run: Run;
  /** Runs a command attached to the terminal and returns its exit code. */
  runInteractive(cmd: string, args: string[], opts: { env: Env; cwd?: string }): number;
  listDir(path: string): string[];
  /** The file's text, or null when it cannot be read. */
  readText(path: string): string | null;
  /** Sends one notification without waiting (app/src/notify.ts: best effort, never throws). */
  notify(url: string, payload: NotificationPayload): void;
}

const USAGE =
  "usage: npm run up [-- --yes] [-- --stack NAME] [-- other `pulumi up` flags]\n" +
  "Installs what is missing, uses the local state backend in .pulumi-state/, creates or selects\n" +
  `the stack (default ${DEFAULT_STACK}) and runs \`pulumi up\` with your flags.`;

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

/** Runs `npm run up` after the bootstrap, through injected effects. Returns the exit code. */
export function runUp(argv: string[], d: UpDeps): number {
  const args = parseUpArgs(argv);
  if (args.help) {
    d.out(USAGE);
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

  const ready = prepareStack(d, args.stack, stackFile, cli.path);
  if ("problem" in ready) return fail(d, ready.problem);
  d.out(
    `fleet up: stack ${args.stack} selected; running \`pulumi up${args.upArgs.length ? " " + args.upArgs.join(" ") : ""}\``,
  );
  // fleet:notify (a secret) is asked of the CLI only when the stack file sets it.
  const cliOpts = { env: ready.env, cwd: d.repoRoot };
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
  return {
    env: process.env,
    repoRoot,
    home: os.homedir(),
    platform: process.platform,
    nodeDir: path.dirname(process.execPath),
    out: (s) => process.stdout.write(s + "\n"),
    err: (s) => process.stderr.write(s + "\n"),
    run: captureRun(repoRoot),
    runInteractive: terminalRun(repoRoot, "up"),
    isFile,
    listDir,
    readText,
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
