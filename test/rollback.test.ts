import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import {
  chooseTarget,
  fetchHistory,
  historyArgs,
  instanceChanges,
  numberHistory,
  parseHistoryPage,
  parseTo,
  renderHistoryTable,
  RollbackError,
  versionOf,
  type HistoryEntry,
  type InstancePin,
} from "../ops/core/history";
import { runRollback, type RollbackDeps } from "../ops/commands/rollback";
import { loadInstancePins } from "../ops/core/config";
import type { CommandResult } from "../ops/core/docker";
import { CliError } from "../ops/core/errors";
import { backupSummary, HOMEBREWS } from "./backup-summary";
import { fakeOps, ok } from "./fake-docker";

const FIXTURES = path.join(__dirname, "fixtures", "history");
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8");

/** The whole recorded local history, numbered, newest first. */
const local = (): HistoryEntry[] =>
  numberHistory([1, 2, 3, 4].flatMap((p) => parseHistoryPage(fixture(`local-page-size-5-page-${p}.json`))));

const PINS: InstancePin[] = [{ name: "projects", version: "1.2.1" }, { name: "homebrews" }];

interface Fake {
  deps: RollbackDeps;
  calls: string[];
  out: string[];
  err: string[];
}

/**
 * Fakes every effect. `pulumi stack history` answers from the fixture of the requested page size
 * and page; every other call is recorded as one line, `pulumi ...` or `docker ...`.
 */
function fake(
  opts: {
    prefix?: string;
    confirm?: boolean;
    interactive?: boolean;
    up?: CommandResult;
    history?: (pageSize: string, page: string) => CommandResult;
    docker?: (args: string[], phase: "before-up" | "after-up") => CommandResult;
    instances?: InstancePin[];
  } = {},
): Fake {
  let phase: "before-up" | "after-up" = "before-up";
  const f = fakeOps((args) => (opts.docker ? opts.docker(args, phase) : ok()), opts);
  const deps: RollbackDeps = {
    ...f.deps,
    pulumi: (args, o) => {
      f.calls.push(`pulumi ${args.join(" ")}${o?.stream ? "  [streamed]" : ""}`);
      if (args[0] === "stack" && args[1] === "history") {
        const pageSize = args[args.indexOf("--page-size") + 1] ?? "";
        const page = args[args.indexOf("--page") + 1] ?? "";
        if (opts.history) return opts.history(pageSize, page);
        return ok(fixture(`${opts.prefix ?? "local"}-page-size-${pageSize}-page-${page}.json`));
      }
      if (args[0] === "up") {
        phase = "after-up";
        return opts.up ?? ok();
      }
      return ok();
    },
    loadInstances: () => opts.instances ?? PINS,
  };
  return { ...f, deps };
}

const history = (pageSize: number, page: number) => `pulumi ${historyArgs("dev", pageSize, page).join(" ")}`;

const TABLE_PAGE_5 = [
  "┌────┬─────────────────────┬─────────┬───────────┬───────────────┬───────────────────────┐",
  "│ #  │ time (UTC)          │ kind    │ result    │ fleet:version │ message               │",
  "│ 15 │ 2026-11-24 09:26:34 │ update  │ succeeded │ 1.4.0         │ Roll fleet to 1.4.0   │",
  "│ 14 │ 2026-11-24 09:20:58 │ refresh │ succeeded │ 1.4.0         │ Roll fleet to 1.4.0   │",
  "│ 13 │ 2026-11-24 09:03:11 │ update  │ failed    │ 1.4.0         │ Roll fleet to 1.4.0   │",
  "│ 12 │ 2026-11-17 10:09:45 │ update  │ failed    │ 1.3.1         │ Roll fleet to 1.3.1   │",
  "│ 11 │ 2026-11-10 15:22:37 │ update  │ succeeded │ 1.3.0         │ Pin projects to 1.2.1 │",
  "└────┴─────────────────────┴─────────┴───────────┴───────────────┴───────────────────────┘",
].join("\n");

describe("the history JSON", () => {
  test("a self-managed backend's zeros become positions, oldest = 1; secrets carry no value", () => {
    const h = local();
    expect(h.map((u) => u.number)).toEqual([15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(h.map((u) => u.version)).toEqual(Array(15).fill(0));
    expect(h.map((u) => `${u.number}:${u.kind}:${u.result}`)).toEqual([
      "15:update:succeeded",
      "14:refresh:succeeded",
      "13:update:failed",
      "12:update:failed",
      "11:update:succeeded",
      "10:update:succeeded",
      "9:update:succeeded",
      "8:update:succeeded",
      "7:update:failed",
      "6:refresh:succeeded",
      "5:update:succeeded",
      "4:update:succeeded",
      "3:update:succeeded",
      "2:destroy:succeeded",
      "1:update:succeeded",
    ]);
    const nine = h.find((u) => u.number === 9);
    expect(nine?.config?.["fleet:version"]).toEqual({ secret: true });
    expect(versionOf(nine as HistoryEntry)).toEqual({ kind: "secret" });
    expect(h[0]?.config?.["fleet:secretEnv"]).toEqual({ secret: true });
  });

  test("Pulumi Cloud's own version numbers are kept", () => {
    const h = numberHistory(parseHistoryPage(fixture("cloud.json")));
    expect(h.map((u) => [u.number, versionOf(u)])).toEqual([
      [23, { kind: "plain", value: "2.0.0" }],
      [22, { kind: "plain", value: "1.4.0" }],
    ]);
  });

  test("an update still in progress has no endTime and no resourceChanges", () => {
    const [running] = parseHistoryPage(fixture("cloud-in-progress.json"));
    expect([running?.result, running?.endTime, running?.resourceChanges]).toEqual([
      "in-progress",
      undefined,
      undefined,
    ]);
  });

  test.each([
    [
      "error: no stack named 'dev' found",
      "pulumi stack history --json printed something that is not JSON: \"error: no stack named 'dev' found\"",
    ],
    [
      '[{"version": 0}]',
      "pulumi stack history --json has an unexpected shape at 0.kind: Invalid input: expected string, received undefined",
    ],
    [
      '{"version": 0}',
      "pulumi stack history --json has an unexpected shape at (top level): Invalid input: expected array, received object",
    ],
  ])("bad output %j is refused with %j", (stdout, message) => {
    expect(() => parseHistoryPage(stdout)).toThrow(new RollbackError(message));
  });
});

describe("reading every page", () => {
  test("page size 5: four calls, the last page is empty", () => {
    const f = fake();
    const all = fetchHistory(f.deps.pulumi, "dev", 5);
    expect(all).toHaveLength(15);
    expect(f.calls).toEqual([history(5, 1), history(5, 2), history(5, 3), history(5, 4)]);
    expect(history(5, 2)).toBe("pulumi stack history --stack dev --json --show-secrets=false --page-size 5 --page 2");
  });

  test("the default page size, 10: two calls, the second page short", async () => {
    const f = fake({ confirm: false });
    await runRollback([], f.deps);
    expect(f.calls.slice(0, 2)).toEqual([history(10, 1), history(10, 2)]);
    expect(f.calls[2]).toBe("confirm Roll back stack dev to fleet:version 1.3.0?");
    expect(f.out[0]).toBe("Stack dev: the 10 most recent of 15 updates, newest first");
    expect(f.out[1]?.split("\n")).toHaveLength(13);
  });

  test("page size 3 gives the same history in six calls", () => {
    const f = fake();
    const all = fetchHistory(f.deps.pulumi, "dev", 3);
    expect(numberHistory(all)).toEqual(local());
    expect(f.calls).toEqual([1, 2, 3, 4, 5, 6].map((p) => history(3, p)));
  });

  test("a short page is the last one", () => {
    const f = fake({ prefix: "cloud", history: () => ok(fixture("cloud.json")) });
    expect(fetchHistory(f.deps.pulumi, "dev", 10)).toHaveLength(2);
    expect(f.calls).toEqual([history(10, 1)]);
  });
});

describe("choosing the target", () => {
  test("default: the newest succeeded update before the current one with another version, skipping failures and refreshes", () => {
    const plan = chooseTarget(local(), "dev");
    expect([plan.current.number, plan.currentVersion, plan.target.number, plan.targetVersion]).toEqual([
      15,
      "1.4.0",
      11,
      "1.3.0",
    ]);
  });

  test("after a failed roll the current version is the one that failed", () => {
    const plan = chooseTarget(
      local().filter((u) => u.number <= 12),
      "dev",
    );
    expect([plan.current.number, plan.currentVersion, plan.target.number, plan.targetVersion]).toEqual([
      12,
      "1.3.1",
      11,
      "1.3.0",
    ]);
  });

  test.each([
    [{ kind: "number", number: 3 } as const, 3, "1.0.0"],
    [{ kind: "number", number: 8 } as const, 8, "1.2.1"],
    [{ kind: "version", version: "1.0.0" } as const, 4, "1.0.0"],
    [{ kind: "version", version: "0.9.0" } as const, 1, "0.9.0"],
    [{ kind: "version", version: "1.2.1" } as const, 8, "1.2.1"],
  ])("--to %j picks update %i (%s)", (to, number, version) => {
    const plan = chooseTarget(local(), "dev", to);
    expect([plan.target.number, plan.targetVersion]).toEqual([number, version]);
  });

  test.each([
    [
      "9.9.9",
      "version 9.9.9 never deployed successfully on stack dev; versions that did: 1.4.0, 1.3.0, 1.2.1, 1.1.0, 1.0.0, 0.9.0.",
    ],
    [
      "1.2.0",
      "version 1.2.0 never deployed successfully on stack dev; versions that did: 1.4.0, 1.3.0, 1.2.1, 1.1.0, 1.0.0, 0.9.0.",
    ],
    ["1.4.0", "stack dev already runs fleet:version 1.4.0; nothing to roll back."],
    ["7", "update 7 failed; pick a succeeded update."],
    ["6", "update 6 is a refresh, not an update; pick an update (see the table)."],
    ["2", "update 2 is a destroy, not an update; pick an update (see the table)."],
    [
      "9",
      "update 9 ran with a secret fleet:version, so its version cannot be read; pick another update or pass --to <version>.",
    ],
    ["16", "update 16 is not in the history of stack dev (it has updates 1 to 15)."],
  ])("--to %s is refused: %s", (raw, message) => {
    expect(() => chooseTarget(local(), "dev", parseTo(raw))).toThrow(new RollbackError(message));
  });

  test.each([["abc"], ["0"], ["v1.2.0"], ["1.2"], ["-3"]])("--to %j is neither a number nor a version", (raw) => {
    expect(() => parseTo(raw)).toThrow(
      new RollbackError(
        `--to: expected an update number (like 12) or an exact version (like 1.4.0), got ${JSON.stringify(raw)}`,
      ),
    );
  });

  test("an update still running blocks the roll back", () => {
    const h = numberHistory(parseHistoryPage(fixture("cloud-in-progress.json")));
    expect(() => chooseTarget(h, "dev")).toThrow(
      new RollbackError(
        "update 24 of stack dev is still in-progress; wait for it to finish (or run `pulumi cancel` if it was interrupted) and try again.",
      ),
    );
  });

  test("nothing older with another version", () => {
    const h = local().filter((u) => u.number <= 1);
    expect(() => chooseTarget(h, "dev")).toThrow(
      new RollbackError(
        "no earlier succeeded update of stack dev ran a version other than 0.9.0; there is nothing to roll back to.",
      ),
    );
  });

  test("pins stay; everything else moves", () => {
    const plan = chooseTarget(local(), "dev");
    expect(instanceChanges(plan, PINS)).toEqual([
      { name: "homebrews", from: "1.4.0", to: "1.3.0" },
      { name: "projects", pinned: "1.2.1", from: "1.2.1", to: "1.2.1" },
    ]);
  });
});

describe("the table", () => {
  test("ten rows, with the secret version hidden", () => {
    const lines = renderHistoryTable(local(), 10).split("\n");
    expect(lines).toHaveLength(13);
    expect(lines.slice(2, 12)).toEqual([
      "│ 15 │ 2026-11-24 09:26:34 │ update  │ succeeded │ 1.4.0         │ Roll fleet to 1.4.0              │",
      "│ 14 │ 2026-11-24 09:20:58 │ refresh │ succeeded │ 1.4.0         │ Roll fleet to 1.4.0              │",
      "│ 13 │ 2026-11-24 09:03:11 │ update  │ failed    │ 1.4.0         │ Roll fleet to 1.4.0              │",
      "│ 12 │ 2026-11-17 10:09:45 │ update  │ failed    │ 1.3.1         │ Roll fleet to 1.3.1              │",
      "│ 11 │ 2026-11-10 15:22:37 │ update  │ succeeded │ 1.3.0         │ Pin projects to 1.2.1            │",
      "│ 10 │ 2026-11-03 11:40:26 │ update  │ succeeded │ 1.3.0         │ Keep fleet:version in plain text │",
      "│ 9  │ 2026-11-03 11:12:08 │ update  │ succeeded │ [secret]      │ Roll fleet to 1.3.0              │",
      "│ 8  │ 2026-10-24 09:31:50 │ update  │ succeeded │ 1.2.1         │ Roll fleet to 1.2.1              │",
      "│ 7  │ 2026-10-23 14:05:19 │ update  │ failed    │ 1.2.0         │ Roll fleet to 1.2.0              │",
      "│ 6  │ 2026-10-20 07:58:03 │ refresh │ succeeded │ 1.1.0         │ Roll fleet to 1.1.0              │",
    ]);
  });
});

describe("npm run rollback", () => {
  test("--yes: history, plan, then exactly config set and pulumi up", async () => {
    const f = fake();
    expect(await runRollback(["--page-size", "5", "--yes"], f.deps)).toBe(0);
    expect(f.calls).toEqual([
      history(5, 1),
      history(5, 2),
      history(5, 3),
      history(5, 4),
      "pulumi config set fleet:version 1.3.0 --stack dev",
      "pulumi up --yes --stack dev --message Roll back fleet:version 1.4.0 -> 1.3.0 (to update 11)  [streamed]",
    ]);
    expect(f.out.join("\n")).toBe(
      [
        "Stack dev: the 5 most recent of 15 updates, newest first",
        TABLE_PAGE_5,
        "Roll back stack dev: fleet:version 1.4.0 (update 15) -> 1.3.0 (update 11, 2026-11-10 15:22:37 UTC)",
        "  homebrews: 1.4.0 -> 1.3.0",
        "  projects: pinned to 1.2.1, stays",
        "Data: kept as it is (pass --restore-data to restore the pre-update backups 1.3.0 -> 1.4.0).",
        "Set fleet:version to 1.3.0 in Pulumi.dev.yaml; running pulumi up --yes ...",
        "Rolled back stack dev to fleet:version 1.3.0. Commit Pulumi.dev.yaml, or the next pulumi up from another checkout rolls forward again.",
      ].join("\n"),
    );
    expect(f.err).toEqual([]);
  });

  test("--to by number and by version, on another stack", async () => {
    const byNumber = fake();
    expect(await runRollback(["--to", "5", "--yes", "--stack", "dev", "--page-size", "3"], byNumber.deps)).toBe(0);
    expect(byNumber.calls.slice(6)).toEqual([
      "pulumi config set fleet:version 1.1.0 --stack dev",
      "pulumi up --yes --stack dev --message Roll back fleet:version 1.4.0 -> 1.1.0 (to update 5)  [streamed]",
    ]);
    const byVersion = fake();
    expect(await runRollback(["--to=1.2.1", "--yes", "--page-size=5"], byVersion.deps)).toBe(0);
    expect(byVersion.calls.slice(4)).toEqual([
      "pulumi config set fleet:version 1.2.1 --stack dev",
      "pulumi up --yes --stack dev --message Roll back fleet:version 1.4.0 -> 1.2.1 (to update 8)  [streamed]",
    ]);
  });

  test("an unknown version changes nothing", async () => {
    const f = fake();
    expect(await runRollback(["--to", "2.0.0", "--yes", "--page-size", "5"], f.deps)).toBe(1);
    expect(f.err).toEqual([
      "fleet rollback: version 2.0.0 never deployed successfully on stack dev; versions that did: 1.4.0, 1.3.0, 1.2.1, 1.1.0, 1.0.0, 0.9.0.",
    ]);
    expect(f.calls).toEqual([history(5, 1), history(5, 2), history(5, 3), history(5, 4)]);
  });

  test("asks first; no means nothing changes", async () => {
    const f = fake({ confirm: false });
    expect(await runRollback(["--page-size", "5"], f.deps)).toBe(1);
    expect(f.calls.slice(4)).toEqual(["confirm Roll back stack dev to fleet:version 1.3.0?"]);
    expect(f.out.at(-1)).toBe("Roll back cancelled; nothing was changed.");
  });

  test("without a terminal and without --yes it refuses", async () => {
    const f = fake({ interactive: false });
    expect(await runRollback(["--page-size", "5"], f.deps)).toBe(1);
    expect(f.err).toEqual(["fleet rollback: stdin is not a terminal, so nobody can confirm; pass --yes to go ahead."]);
    expect(f.calls.filter((c) => !c.startsWith("pulumi stack history"))).toEqual([]);
  });

  test("a failed pulumi up says where the config stands", async () => {
    const f = fake({ up: { status: 255, stdout: "", stderr: "" } });
    expect(await runRollback(["--yes", "--page-size", "5"], f.deps)).toBe(1);
    expect(f.err).toEqual([
      "fleet rollback: pulumi up failed (exit 255). Pulumi.dev.yaml now holds fleet:version 1.3.0; fix the error above and run npm run up, " +
        "or put 1.4.0 back with pulumi config set fleet:version 1.4.0 --stack dev.",
    ]);
  });

  test("a stack that does not exist", async () => {
    const f = fake({ history: () => ({ status: 255, stdout: "", stderr: "error: no stack named 'prod' found\n" }) });
    expect(await runRollback(["--stack", "prod"], f.deps)).toBe(1);
    expect(f.err).toEqual([
      "fleet rollback: pulumi stack history --stack prod --json --show-secrets=false --page-size 10 --page 1 failed (exit 255): error: no stack named 'prod' found",
    ]);
  });

  test("a stack with no history", async () => {
    const f = fake({ history: () => ok("[]\n") });
    expect(await runRollback([], f.deps)).toBe(1);
    expect(f.err).toEqual(["fleet rollback: stack dev has never been updated; there is nothing to roll back."]);
  });

  test.each([
    [["--page-size", "0"], 'fleet rollback: --page-size: expected an integer from 1 to 1000, got "0"'],
    [["--page-size", "ten"], 'fleet rollback: --page-size: expected an integer from 1 to 1000, got "ten"'],
    [
      ["--to"],
      "fleet rollback: Option '--to <value>' argument missing\n" +
        "usage: npm run rollback -- [--to <update-number|version>] [--restore-data] [--yes] [--stack S] [--page-size N]",
    ],
    [
      ["--bogus"],
      "fleet rollback: Unknown option '--bogus'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--bogus\"\n" +
        "usage: npm run rollback -- [--to <update-number|version>] [--restore-data] [--yes] [--stack S] [--page-size N]",
    ],
  ])("bad arguments %j", async (argv, message) => {
    const f = fake();
    expect(await runRollback(argv, f.deps)).toBe(1);
    expect(f.err).toEqual([message]);
    expect(f.calls).toEqual([]);
  });
});

describe("npm run rollback --restore-data", () => {
  const ps = (id: string, name: string, version: string) => ok(`${id}\t${name}\t${version}\n`);
  const backups = JSON.stringify([
    HOMEBREWS.preUpdate140,
    HOMEBREWS.preUpdate140First,
    HOMEBREWS.scheduled130,
    HOMEBREWS.preUpdate131,
  ]);
  const docker = (args: string[], phase: "before-up" | "after-up"): CommandResult => {
    if (args[0] === "ps")
      return phase === "before-up"
        ? ps("aaa111", "homebrews-app-1a2b3c4", "1.4.0")
        : ps("bbb222", "homebrews-app-5d6e7f8", "1.3.0");
    if (args.includes("list")) return ok(backups);
    return ok("restored\n");
  };

  test("checks the backup first, rolls back, then restores the newest backup of that transition with --live", async () => {
    const f = fake({ docker, instances: PINS });
    expect(await runRollback(["--restore-data", "--yes", "--page-size", "5"], f.deps)).toBe(0);
    const psArgs =
      'docker ps --filter label=fleet.managed=true --filter label=fleet.stack=dev --filter label=fleet.instance=homebrews --filter label=fleet.role=app --filter health=healthy --format {{.ID}}\t{{.Names}}\t{{.Label "fleet.version"}}';
    expect(f.calls.slice(4)).toEqual([
      psArgs,
      "docker exec aaa111 node dist/cli.js backup list --json",
      "pulumi config set fleet:version 1.3.0 --stack dev",
      "pulumi up --yes --stack dev --message Roll back fleet:version 1.4.0 -> 1.3.0 (to update 11)  [streamed]",
      psArgs,
      "docker exec bbb222 node dist/cli.js backup restore homebrews-20261124t092635081z-v1.4.0-s0003-from-1.3.0-to-1.4.0 --live  [streamed]",
    ]);
    expect(f.out).toContain("  homebrews: will restore homebrews-20261124t092635081z-v1.4.0-s0003-from-1.3.0-to-1.4.0");
    expect(f.out).toContain("Restored homebrews from homebrews-20261124t092635081z-v1.4.0-s0003-from-1.3.0-to-1.4.0.");
  });

  test("a missing backup stops everything before any change", async () => {
    const f = fake({
      instances: [{ name: "homebrews" }, { name: "projects" }],
      docker: (args, phase) =>
        args.includes("list") && args[1] === "ppp333"
          ? ok("[]")
          : args[0] === "ps" && args.includes("label=fleet.instance=projects")
            ? ps("ppp333", "projects-app-0a0b0c0", "1.4.0")
            : docker(args, phase),
    });
    expect(await runRollback(["--restore-data", "--yes", "--page-size", "5"], f.deps)).toBe(1);
    expect(f.err).toEqual([
      "fleet rollback: no pre-update backup from 1.3.0 to 1.4.0 for: projects. Nothing was changed. Roll back without --restore-data, " +
        "then restore by hand with npm run restore -- <instance> --list.",
    ]);
    expect(f.calls.filter((c) => c.startsWith("pulumi config") || c.startsWith("pulumi up"))).toEqual([]);
  });
});

describe("npm run rollback --restore-data on a swarm", () => {
  const PRE = "homebrews-20261124t092635081z-v1.4.0-s0003-from-1.3.0-to-1.4.0";
  const list = JSON.stringify([
    backupSummary(PRE, "2026-11-24T09:26:35.081Z", "pre-update", "1.4.0", "1.3.0", "1.4.0"),
  ]);
  /** A one-node swarm: the app service's version moves with pulumi up; scale moves its task. */
  function swarmDocker() {
    let running = true;
    return (args: string[], phase: "before-up" | "after-up"): CommandResult => {
      const version = phase === "before-up" ? "1.4.0" : "1.3.0";
      const a = args.join(" ");
      if (a.startsWith("service ls -q")) return ok("sa\n");
      if (a === "service inspect sa") {
        const labels = {
          "fleet.role": "app",
          "fleet.instance": "homebrews",
          "fleet.version": version,
          "fleet.node": "n",
        };
        const spec = {
          Name: "fleet-dev-homebrews",
          Labels: labels,
          TaskTemplate: { ContainerSpec: { Image: "r/app@sha256:1" } },
        };
        return ok(JSON.stringify([{ ID: "sa", Spec: spec }]));
      }
      if (a.startsWith("node ls")) return ok("n1\tn\ttrue\n");
      if (a.startsWith("service ps --no-trunc -q sa")) return ok("t1\n");
      if (a === "inspect --type task t1") {
        const status = {
          State: running ? "running" : "shutdown",
          Timestamp: "",
          ContainerStatus: { ContainerID: "c1" },
        };
        return ok(
          JSON.stringify([
            { ID: "t1", ServiceID: "sa", NodeID: "n1", DesiredState: "running", Spec: {}, Status: status },
          ]),
        );
      }
      if (a === "exec c1 node dist/cli.js backup list --json") return ok(list);
      if (a === "exec c1 node dist/cli.js backup create --reason pre-restore --if-exists")
        return ok('{"id":"safe","path":"p"}');
      if (a === "exec c1 node dist/cli.js backup verify safe") return ok('{"id":"safe","ok":true,"problems":[]}');
      if (a.startsWith("service scale")) running = a.endsWith("=1");
      if (a.startsWith("service ps --no-trunc -q fleet-dev-homebrews-restore-t")) return ok("j1\n");
      if (a.startsWith("inspect --type task --format")) return ok("complete\tjc\t\n");
      if (a.startsWith("service logs --raw fleet-dev-homebrews-restore-t"))
        return ok(JSON.stringify({ restored: PRE, safetyBackup: "s2", schemaVersion: 3, migrationsApplied: [] }));
      return ok();
    };
  }

  test("the same roll back; the pre-update backup is restored with the service stopped on its node", async () => {
    const f = fake({ docker: swarmDocker(), instances: [{ name: "homebrews" }] });
    const deps = { ...f.deps, target: "swarm" as const, swarm: { suffix: "t", sleep: () => {} } };
    expect(await runRollback(["--restore-data", "--yes", "--page-size", "5"], deps)).toBe(0);
    const changes = f.calls.filter((c) => /^pulumi (config|up)|^docker (exec|service (scale|create))/.test(c));
    expect(changes.map((c) => (c.startsWith("docker service create") ? "docker service create <job>" : c))).toEqual([
      "docker exec c1 node dist/cli.js backup list --json",
      "pulumi config set fleet:version 1.3.0 --stack dev",
      "pulumi up --yes --stack dev --message Roll back fleet:version 1.4.0 -> 1.3.0 (to update 11)  [streamed]",
      "docker exec c1 node dist/cli.js backup create --reason pre-restore --if-exists",
      "docker exec c1 node dist/cli.js backup verify safe",
      "docker service scale --detach fleet-dev-homebrews=0",
      "docker service create <job>",
      "docker service scale --detach fleet-dev-homebrews=1",
    ]);
    expect(f.calls.find((c) => c.startsWith("docker service create"))).toMatch(
      new RegExp(`--constraint node\\.hostname==n .* r/app@sha256:1 node dist/cli\\.js backup restore ${PRE}$`),
    );
    expect(f.out).toContain(`Restored ${PRE} (schema 3; the app's own safety backup: s2).`);
    expect(f.err).toEqual([]);
  });
});

describe("instance pins from the instance files", () => {
  test("through the program's loader: name defaults to the file name, version is the pin", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-pins-"));
    fs.writeFileSync(path.join(dir, "homebrews.yaml"), "title: Homebrews\nport: 5001\n");
    fs.writeFileSync(path.join(dir, "projects.yaml"), "title: Projects\nport: 5002\nversion: 1.2.1\n");
    fs.writeFileSync(path.join(dir, "crm.yml"), "name: sales\ntitle: Sales\nport: 5003\n");
    fs.writeFileSync(path.join(dir, "notes.txt"), "not an instance\n");
    expect(loadInstancePins(dir)).toEqual([
      { name: "homebrews" },
      { name: "projects", version: "1.2.1" },
      { name: "sales" },
    ]);
  });

  test("invalid files stop the roll back with the validator's messages", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-pins-"));
    fs.writeFileSync(path.join(dir, "bad.yaml"), "title: Bad\nport: 5001\nversion: latest\n");
    expect(() => loadInstancePins(dir)).toThrow(CliError);
    expect(() => loadInstancePins(dir)).toThrow(/bad\.yaml: version: /);
  });
});

describe("the real entry point", () => {
  // `npm run rollback` as a user runs it, with a fake `pulumi` first on PATH that answers from the
  // fixtures and logs every call with the backend and passphrase it was given.
  test.skipIf(process.platform === "win32")("finds the CLI, passes the local backend, and makes the same calls", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-rollback-"));
    const log = path.join(tmp, "log");
    fs.writeFileSync(
      path.join(tmp, "pulumi"),
      [
        "#!/bin/sh",
        `echo "$*|$PULUMI_BACKEND_URL|$PULUMI_CONFIG_PASSPHRASE" >> "${log}"`,
        '[ "$1" = version ] && echo v3.265.0',
        'if [ "$1 $2" = "stack history" ]; then',
        `  cat "${FIXTURES}/local-page-size-$8-page-${"$"}{10}.json"`,
        "fi",
        "exit 0",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const root = path.join(__dirname, "..");
    const r = spawnSync(
      process.execPath,
      [
        path.join(root, "node_modules", "ts-node", "dist", "bin.js"),
        "--transpile-only",
        path.join(root, "ops", "commands", "rollback.ts"),
        "--page-size",
        "5",
        "--to",
        "1.1.0",
        "--yes",
      ],
      {
        cwd: root,
        encoding: "utf8",
        env: {
          PATH: `${tmp}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
          HOME: tmp,
          PULUMI_CONFIG_PASSPHRASE: "pw",
        },
      },
    );
    expect([r.status, r.stderr]).toEqual([0, ""]);
    const backend = `file://${path.join(root, ".pulumi-state")}`;
    expect(fs.readFileSync(log, "utf8").split("\n")).toEqual([
      "version||pw",
      ...[1, 2, 3, 4].map(
        (p) => `stack history --stack dev --json --show-secrets=false --page-size 5 --page ${p}|${backend}|pw`,
      ),
      `config set fleet:version 1.1.0 --stack dev|${backend}|pw`,
      `up --yes --stack dev --message Roll back fleet:version 1.4.0 -> 1.1.0 (to update 5)|${backend}|pw`,
      "",
    ]);
  });
});
