import { describe, expect, test } from "vitest";
import { runRestore } from "../ops/commands/restore";
import type { CommandResult } from "../ops/core/docker";
import { offsiteContainerQuery, offsiteFetchCommand, offsiteSnapshotsCommand } from "../ops/core/offsite";
import { fakeOps, ok } from "./fake-docker";

const SNAPSHOTS = [
  { snapshot: "1a2b3c4d", time: "2026-11-24T02:00:01Z", id: "homebrews-a", reason: "scheduled", versions: null },
  {
    snapshot: "5e6f7a8b",
    time: "2026-11-25T02:00:01Z",
    id: "homebrews-b",
    reason: "pre-update",
    versions: "1.3.0->1.4.0",
  },
];

function fake(opts: { offsitePs?: string; appPs?: string; fetch?: CommandResult; restore?: CommandResult } = {}) {
  return fakeOps((args) => {
    if (args[0] === "ps" && args.includes("label=fleet.role=offsite"))
      return ok(opts.offsitePs ?? "0ff51e\tfleet-dev-offsite\n");
    if (args[0] === "ps") return ok(opts.appPs ?? "c0ffee\thomebrews-app-1a2b3c4\t1.4.0\n");
    if (args.includes("snapshots")) return ok(JSON.stringify(SNAPSHOTS));
    if (args.includes("fetch"))
      return opts.fetch ?? ok(JSON.stringify({ id: "homebrews-b", snapshot: "5e6f7a8b...", alreadyLocal: false }));
    return opts.restore ?? ok();
  });
}

describe("restore --from-offsite", () => {
  test("the docker commands it runs", () => {
    expect(offsiteContainerQuery("prod")).toEqual([
      "ps",
      "--filter",
      "label=fleet.managed=true",
      "--filter",
      "label=fleet.stack=prod",
      "--filter",
      "label=fleet.role=offsite",
      "--format",
      "{{.ID}}\t{{.Names}}",
    ]);
    expect(offsiteSnapshotsCommand("c", "a")).toEqual([
      "exec",
      "c",
      "node",
      "dist/cli.js",
      "offsite",
      "snapshots",
      "--instance",
      "a",
      "--json",
    ]);
    expect(offsiteFetchCommand("c", "a", "s")).toEqual([
      "exec",
      "c",
      "node",
      "dist/cli.js",
      "offsite",
      "fetch",
      "--instance",
      "a",
      "--snapshot",
      "s",
    ]);
  });

  test("without a snapshot: the newest is fetched into the instance's backups, then restored live with the ordinary checks", async () => {
    const f = fake();
    expect(await runRestore(["homebrews", "--from-offsite", "--yes"], f.deps)).toBe(0);
    expect(f.calls).toEqual([
      "docker " + offsiteContainerQuery("dev").join(" "),
      "docker " + offsiteSnapshotsCommand("0ff51e", "homebrews").join(" "),
      'docker ps --filter label=fleet.managed=true --filter label=fleet.stack=dev --filter label=fleet.instance=homebrews --filter label=fleet.role=app --filter health=healthy --format {{.ID}}\t{{.Names}}\t{{.Label "fleet.version"}}',
      "docker " + offsiteFetchCommand("0ff51e", "homebrews", "5e6f7a8b").join(" "),
      "docker exec c0ffee node dist/cli.js backup restore homebrews-b --live  [streamed]",
    ]);
    expect(f.out).toEqual([
      "Fetching snapshot 5e6f7a8b into homebrews's backups ...",
      "Restoring homebrews from homebrews-b in homebrews-app-1a2b3c4 ...",
      "Restored homebrews from homebrews-b.",
    ]);
  });

  test("a named snapshot; --list lists and changes nothing", async () => {
    const f = fake({ fetch: ok(JSON.stringify({ id: "homebrews-a" })) });
    expect(await runRestore(["homebrews", "--from-offsite", "1a2b3c4d", "--yes", "--trust"], f.deps)).toBe(0);
    expect(f.calls.at(-1)).toBe(
      "docker exec c0ffee node dist/cli.js backup restore homebrews-a --live --trust  [streamed]",
    );
    const l = fake();
    expect(await runRestore(["homebrews", "--from-offsite", "--list"], l.deps)).toBe(0);
    expect(l.calls.some((c) => c.includes("fetch") || c.includes("restore"))).toBe(false);
    expect(l.out[0]).toBe("Off-site snapshots of homebrews (stack dev, container fleet-dev-offsite):");
    expect(l.out[1]).toContain("5e6f7a8b");
  });

  test.each([
    [
      "no off-site container",
      { offsitePs: "" },
      [],
      "fleet restore: stack dev has no off-site container (label fleet.role=offsite). Set fleet:offsite (docs/backups.md) and run npm run up on this host first: it creates the instance's empty volumes and the off-site container.",
    ],
    [
      "an unknown snapshot",
      {},
      ["deadbeef"],
      'fleet restore: the off-site repository has no snapshot "deadbeef" of homebrews; list them with npm run restore -- homebrews --from-offsite --list',
    ],
    [
      "the instance is not deployed here",
      { appPs: "" },
      [],
      "fleet restore: no healthy app container for instance homebrews in stack dev (labels fleet.stack=dev, fleet.instance=homebrews, fleet.role=app). Check the name (the instance file's base name) and that it is deployed: `docker ps -a --filter label=fleet.instance=homebrews`.",
    ],
    [
      "the fetch fails",
      {
        fetch: {
          status: 1,
          stdout: "",
          stderr: "error: restic restore failed (exit 1): Fatal: wrong password or no key found\n",
        },
      },
      [],
      "fleet restore: fetching snapshot 5e6f7a8b failed (exit 1): error: restic restore failed (exit 1): Fatal: wrong password or no key found",
    ],
  ])("%s: a clear error, exit 1, nothing restored", async (_name, opts, extra, message) => {
    const f = fake(opts);
    expect(await runRestore(["homebrews", "--from-offsite", ...extra, "--yes"], f.deps)).toBe(1);
    expect(f.err).toEqual([message]);
    expect(f.calls.some((c) => c.includes("backup restore"))).toBe(false);
  });
});
