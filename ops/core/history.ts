// Helpers for `npm run rollback`: read `pulumi stack history --json` page by page (through an
// injected runner), number the updates, pick the version to roll back to, and render what would
// happen. No I/O of its own.
//
// The JSON shape is the CLI's `updateInfoJSON` (pulumi/pulumi pkg/cmd/pulumi/stack/stack_history.go):
// `version, kind, startTime, message, environment, config, result` and, once an update has
// finished, `endTime` and `resourceChanges`. A config value is `{value?, objectValue?, secret}`;
// without --show-secrets a secret has `"secret": true` and no `value` at all. Entries come newest
// first. On a self-managed (file://) backend `version` is always 0 (pkg/backend/diy/backend.go
// builds the entry without it), so fleet numbers those updates itself, oldest = 1.
// Previews are never in the history: the diy backend records only non-dry runs, and Pulumi Cloud
// lists previews under a separate endpoint.
import Table from "cli-table3";
import semver from "semver";
import { z } from "zod";
import { CliError, firstLine } from "./errors";
import type { PulumiRunner } from "./pulumi-cli";

/** cli-table3 borders without a line between rows. */
export const COMPACT = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

/** The config key that holds the fleet-wide version. */
export const VERSION_KEY = "fleet:version";

const ConfigValue = z.object({
  value: z.string().optional(),
  objectValue: z.unknown().optional(),
  secret: z.boolean(),
});

/** One element of `pulumi stack history --json`. */
export const UpdateInfo = z.object({
  version: z.number().int(),
  kind: z.string(),
  startTime: z.string(),
  message: z.string(),
  // A Go map that was never set marshals to null.
  environment: z.record(z.string(), z.string()).nullable(),
  config: z.record(z.string(), ConfigValue).nullable(),
  result: z.string().optional(),
  endTime: z.string().optional(),
  resourceChanges: z.record(z.string(), z.number()).optional(),
});
export type UpdateInfo = z.infer<typeof UpdateInfo>;

/** An update with the number fleet shows for it. */
export interface HistoryEntry extends UpdateInfo {
  /** The stack version on Pulumi Cloud; on a self-managed backend the position, oldest = 1. */
  readonly number: number;
}

/** What `fleet:version` an update ran with. */
export type VersionValue = { kind: "plain"; value: string } | { kind: "secret" } | { kind: "missing" };

/** A rollback target, chosen by default or by `--to`. */
export interface RollbackPlan {
  readonly stack: string;
  /** The newest `update`: the version the stack runs now (or tried to). */
  readonly current: HistoryEntry;
  readonly currentVersion: string;
  /** The succeeded update whose version fleet goes back to. */
  readonly target: HistoryEntry;
  readonly targetVersion: string;
}

/** An instance as far as rollback cares: its name and its pin, if any. */
export interface InstancePin {
  readonly name: string;
  /** The exact version the instance file pins, or undefined when it follows `fleet:version`. */
  readonly version?: string;
}

/** A user-facing error of the roll back: the CLI prints its message and exits 1, never a stack trace. */
export class RollbackError extends CliError {
  override readonly name = "RollbackError";
}

/**
 * Parses one page of `pulumi stack history --json` output.
 * @throws RollbackError naming the first field that does not fit
 */
export function parseHistoryPage(stdout: string, what = "pulumi stack history --json"): UpdateInfo[] {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch {
    throw new RollbackError(`${what} printed something that is not JSON: ${JSON.stringify(stdout.slice(0, 120))}`);
  }
  const parsed = z.array(UpdateInfo).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new RollbackError(`${what} has an unexpected shape at ${where}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/** Safety net for a history that never ends (a CLI that ignored --page). */
const MAX_PAGES = 1000;

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

/**
 * Reads the whole history, page by page, newest first. A self-managed backend needs every page
 * to number the updates (it records no numbers); a page shorter than `pageSize` is the last.
 * @throws RollbackError when the CLI fails or prints something else
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

/**
 * Numbers a complete history (newest first, all pages joined). Pulumi Cloud's own versions are
 * kept; a self-managed backend's zeros become positions, oldest = 1.
 */
export function numberHistory(updates: readonly UpdateInfo[]): HistoryEntry[] {
  const total = updates.length;
  return updates.map((u, i) => ({ ...u, number: u.version > 0 ? u.version : total - i }));
}

/** The `fleet:version` an update ran with. */
export function versionOf(u: UpdateInfo): VersionValue {
  const v = u.config?.[VERSION_KEY];
  if (!v) return { kind: "missing" };
  if (v.secret && v.value === undefined) return { kind: "secret" };
  if (v.value === undefined) return { kind: "missing" };
  return { kind: "plain", value: v.value };
}

/** How a version shows in the table: secrets as `[secret]`, a missing key as `-`. */
export function showVersion(v: VersionValue): string {
  return v.kind === "plain" ? v.value : v.kind === "secret" ? "[secret]" : "-";
}

/** Whether an entry is a finished, successful `pulumi up`. */
export function isGoodUpdate(u: UpdateInfo): boolean {
  return u.kind === "update" && u.result === "succeeded";
}

/** A `--to` argument: an update number (`12`) or an exact version (`1.4.0`). */
export type ToArg = { kind: "number"; number: number } | { kind: "version"; version: string };

/**
 * Parses `--to`.
 * @throws RollbackError for anything that is neither a positive integer nor an exact semver
 */
export function parseTo(raw: string): ToArg {
  if (/^[0-9]+$/.test(raw) && Number(raw) > 0) return { kind: "number", number: Number(raw) };
  if (semver.valid(raw) === raw) return { kind: "version", version: raw };
  throw new RollbackError(
    `--to: expected an update number (like 12) or an exact version (like 1.4.0), got ${JSON.stringify(raw)}`,
  );
}

/**
 * Chooses what to roll back to.
 * - The current version is the `fleet:version` of the newest `update` entry, whatever its result:
 *   after a failed roll the stack config already holds the new version.
 * - Default target: the newest succeeded update, older than that one, whose version differs.
 * - `--to N`: update N, which must be a succeeded `update`; `--to V`: the newest succeeded update
 *   that ran with version V.
 * @throws RollbackError with the reason and what to do instead
 */
export function chooseTarget(history: readonly HistoryEntry[], stack: string, to?: ToArg): RollbackPlan {
  const currentIndex = history.findIndex((u) => u.kind === "update");
  const current = history[currentIndex];
  if (!current) {
    throw new RollbackError(`stack ${stack} has no updates in its history; there is nothing to roll back.`);
  }
  if (current.result === "in-progress" || current.result === "not-started") {
    throw new RollbackError(
      `update ${current.number} of stack ${stack} is still ${current.result}; wait for it to finish ` +
        "(or run `pulumi cancel` if it was interrupted) and try again.",
    );
  }
  const cv = versionOf(current);
  if (cv.kind !== "plain") {
    throw new RollbackError(
      `update ${current.number} of stack ${stack} has ${cv.kind === "secret" ? "a secret" : "no"} ${VERSION_KEY}; ` +
        `set it in plain text (pulumi config set ${VERSION_KEY} <version>) before rolling back.`,
    );
  }
  const currentVersion = cv.value;

  let target: HistoryEntry | undefined;
  if (!to) {
    target = history
      .slice(currentIndex + 1)
      .find((u) => isGoodUpdate(u) && versionOf(u).kind === "plain" && plain(u) !== currentVersion);
    if (!target) {
      throw new RollbackError(
        `no earlier succeeded update of stack ${stack} ran a version other than ${currentVersion}; ` +
          "there is nothing to roll back to.",
      );
    }
  } else if (to.kind === "number") {
    target = history.find((u) => u.number === to.number);
    if (!target) {
      const numbers = history.map((u) => u.number);
      throw new RollbackError(
        `update ${to.number} is not in the history of stack ${stack} (it has updates ` +
          `${Math.min(...numbers)} to ${Math.max(...numbers)}).`,
      );
    }
    if (target.kind !== "update") {
      throw new RollbackError(
        `update ${to.number} is a ${target.kind}, not an update; pick an update (see the table).`,
      );
    }
    if (target.result !== "succeeded") {
      throw new RollbackError(`update ${to.number} ${target.result ?? "has no result"}; pick a succeeded update.`);
    }
    const tv = versionOf(target);
    if (tv.kind !== "plain") {
      throw new RollbackError(
        `update ${to.number} ran with ${tv.kind === "secret" ? "a secret" : "no"} ${VERSION_KEY}, so its version ` +
          "cannot be read; pick another update or pass --to <version>.",
      );
    }
  } else {
    target = history.find((u) => isGoodUpdate(u) && plain(u) === to.version);
    if (!target) {
      throw new RollbackError(
        `version ${to.version} never deployed successfully on stack ${stack}; ` +
          `versions that did: ${succeededVersions(history).join(", ") || "none"}.`,
      );
    }
  }
  const targetVersion = plain(target) ?? "";
  if (targetVersion === currentVersion) {
    throw new RollbackError(`stack ${stack} already runs ${VERSION_KEY} ${currentVersion}; nothing to roll back.`);
  }
  return { stack, current, currentVersion, target, targetVersion };
}

function plain(u: UpdateInfo): string | undefined {
  const v = versionOf(u);
  return v.kind === "plain" ? v.value : undefined;
}

/** Distinct versions of succeeded updates, newest first. */
export function succeededVersions(history: readonly UpdateInfo[]): string[] {
  const out: string[] = [];
  for (const u of history) {
    const v = plain(u);
    if (isGoodUpdate(u) && v !== undefined && !out.includes(v)) out.push(v);
  }
  return out;
}

/** `2026-11-20T14:02:11.000Z` → `2026-11-20 14:02:11`, always UTC. */
export function showTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

/** The first line of a message, cut to `max` characters. */
export function showMessage(message: string, max = 48): string {
  const line = (message.split("\n")[0] ?? "").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Renders the history table: number, time (UTC), kind, result, fleet:version, message.
 * Colours are off so the output is the same on a terminal, in a log and in a test.
 */
export function renderHistoryTable(history: readonly HistoryEntry[], limit = history.length): string {
  const table = new Table({
    head: ["#", "time (UTC)", "kind", "result", VERSION_KEY, "message"],
    style: { head: [], border: [] },
    chars: COMPACT,
  });
  for (const u of history.slice(0, limit)) {
    table.push([
      String(u.number),
      showTime(u.startTime),
      u.kind,
      u.result ?? "",
      showVersion(versionOf(u)),
      showMessage(u.message),
    ]);
  }
  return table.toString();
}

/** What happens to one instance on rollback. */
export interface InstanceChange {
  readonly name: string;
  readonly pinned?: string;
  readonly from: string;
  readonly to: string;
}

/** Every instance's version before and after: pinned instances stay where they are. */
export function instanceChanges(plan: RollbackPlan, instances: readonly InstancePin[]): InstanceChange[] {
  return [...instances]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((i) =>
      i.version
        ? { name: i.name, pinned: i.version, from: i.version, to: i.version }
        : { name: i.name, from: plan.currentVersion, to: plan.targetVersion },
    );
}

/** The plain-text summary printed before asking for confirmation. */
export function renderPlan(plan: RollbackPlan, changes: readonly InstanceChange[], restoreData: boolean): string {
  const lines = [
    `Roll back stack ${plan.stack}: ${VERSION_KEY} ${plan.currentVersion} (update ${plan.current.number}) -> ` +
      `${plan.targetVersion} (update ${plan.target.number}, ${showTime(plan.target.startTime)} UTC)`,
  ];
  if (changes.length === 0) lines.push("  (no instance files found)");
  for (const c of changes) {
    lines.push(c.pinned ? `  ${c.name}: pinned to ${c.pinned}, stays` : `  ${c.name}: ${c.from} -> ${c.to}`);
  }
  lines.push(
    restoreData
      ? `Data: after the roll back, each instance that moves restores its pre-update backup ${plan.targetVersion} -> ${plan.currentVersion}.`
      : `Data: kept as it is (pass --restore-data to restore the pre-update backups ${plan.targetVersion} -> ${plan.currentVersion}).`,
  );
  return lines.join("\n");
}

/** The `--message` the rollback's `pulumi up` records in the history. */
export function rollbackMessage(plan: RollbackPlan): string {
  return `Roll back ${VERSION_KEY} ${plan.currentVersion} -> ${plan.targetVersion} (to update ${plan.target.number})`;
}
