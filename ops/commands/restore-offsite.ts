// `npm run restore -- <instance> --from-offsite [<snapshot>] [--list] [--stack S] [--yes]`
//
// Brings a backup back from the off-site restic repository through the stack's off-site container
// (app/src/offsite.ts `fetch`) into the instance's backups, then restores it with the ordinary
// live restore, so every check of an ordinary restore applies. Works on a host that has nothing
// of the instance but what `npm run up` creates: empty volumes and the containers.
import Table from "cli-table3";
import { COMPACT } from "../core/history";
import { CliError, confirmOrYes, findAppContainer, firstLine, type RestoreDeps, restoreInto } from "./restore";

/** One snapshot as `offsite snapshots --json` prints it. */
export interface OffsiteSnapshot {
  readonly snapshot: string;
  readonly time: string;
  readonly id: string | null;
  readonly reason: string | null;
  readonly versions: string | null;
}

/** The `docker ps` arguments that find the stack's off-site container. */
export function offsiteContainerQuery(stack: string): string[] {
  return [
    "ps",
    "--filter",
    "label=fleet.managed=true",
    "--filter",
    `label=fleet.stack=${stack}`,
    "--filter",
    "label=fleet.role=offsite",
    "--format",
    "{{.ID}}\t{{.Names}}",
  ];
}

/** `docker exec <container> node dist/cli.js offsite snapshots --instance I --json` */
export function offsiteSnapshotsCommand(container: string, instance: string): string[] {
  return ["exec", container, "node", "dist/cli.js", "offsite", "snapshots", "--instance", instance, "--json"];
}

/** `docker exec <container> node dist/cli.js offsite fetch --instance I --snapshot S` */
export function offsiteFetchCommand(container: string, instance: string, snapshot: string): string[] {
  return ["exec", container, "node", "dist/cli.js", "offsite", "fetch", "--instance", instance, "--snapshot", snapshot];
}

function parseJson<T>(what: string, stdout: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new CliError(`${what} printed something that is not JSON: ${JSON.stringify(stdout.slice(0, 120))}`);
  }
}

/** Restores an instance from the off-site repository; returns the exit code. */
export async function restoreFromOffsite(
  d: RestoreDeps,
  args: { stack: string; instance: string; snapshot?: string; list: boolean; yes: boolean; trust?: boolean },
): Promise<number> {
  const { stack, instance } = args;
  const ps = d.docker(offsiteContainerQuery(stack));
  if (ps.status !== 0)
    throw new CliError(`docker ps failed (exit ${ps.status}): ${firstLine(ps.stderr) || "no output"}`);
  const [line] = ps.stdout.split("\n").filter((l) => l.trim() !== "");
  if (!line) {
    throw new CliError(
      `stack ${stack} has no off-site container (label fleet.role=offsite). Set fleet:offsite (docs/backups.md) ` +
        "and run npm run up on this host first: it creates the instance's empty volumes and the off-site container.",
    );
  }
  const [offsiteId = "", offsiteName = ""] = line.split("\t");
  const listed = d.docker(offsiteSnapshotsCommand(offsiteId, instance));
  if (listed.status !== 0) {
    throw new CliError(
      `listing the off-site snapshots of ${instance} failed (exit ${listed.status}): ${firstLine(listed.stderr) || firstLine(listed.stdout)}`,
    );
  }
  const snapshots = parseJson<OffsiteSnapshot[]>("offsite snapshots --json", listed.stdout);
  if (args.list) {
    d.out(`Off-site snapshots of ${instance} (stack ${stack}, container ${offsiteName}):`);
    if (snapshots.length === 0) d.out("  (none yet)");
    else {
      const table = new Table({
        head: ["snapshot", "time", "reason", "versions", "backup"],
        style: { head: [], border: [] },
        chars: COMPACT,
      });
      for (const s of snapshots) table.push([s.snapshot, s.time, s.reason ?? "", s.versions ?? "", s.id ?? ""]);
      d.out(table.toString());
    }
    d.out(`Restore one with: npm run restore -- ${instance} --from-offsite <snapshot>   (the newest without one)`);
    return 0;
  }
  const chosen = args.snapshot
    ? snapshots.find((s) => s.snapshot === args.snapshot || args.snapshot!.startsWith(s.snapshot))
    : snapshots.at(-1);
  if (!chosen) {
    throw new CliError(
      args.snapshot
        ? `the off-site repository has no snapshot ${JSON.stringify(args.snapshot)} of ${instance}; list them with npm run restore -- ${instance} --from-offsite --list`
        : `the off-site repository has no snapshot of ${instance} yet.`,
    );
  }
  // Before fetching anything: the instance must be deployed here to restore into.
  const app = findAppContainer(d.docker, stack, instance);
  const ok = await confirmOrYes(
    d,
    args.yes,
    `Restore ${instance} (stack ${stack}) from off-site snapshot ${chosen.snapshot} (${chosen.time}, backup ${chosen.id ?? "?"})? The app takes a safety backup first.`,
  );
  if (!ok) {
    d.out("Restore cancelled; nothing was changed.");
    return 1;
  }
  d.out(`Fetching snapshot ${chosen.snapshot} into ${instance}'s backups ...`);
  const fetched = d.docker(offsiteFetchCommand(offsiteId, instance, chosen.snapshot));
  if (fetched.status !== 0) {
    throw new CliError(
      `fetching snapshot ${chosen.snapshot} failed (exit ${fetched.status}): ${firstLine(fetched.stderr) || firstLine(fetched.stdout)}`,
    );
  }
  const { id } = parseJson<{ id: string }>("offsite fetch", fetched.stdout);
  return restoreInto(d, instance, app, id, args.trust === true);
}
