// `npm run rollback [-- --to <update-number|version>] [--restore-data] [--yes] [--stack S] [--page-size N]`
//
// Pulumi has no rollback command; its answer is "put the old config back and run `pulumi up`".
// This does exactly that for `fleet:version`, chosen from `pulumi stack history`, and can then
// restore each instance's pre-update backup of the transition it undoes.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FleetValidationError, loadFleet } from "../../components/fleet";
import {
  chooseTarget,
  instanceChanges,
  numberHistory,
  parseHistoryPage,
  parseTo,
  renderHistoryTable,
  renderPlan,
  rollbackMessage,
  RollbackError,
  VERSION_KEY,
  type InstancePin,
  type UpdateInfo,
} from "../core/history";
import { parseCli } from "../core/args";
import { transitionBackup } from "../core/backups";
import { instanceBackups, type BackupsDeps } from "../core/instance-backups";
import { readConfig, stackFromArgv } from "../core/config";
import { endpointFor, realDocker, type CommandResult, type DockerRunner } from "../core/docker";
import { CliError, firstLine } from "../core/errors";
import { askYesNo, confirmOrYes } from "../core/tables";
import { existingStackEnv, findPulumi, noCliMessage } from "../core/pulumi-cli";

/** Runs `pulumi ...`; `stream` sends the output to the terminal instead of capturing it. */
export type PulumiRunner = (args: string[], opts?: { stream?: boolean }) => CommandResult;

/** Effects of the rollback command; tests pass fakes and check every call. */
export interface RollbackDeps extends BackupsDeps {
  readonly pulumi: PulumiRunner;
  readonly docker: DockerRunner;
  readonly confirm: (question: string) => Promise<boolean>;
  /** Whether a person can answer a question (stdin is a terminal). */
  readonly interactive: boolean;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** The instances and their pins, from the instance files. */
  readonly loadInstances: () => InstancePin[];
}

const USAGE =
  "usage: npm run rollback -- [--to <update-number|version>] [--restore-data] [--yes] [--stack S] [--page-size N]";

/** Safety net for a history that never ends (a CLI that ignored --page). */
const MAX_PAGES = 1000;

/**
 * Reads the whole history, page by page, newest first. A self-managed backend needs every page
 * to number the updates (it records no numbers); a page shorter than `pageSize` is the last.
 */
export function fetchHistory(pulumi: PulumiRunner, stack: string, pageSize: number): UpdateInfo[] {
  const all: UpdateInfo[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const args = historyArgs(stack, pageSize, page);
    const r = pulumi(args);
    if (r.status !== 0) {
      throw new RollbackError(
        `pulumi ${args.join(" ")} failed (exit ${r.status}): ${firstLine(r.stderr) || firstLine(r.stdout) || "no output"}`,
      );
    }
    const entries = parseHistoryPage(r.stdout, `pulumi stack history (page ${page})`);
    all.push(...entries);
    if (entries.length < pageSize) return all;
  }
  throw new RollbackError(
    `pulumi stack history returned more than ${MAX_PAGES} full pages; pass a larger --page-size.`,
  );
}

/** The exact `pulumi stack history` arguments for one page. */
export function historyArgs(stack: string, pageSize: number, page: number): string[] {
  return [
    "stack",
    "history",
    "--stack",
    stack,
    "--json",
    "--show-secrets=false",
    "--page-size",
    String(pageSize),
    "--page",
    String(page),
  ];
}

/** Runs `npm run rollback`; returns the exit code. */
export async function runRollback(argv: string[], d: RollbackDeps): Promise<number> {
  try {
    return await rollback(argv, d);
  } catch (e) {
    if (e instanceof RollbackError || e instanceof CliError) {
      d.err(`fleet rollback: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

async function rollback(argv: string[], d: RollbackDeps): Promise<number> {
  const args = parseCli(
    argv,
    {
      to: { type: "string" },
      "restore-data": { type: "boolean", default: false },
      yes: { type: "boolean", default: false },
      stack: { type: "string", default: "dev" },
      "page-size": { type: "string", default: "10" },
      help: { type: "boolean", short: "h", default: false },
    },
    USAGE,
  );
  if (args.values.help) {
    d.out(USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw new CliError(`unexpected arguments: ${args.positionals.join(" ")}.\n${USAGE}`);
  const stack = String(args.values.stack);
  const pageSizeRaw = String(args.values["page-size"]);
  if (!/^[0-9]+$/.test(pageSizeRaw) || Number(pageSizeRaw) < 1 || Number(pageSizeRaw) > 1000) {
    throw new CliError(`--page-size: expected an integer from 1 to 1000, got ${JSON.stringify(pageSizeRaw)}`);
  }
  const pageSize = Number(pageSizeRaw);
  const to = args.values.to === undefined ? undefined : parseTo(String(args.values.to));
  const restoreData = Boolean(args.values["restore-data"]);

  const history = numberHistory(fetchHistory(d.pulumi, stack, pageSize));
  if (history.length === 0)
    throw new RollbackError(`stack ${stack} has never been updated; there is nothing to roll back.`);
  const shown = Math.min(pageSize, history.length);
  d.out(`Stack ${stack}: the ${shown} most recent of ${history.length} updates, newest first`);
  d.out(renderHistoryTable(history, shown));

  const plan = chooseTarget(history, stack, to);
  const changes = instanceChanges(plan, d.loadInstances());
  d.out(renderPlan(plan, changes, restoreData));

  // Check every backup before changing anything, so a missing one stops the roll back early.
  const restores: { instance: string; backupId: string }[] = [];
  if (restoreData) {
    const missing: string[] = [];
    for (const c of changes.filter((x) => !x.pinned)) {
      const listed = instanceBackups(d, stack, c.name).list();
      const backup = transitionBackup(listed, plan.targetVersion, plan.currentVersion);
      if (backup) {
        restores.push({ instance: c.name, backupId: backup.id });
        d.out(`  ${c.name}: will restore ${backup.id}`);
      } else {
        missing.push(c.name);
      }
    }
    if (missing.length > 0) {
      throw new CliError(
        `no pre-update backup from ${plan.targetVersion} to ${plan.currentVersion} for: ${missing.join(", ")}. ` +
          "Nothing was changed. Roll back without --restore-data, then restore by hand with " +
          "npm run restore -- <instance> --list.",
      );
    }
  }

  const ok = await confirmOrYes(
    d,
    Boolean(args.values.yes),
    `Roll back stack ${stack} to ${VERSION_KEY} ${plan.targetVersion}?`,
  );
  if (!ok) {
    d.out("Roll back cancelled; nothing was changed.");
    return 1;
  }

  const setArgs = ["config", "set", VERSION_KEY, plan.targetVersion, "--stack", stack];
  const set = d.pulumi(setArgs);
  if (set.status !== 0) {
    throw new RollbackError(
      `pulumi ${setArgs.join(" ")} failed (exit ${set.status}): ${firstLine(set.stderr) || firstLine(set.stdout)}`,
    );
  }
  d.out(`Set ${VERSION_KEY} to ${plan.targetVersion} in Pulumi.${stack}.yaml; running pulumi up --yes ...`);
  const up = d.pulumi(["up", "--yes", "--stack", stack, "--message", rollbackMessage(plan)], { stream: true });
  if (up.status !== 0) {
    throw new RollbackError(
      `pulumi up failed (exit ${up.status}). Pulumi.${stack}.yaml now holds ${VERSION_KEY} ${plan.targetVersion}; ` +
        `fix the error above and run npm run up, or put ${plan.currentVersion} back with ` +
        `pulumi config set ${VERSION_KEY} ${plan.currentVersion} --stack ${stack}.` +
        (restoreData ? " No data was restored." : ""),
    );
  }

  let failed = 0;
  for (const r of restores) {
    const at = instanceBackups(d, stack, r.instance);
    if (at.version !== plan.targetVersion) {
      d.err(
        `fleet rollback: ${r.instance} runs ${at.version || "an unlabelled version"}, not ${plan.targetVersion}; not restoring it.`,
      );
      failed++;
      continue;
    }
    if (at.restore(r.backupId) !== 0) failed++;
  }
  d.out(
    `Rolled back stack ${stack} to ${VERSION_KEY} ${plan.targetVersion}. Commit Pulumi.${stack}.yaml, ` +
      "or the next pulumi up from another checkout rolls forward again.",
  );
  if (failed > 0) {
    d.err(
      `fleet rollback: ${failed} of ${restores.length} data restores failed; see above, then use npm run restore -- <instance> <backup-id>.`,
    );
    return 1;
  }
  return 0;
}

/**
 * The name and pin of every instance in `dir`, through the program's own loader, so rollback
 * sees the instances exactly as `pulumi up` will. Invalid files stop the roll back here, with the
 * same messages as `npm run validate`, because `pulumi up` would refuse them anyway.
 */
export function loadInstancePins(dir: string): InstancePin[] {
  try {
    return loadFleet(dir).instances.map((i) => (i.version ? { name: i.name, version: i.version } : { name: i.name }));
  } catch (e) {
    if (e instanceof FleetValidationError) throw new CliError(e.message);
    throw e;
  }
}

/** The entry point when run as a script (`npm run rollback`). */
async function main(): Promise<void> {
  const repoRoot = path.resolve(__dirname, "..", "..");
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE + "\n");
    return;
  }
  const stack = stackFromArgv(argv);
  const fail = (message: string) => {
    process.stderr.write(`fleet rollback: ${message}\n`);
    process.exitCode = 1;
  };
  const isFile = (p: string) => fs.existsSync(p) && fs.statSync(p).isFile();
  const listDir = (p: string) => (fs.existsSync(p) ? fs.readdirSync(p) : []);
  const capture = (
    cmd: string,
    args: string[],
    o: { env: NodeJS.ProcessEnv | Record<string, string | undefined>; cwd?: string },
  ) => {
    const r = spawnSync(cmd, args, { env: o.env as NodeJS.ProcessEnv, cwd: o.cwd ?? repoRoot, encoding: "utf8" });
    return {
      status: r.status,
      stdout: r.stdout ?? "",
      stderr: r.stderr ?? "",
      error: r.error as { code?: string } | undefined,
    };
  };
  const { cli, tried } = findPulumi({ env: process.env, home: os.homedir(), repoRoot, isFile, listDir, run: capture });
  if (!cli) return fail(noCliMessage(tried, "npm run rollback").replace(/^fleet up: /, ""));
  const stackEnv = existingStackEnv(process.env, repoRoot, isFile);
  if (stackEnv.error) return fail(stackEnv.error);
  const env = { ...stackEnv.env, PATH: path.dirname(cli.path) + path.delimiter + (process.env.PATH ?? "") };
  let config: ReturnType<typeof readConfig>;
  let endpoint: ReturnType<typeof endpointFor>;
  try {
    config = readConfig(repoRoot, stack);
    endpoint = endpointFor(config.dockerHost);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const pulumi: PulumiRunner = (args, opts) => {
    const r = spawnSync(cli.path, args, {
      env: env as NodeJS.ProcessEnv,
      cwd: repoRoot,
      encoding: "utf8",
      stdio: opts?.stream ? "inherit" : ["ignore", "pipe", "pipe"],
    });
    if (r.error) throw new CliError(`could not run ${cli.path}: ${r.error.message}`);
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
  process.exitCode = await runRollback(argv, {
    target: config.target,
    pulumi,
    docker: realDocker(endpoint),
    confirm: askYesNo,
    interactive: Boolean(process.stdin.isTTY),
    out: (l) => process.stdout.write(l + "\n"),
    err: (l) => process.stderr.write(l + "\n"),
    loadInstances: () => loadInstancePins(path.resolve(repoRoot, config.instancesDir ?? "instances")),
  });
}

// Only when run as a script, not when a test imports it.
if (/rollback\.[cm]?[jt]s$/.test(process.argv[1] ?? "")) {
  main().catch((e: unknown) => {
    process.stderr.write(`fleet rollback: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
