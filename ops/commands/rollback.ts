// `npm run rollback [-- --to <update-number|version>] [--restore-data] [--yes] [--stack S] [--page-size N]`
//
// Pulumi has no rollback command; its answer is "put the old config back and run `pulumi up`".
// This does exactly that for `fleet:version`, chosen from `pulumi stack history`
// (ops/core/history.ts), and can then restore each instance's pre-update backup of the transition
// it undoes (ops/core/rollback-data.ts).
import * as path from "node:path";
import { DEFAULT_STACK, parseCli, stackFromArgv } from "../core/args";
import { loadInstancePins, readConfig, REPO_ROOT } from "../core/config";
import { endpointFor, realDocker, type DockerRunner } from "../core/docker";
import { realCliSearch, realPulumi } from "../core/effects";
import { CliError, EXIT, firstLine, guard, runAsScript, stdio } from "../core/errors";
import {
  chooseTarget,
  fetchHistory,
  instanceChanges,
  numberHistory,
  parseTo,
  renderHistoryTable,
  renderPlan,
  rollbackMessage,
  RollbackError,
  VERSION_KEY,
  type InstancePin,
} from "../core/history";
import type { BackupsDeps } from "../core/instance-backups";
import { existingStackCli, type PulumiRunner } from "../core/pulumi-cli";
import { applyRestores, planRestores, type PlannedRestore } from "../core/rollback-data";
import { askYesNo, confirmOrYes, type Prompt } from "../core/tables";

/** Effects of the rollback command; tests pass fakes and check every call. */
export interface RollbackDeps extends BackupsDeps, Prompt {
  readonly pulumi: PulumiRunner;
  readonly docker: DockerRunner;
  /** The instances and their pins, from the instance files. */
  readonly loadInstances: () => InstancePin[];
}

const USAGE =
  "usage: npm run rollback -- [--to <update-number|version>] [--restore-data] [--yes] [--stack S] [--page-size N]";

/** Runs `npm run rollback`; returns the exit code: 1 for every problem, bad arguments too (docs/operations.md). */
export async function runRollback(argv: string[], d: RollbackDeps): Promise<number> {
  try {
    return await rollback(argv, d);
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    d.err(`fleet rollback: ${e.message}`);
    return EXIT.problem;
  }
}

async function rollback(argv: string[], d: RollbackDeps): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      to: { type: "string" },
      "restore-data": { type: "boolean", default: false },
      yes: { type: "boolean", default: false },
      stack: { type: "string", default: DEFAULT_STACK },
      "page-size": { type: "string", default: "10" },
      help: { type: "boolean", short: "h", default: false },
    },
    USAGE,
  );
  if (values.help) {
    d.out(USAGE);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new CliError(`unexpected arguments: ${positionals.join(" ")}.\n${USAGE}`);
  const { stack, "page-size": pageSizeRaw, "restore-data": restoreData } = values;
  if (!/^[0-9]+$/.test(pageSizeRaw) || Number(pageSizeRaw) < 1 || Number(pageSizeRaw) > 1000) {
    throw new CliError(`--page-size: expected an integer from 1 to 1000, got ${JSON.stringify(pageSizeRaw)}`);
  }
  const pageSize = Number(pageSizeRaw);
  const to = values.to === undefined ? undefined : parseTo(values.to);

  const history = numberHistory(fetchHistory(d.pulumi, stack, pageSize));
  if (history.length === 0)
    throw new RollbackError(`stack ${stack} has never been updated; there is nothing to roll back.`);
  const shown = Math.min(pageSize, history.length);
  d.out(`Stack ${stack}: the ${shown} most recent of ${history.length} updates, newest first`);
  d.out(renderHistoryTable(history, shown));

  const plan = chooseTarget(history, stack, to);
  const changes = instanceChanges(plan, d.loadInstances());
  d.out(renderPlan(plan, changes, restoreData));
  // Every backup is checked before anything changes, so a missing one stops the roll back early.
  const restores: PlannedRestore[] = restoreData ? planRestores(d, plan, changes) : [];

  if (!(await confirmOrYes(d, values.yes, `Roll back stack ${stack} to ${VERSION_KEY} ${plan.targetVersion}?`))) {
    d.out("Roll back cancelled; nothing was changed.");
    return EXIT.problem;
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

  const failed = applyRestores(d, plan, restores);
  d.out(
    `Rolled back stack ${stack} to ${VERSION_KEY} ${plan.targetVersion}. Commit Pulumi.${stack}.yaml, ` +
      "or the next pulumi up from another checkout rolls forward again.",
  );
  if (failed === 0) return EXIT.ok;
  d.err(
    `fleet rollback: ${failed} of ${restores.length} data restores failed; see above, then use npm run restore -- <instance> <backup-id>.`,
  );
  return EXIT.problem;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  runAsScript("rollback", () =>
    guard("rollback", stdio, async () => {
      // Help needs neither the CLI nor the stack.
      if (argv.includes("--help") || argv.includes("-h")) return runRollback(argv, stdio as RollbackDeps);
      const cli = existingStackCli(realCliSearch(REPO_ROOT), "npm run rollback");
      const config = readConfig(REPO_ROOT, stackFromArgv(argv));
      return runRollback(argv, {
        ...stdio,
        target: config.target,
        pulumi: realPulumi(cli, REPO_ROOT),
        docker: realDocker(endpointFor(config.dockerHost)),
        confirm: askYesNo,
        interactive: Boolean(process.stdin.isTTY),
        loadInstances: () => loadInstancePins(path.resolve(REPO_ROOT, config.instancesDir)),
      });
    }),
  );
}
