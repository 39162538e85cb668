/**
 * Restoring from the off-site restic repository: the stack's off-site container
 * (app/src/offsite.ts) lists the instance's snapshots and fetches one into its backups; the
 * ordinary live restore ({@link restoreInto}) then applies it, so every check of a restore applies.
 */
import {
  ContractError,
  FetchedBackup,
  LABEL,
  labelFilters,
  offsiteFetchArgs,
  offsiteSnapshotsArgs,
  OffsiteSnapshot,
  parseAppJson,
} from "../../components/app-contract";
import { findAppContainer, restoreInto } from "./backups";
import { lines, type DockerRunner } from "./docker";
import { CliError, firstLine, type Output } from "./errors";
import { confirmOrYes, renderTable, type Prompt } from "./tables";

/** The `docker ps` arguments that find the stack's off-site container. */
export function offsiteContainerQuery(stack: string): string[] {
  return ["ps", ...labelFilters({ stack, role: "offsite" }), "--format", "{{.ID}}\t{{.Names}}"];
}

/** `docker exec <container> node dist/cli.js offsite snapshots --instance I --json` */
export const offsiteSnapshotsCommand = (container: string, instance: string): string[] => [
  "exec",
  container,
  ...offsiteSnapshotsArgs(instance),
];

/** `docker exec <container> node dist/cli.js offsite fetch --instance I --snapshot S` */
export const offsiteFetchCommand = (container: string, instance: string, snapshot: string): string[] => [
  "exec",
  container,
  ...offsiteFetchArgs(instance, snapshot),
];

function parse<T extends Parameters<typeof parseAppJson>[1]>(what: string, schema: T, stdout: string) {
  try {
    return parseAppJson(what, schema, stdout);
  } catch (e) {
    if (e instanceof ContractError) throw new CliError(e.message);
    throw e;
  }
}

/** What the off-site restore needs. */
export type OffsiteDeps = Output & Prompt & { readonly docker: DockerRunner };

/** Restores an instance from the off-site repository (or lists its snapshots); returns the exit code. */
export async function restoreFromOffsite(
  d: OffsiteDeps,
  args: { stack: string; instance: string; snapshot?: string; list: boolean; yes: boolean; trust?: boolean },
): Promise<number> {
  const { stack, instance } = args;
  const ps = d.docker(offsiteContainerQuery(stack));
  if (ps.status !== 0)
    throw new CliError(`docker ps failed (exit ${ps.status}): ${firstLine(ps.stderr) || "no output"}`);
  const [line] = lines(ps.stdout);
  if (!line) {
    throw new CliError(
      `stack ${stack} has no off-site container (label ${LABEL.role}=offsite). Set fleet:offsite (docs/backups.md) ` +
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
  const snapshots = parse("offsite snapshots --json", OffsiteSnapshot.array(), listed.stdout);
  if (args.list) {
    d.out(`Off-site snapshots of ${instance} (stack ${stack}, container ${offsiteName}):`);
    d.out(
      snapshots.length === 0
        ? "  (none yet)"
        : renderTable(
            ["snapshot", "time", "reason", "versions", "backup"],
            snapshots.map((s) => [s.snapshot, s.time, s.reason ?? "", s.versions ?? "", s.id ?? ""]),
          ),
    );
    d.out(`Restore one with: npm run restore -- ${instance} --from-offsite <snapshot>   (the newest without one)`);
    return 0;
  }
  const wanted = args.snapshot;
  const chosen = wanted
    ? snapshots.find((s) => s.snapshot === wanted || wanted.startsWith(s.snapshot))
    : snapshots.at(-1);
  if (!chosen) {
    throw new CliError(
      wanted
        ? `the off-site repository has no snapshot ${JSON.stringify(wanted)} of ${instance}; list them with npm run restore -- ${instance} --from-offsite --list`
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
  const { id } = parse("offsite fetch", FetchedBackup, fetched.stdout);
  return restoreInto(d, instance, app, id, args.trust === true);
}
