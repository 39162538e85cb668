// `npm run restore -- <instance> [<backup-id> | --latest] [--list] [--stack S] [--yes] [--trust]`
// `npm run restore -- <instance> --from-offsite [<snapshot>] [--list] [--stack S] [--yes] [--trust]`
//
// Finds the instance's app container by its labels and runs the app's own backup CLI in it:
// `backup list --json` to list, `backup restore <id> --live` to restore while the server keeps
// running (maintenance mode, atomic swap, reopen, migrate; see docs/architecture.md). With
// --from-offsite the snapshot is first fetched from the off-site repository (ops/core/offsite.ts).
import { parseCli, stackFromArgv } from "../core/args";
import { newest, renderBackupTable } from "../core/backups";
import { instanceBackups, type BackupsDeps } from "../core/instance-backups";
import { readConfig, REPO_ROOT } from "../core/config";
import { endpointFor, realDocker } from "../core/docker";
import { CliError, EXIT, guard, runAsScript, stdio } from "../core/errors";
import { restoreFromOffsite, type OffsiteDeps } from "../core/offsite";
import { askYesNo, confirmOrYes } from "../core/tables";

/** Effects of the restore command. */
export type RestoreDeps = OffsiteDeps & BackupsDeps;

const USAGE =
  "usage: npm run restore -- <instance> [<backup-id> | --latest] [--list] [--stack S] [--yes]\n" +
  "       npm run restore -- <instance> --from-offsite [<snapshot>] [--list] [--stack S] [--yes] [--trust]\n" +
  "  Without a backup id or --latest it lists the instance's backups. --from-offsite brings a\n" +
  "  snapshot (the newest by default) back from the off-site repository first (docs/backups.md).\n" +
  "  --trust accepts a backup signed by another key (a new host or data volume); its content is checked all the same.";

/** Runs `npm run restore`; returns the exit code. */
export function runRestore(argv: string[], d: RestoreDeps): Promise<number> {
  return guard("restore", d, async () => {
    const { values, positionals } = parseCli(
      argv,
      {
        latest: { type: "boolean", default: false },
        list: { type: "boolean", default: false },
        stack: { type: "string", default: "dev" },
        yes: { type: "boolean", default: false },
        "from-offsite": { type: "boolean", default: false },
        trust: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      USAGE,
    );
    if (values.help) {
      d.out(USAGE);
      return EXIT.ok;
    }
    const [instance, backupId, ...extra] = positionals;
    const stack = values.stack;
    if (!instance) throw new CliError(`missing the instance name.\n${USAGE}`);
    if (extra.length > 0) throw new CliError(`unexpected arguments: ${extra.join(" ")}.\n${USAGE}`);
    if (values["from-offsite"]) {
      if (values.latest) throw new CliError("--from-offsite restores the newest snapshot without --latest; drop it.");
      const { list, yes, trust } = values;
      return restoreFromOffsite(d, { stack, instance, ...(backupId ? { snapshot: backupId } : {}), list, yes, trust });
    }
    if (backupId && values.latest) throw new CliError("give either a backup id or --latest, not both.");
    if (values.list && (backupId || values.latest))
      throw new CliError("--list only lists; drop the backup id and --latest.");

    const at = instanceBackups(d, stack, instance);
    const backups = at.list();
    if (!backupId && !values.latest) {
      d.out(`Backups of ${instance} (stack ${stack}, ${at.where}):`);
      d.out(backups.length ? renderBackupTable(backups) : "  (none yet)");
      d.out("Restore one with: npm run restore -- " + instance + " <backup-id>   (or --latest)");
      return EXIT.ok;
    }
    const chosen = backupId ? backups.find((b) => b.id === backupId) : newest(backups);
    if (!chosen) {
      throw new CliError(
        backupId
          ? `instance ${instance} has no backup ${JSON.stringify(backupId)}; list them with npm run restore -- ${instance} --list`
          : `instance ${instance} has no backups yet.`,
      );
    }
    const question = `Restore ${instance} (stack ${stack}) from backup ${chosen.id}? ${at.safety}.`;
    if (!(await confirmOrYes(d, values.yes, question))) {
      d.out("Restore cancelled; nothing was changed.");
      return EXIT.problem;
    }
    return at.restore(chosen.id, values.trust);
  });
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  runAsScript("restore", () =>
    guard("restore", stdio, () => {
      const config = readConfig(REPO_ROOT, stackFromArgv(argv));
      const endpoint = endpointFor(config.dockerHost);
      return runRestore(argv, {
        ...stdio,
        target: config.target,
        docker: realDocker(endpoint),
        confirm: askYesNo,
        interactive: Boolean(process.stdin.isTTY),
      });
    }),
  );
}
