import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { runRestore } from "../ops/commands/restore";
import {
  appContainerQuery,
  backupListCommand,
  backupRestoreCommand,
  newest,
  parseBackupList,
  renderBackupTable,
  transitionBackup,
} from "../ops/core/backups";
import { stackFromArgv } from "../ops/core/args";
import type { CommandResult } from "../ops/core/docker";
import { CliError } from "../ops/core/errors";
import { backupSummary, HOMEBREWS } from "./backup-summary";
import { fakeOps, ok } from "./fake-docker";

const BACKUPS = [HOMEBREWS.scheduled140, HOMEBREWS.preUpdate140, HOMEBREWS.scheduled130];

function fake(
  opts: { ps?: string; list?: CommandResult; restore?: CommandResult; confirm?: boolean; interactive?: boolean } = {},
) {
  return fakeOps((args) => {
    if (args[0] === "ps") return ok(opts.ps ?? "c0ffee\thomebrews-app-1a2b3c4\t1.4.0\n");
    if (args.includes("list")) return opts.list ?? ok(JSON.stringify(BACKUPS));
    return opts.restore ?? ok();
  }, opts);
}

const PS =
  'docker ps --filter label=fleet.managed=true --filter label=fleet.stack=dev --filter label=fleet.instance=homebrews --filter label=fleet.role=app --filter health=healthy --format {{.ID}}\t{{.Names}}\t{{.Label "fleet.version"}}';

describe("the docker commands", () => {
  test("the app container is found by the contract's labels, healthy only (a failed roll's container is not it)", () => {
    expect(appContainerQuery("prod", "projects")).toEqual([
      "ps",
      "--filter",
      "label=fleet.managed=true",
      "--filter",
      "label=fleet.stack=prod",
      "--filter",
      "label=fleet.instance=projects",
      "--filter",
      "label=fleet.role=app",
      "--filter",
      "health=healthy",
      "--format",
      '{{.ID}}\t{{.Names}}\t{{.Label "fleet.version"}}',
    ]);
  });

  test("list and live restore run the app's own CLI in the container", () => {
    expect(backupListCommand("c0ffee")).toEqual(["exec", "c0ffee", "node", "dist/cli.js", "backup", "list", "--json"]);
    expect(backupRestoreCommand("c0ffee", "b-1")).toEqual([
      "exec",
      "c0ffee",
      "node",
      "dist/cli.js",
      "backup",
      "restore",
      "b-1",
      "--live",
    ]);
  });
});

describe("the backup list", () => {
  test("exactly the app's shape (app/src/backup.ts BackupSummary)", () => {
    const [b] = parseBackupList(JSON.stringify([backupSummary("a", "t1", "pre-update", "1.1.0", "1.0.0", "1.1.0")]));
    expect([b?.id, b?.fromVersion, b?.toVersion, b?.createdAt]).toEqual(["a", "1.0.0", "1.1.0", "t1"]);
  });

  test.each([
    ["nope", 'backup list --json printed something that is not JSON: "nope"'],
    [
      '{"backups": []}',
      "backup list --json printed JSON the app does not print: at (top level): Invalid input: expected array, received object",
    ],
    [
      '[{"id": "a", "from": "1.0.0", "to": "1.1.0", "createdAt": "t1"}]',
      "backup list --json printed JSON the app does not print: at 0.reason: Invalid input: expected string, received undefined",
    ],
    [
      JSON.stringify([{ ...backupSummary("a", "t1", "manual", "1.0.0", null, null), id: "" }]),
      "backup list --json printed JSON the app does not print: at 0.id: Too small: expected string to have >=1 characters",
    ],
  ])("%j is refused: spellings the app never prints are not guessed", (stdout, message) => {
    expect(() => parseBackupList(stdout)).toThrow(new CliError(message));
  });

  test("the transition's backup: by its versions; the newest of several", () => {
    const list = parseBackupList(
      JSON.stringify([
        backupSummary("x-20261124T090311Z", "2026-11-24T09:03:11Z", "pre-update", "1.4.0", "1.3.0", "1.4.0"),
        backupSummary("x-20261124T092634Z", "2026-11-24T09:26:34Z", "pre-update", "1.4.0", "1.3.0", "1.4.0"),
        backupSummary("x-20261117T100945Z", "2026-11-17T10:09:45Z", "pre-update", "1.3.1", "1.3.0", "1.3.1"),
        backupSummary("x-20261118T000000Z", "2026-11-18T00:00:00Z", "pre-update", "1.4.0.1", "1.3.0", "1.4.0.1"),
      ]),
    );
    expect(transitionBackup(list, "1.3.0", "1.4.0")?.id).toBe("x-20261124T092634Z");
    expect(transitionBackup(list, "1.3.0", "1.3.1")?.id).toBe("x-20261117T100945Z");
    expect(transitionBackup(list, "1.3", "1.4.0")).toBeUndefined();
    expect(transitionBackup(parseBackupList(JSON.stringify(BACKUPS)), "1.3.0", "1.4.0")?.id).toBe(
      "homebrews-20261124t092635081z-v1.4.0-s0003-from-1.3.0-to-1.4.0",
    );
  });

  test("the real app's output, recorded from fleet-app on a Docker engine", () => {
    const stdout = fs.readFileSync(path.join(__dirname, "fixtures", "history", "app-backup-list.json"), "utf8");
    const list = parseBackupList(stdout);
    expect(list.map((b) => [b.id, b.reason, b.fromVersion, b.toVersion])).toEqual([
      ["demo-20261127t210154521z-v1.0.0-s0002", "pre-restore", null, null],
      ["demo-20261127t210151295z-v1.0.0-s0002", "manual", null, null],
      ["demo-20261127t210151076z-v1.0.0-s0002-from-0.9.0-to-1.0.0", "pre-update", "0.9.0", "1.0.0"],
    ]);
    expect(transitionBackup(list, "0.9.0", "1.0.0")?.id).toBe(
      "demo-20261127t210151076z-v1.0.0-s0002-from-0.9.0-to-1.0.0",
    );
    expect(newest(list)?.id).toBe("demo-20261127t210154521z-v1.0.0-s0002");
  });

  test("newest by time", () => {
    expect(newest(parseBackupList(JSON.stringify([...BACKUPS].reverse())))?.id).toBe(
      "homebrews-20261125t020000004z-v1.4.0-s0003",
    );
  });

  test("the table", () => {
    expect(renderBackupTable(parseBackupList(JSON.stringify(BACKUPS)))).toBe(
      [
        "┌────────────────────────────────────────────────────────────────┬──────────────────────────┬────────────┬───────┬───────┬───────┐",
        "│ id                                                             │ created                  │ reason     │ app   │ from  │ to    │",
        "│ homebrews-20261125t020000004z-v1.4.0-s0003                     │ 2026-11-25T02:00:00.004Z │ scheduled  │ 1.4.0 │       │       │",
        "│ homebrews-20261124t092635081z-v1.4.0-s0003-from-1.3.0-to-1.4.0 │ 2026-11-24T09:26:35.081Z │ pre-update │ 1.4.0 │ 1.3.0 │ 1.4.0 │",
        "│ homebrews-20261124t020000007z-v1.3.0-s0003                     │ 2026-11-24T02:00:00.007Z │ scheduled  │ 1.3.0 │       │       │",
        "└────────────────────────────────────────────────────────────────┴──────────────────────────┴────────────┴───────┴───────┴───────┘",
      ].join("\n"),
    );
  });
});

describe("npm run restore", () => {
  test("no backup id: lists", async () => {
    const f = fake();
    expect(await runRestore(["homebrews"], f.deps)).toBe(0);
    expect(f.calls).toEqual([PS, "docker exec c0ffee node dist/cli.js backup list --json"]);
    expect(f.out[0]).toBe("Backups of homebrews (stack dev, container homebrews-app-1a2b3c4, version 1.4.0):");
    expect(f.out[2]).toBe("Restore one with: npm run restore -- homebrews <backup-id>   (or --latest)");
  });

  test("a backup id with --yes restores it live", async () => {
    const f = fake();
    expect(await runRestore(["homebrews", "homebrews-20261124t020000007z-v1.3.0-s0003", "--yes"], f.deps)).toBe(0);
    expect(f.calls).toEqual([
      PS,
      "docker exec c0ffee node dist/cli.js backup list --json",
      "docker exec c0ffee node dist/cli.js backup restore homebrews-20261124t020000007z-v1.3.0-s0003 --live  [streamed]",
    ]);
    expect(f.out).toEqual([
      "Restoring homebrews from homebrews-20261124t020000007z-v1.3.0-s0003 in homebrews-app-1a2b3c4 ...",
      "Restored homebrews from homebrews-20261124t020000007z-v1.3.0-s0003.",
    ]);
  });

  test("--latest asks, then restores the newest", async () => {
    const f = fake();
    expect(await runRestore(["homebrews", "--latest", "--stack", "prod"], f.deps)).toBe(0);
    expect(f.calls.slice(2)).toEqual([
      "confirm Restore homebrews (stack prod) from backup homebrews-20261125t020000004z-v1.4.0-s0003? The app takes a safety backup first.",
      "docker exec c0ffee node dist/cli.js backup restore homebrews-20261125t020000004z-v1.4.0-s0003 --live  [streamed]",
    ]);
    expect(f.calls[0]).toContain("label=fleet.stack=prod");
  });

  test("declining changes nothing", async () => {
    const f = fake({ confirm: false });
    expect(await runRestore(["homebrews", "--latest"], f.deps)).toBe(1);
    expect(f.calls.some((c) => c.includes("backup restore"))).toBe(false);
    expect(f.out).toEqual(["Restore cancelled; nothing was changed."]);
  });

  test("a failed restore says the data was kept", async () => {
    const f = fake({ restore: { status: 1, stdout: "", stderr: "" } });
    expect(await runRestore(["homebrews", "--latest", "--yes"], f.deps)).toBe(1);
    expect(f.err).toEqual([
      "fleet restore: restoring homebrews from homebrews-20261125t020000004z-v1.4.0-s0003 failed (exit 1); the app kept its data (see its output above).",
    ]);
  });

  test.each([
    [
      ["homebrews", "nope", "--yes"],
      {},
      'fleet restore: instance homebrews has no backup "nope"; list them with npm run restore -- homebrews --list',
    ],
    [["homebrews", "--latest", "--yes"], { list: ok("[]") }, "fleet restore: instance homebrews has no backups yet."],
    [
      ["homebrews", "--latest"],
      { interactive: false },
      "fleet restore: stdin is not a terminal, so nobody can confirm; pass --yes to go ahead.",
    ],
    [
      ["ghost"],
      { ps: "" },
      "fleet restore: no healthy app container for instance ghost in stack dev (labels fleet.stack=dev, fleet.instance=ghost, fleet.role=app). " +
        "Check the name (the instance file's base name) and that it is deployed: `docker ps -a --filter label=fleet.instance=ghost`.",
    ],
    [
      ["homebrews"],
      { ps: "aaa\thomebrews-app-1\t1.3.0\nbbb\thomebrews-app-2\t1.4.0\n" },
      "fleet restore: 2 healthy app containers for instance homebrews (homebrews-app-1, homebrews-app-2); a roll is probably under way. " +
        "Wait for `pulumi up` to finish and try again.",
    ],
    [["homebrews", "a", "--latest"], {}, "fleet restore: give either a backup id or --latest, not both."],
    [["homebrews", "--list", "--latest"], {}, "fleet restore: --list only lists; drop the backup id and --latest."],
    [
      [],
      {},
      "fleet restore: missing the instance name.\nusage: npm run restore -- <instance> [<backup-id> | --latest] [--list] [--stack S] [--yes]\n" +
        "       npm run restore -- <instance> --from-offsite [<snapshot>] [--list] [--stack S] [--yes] [--trust]\n" +
        "  Without a backup id or --latest it lists the instance's backups. --from-offsite brings a\n" +
        "  snapshot (the newest by default) back from the off-site repository first (docs/backups.md).\n" +
        "  --trust accepts a backup signed by another key (a new host or data volume); its content is checked all the same.",
    ],
  ])("%j is refused", async (argv, opts, message) => {
    const f = fake(opts);
    expect(await runRestore(argv, f.deps)).toBe(1);
    expect(f.err).toEqual([message]);
    expect(f.calls.some((c) => c.includes("backup restore"))).toBe(false);
  });

  test.each([
    [["homebrews"], "dev"],
    [["homebrews", "--stack", "prod"], "prod"],
    [["--stack=staging", "homebrews"], "staging"],
  ])("the stack of %j is %s", (argv, stack) => {
    expect(stackFromArgv(argv)).toBe(stack);
  });
});
