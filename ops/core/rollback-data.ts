/**
 * `npm run rollback --restore-data`: before anything changes, find each moving instance's
 * pre-update backup of the transition being undone (all of them, or stop); after `pulumi up`,
 * restore each on the instance's target (ops/core/instance-backups.ts: live into the container on
 * one host, with the service stopped on a swarm).
 */
import { transitionBackup } from "./backups";
import { CliError } from "./errors";
import type { InstanceChange, RollbackPlan } from "./history";
import { instanceBackups, type BackupsDeps } from "./instance-backups";

/** One restore the roll back will do. */
export interface PlannedRestore {
  readonly instance: string;
  readonly backupId: string;
}

type Deps = BackupsDeps;

/**
 * The backup each instance that moves (pinned ones stay) restores after the roll back: the newest
 * from the target version to the current one. Prints one line per instance.
 * @throws CliError naming every instance without such a backup (nothing has changed yet)
 */
export function planRestores(d: Deps, plan: RollbackPlan, changes: readonly InstanceChange[]): PlannedRestore[] {
  const restores: PlannedRestore[] = [];
  const missing: string[] = [];
  for (const c of changes.filter((x) => !x.pinned)) {
    const backups = instanceBackups(d, plan.stack, c.name).list();
    const backup = transitionBackup(backups, plan.targetVersion, plan.currentVersion);
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
  return restores;
}

/**
 * After the roll back: restores each planned backup into the instance's healthy container, which
 * must run the target version (another one means the roll back did not reach it: no restore).
 * Returns how many restores failed; each failure is printed.
 */
export function applyRestores(d: Deps, plan: RollbackPlan, restores: readonly PlannedRestore[]): number {
  let failed = 0;
  for (const r of restores) {
    const at = instanceBackups(d, plan.stack, r.instance);
    if (at.version !== plan.targetVersion) {
      d.err(
        `fleet rollback: ${r.instance} runs ${at.version || "an unlabelled version"}, not ${plan.targetVersion}; not restoring it.`,
      );
      failed++;
      continue;
    }
    if (at.restore(r.backupId) !== 0) failed++;
  }
  return failed;
}
