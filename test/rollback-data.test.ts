import { describe, expect, test } from "vitest";
import { appContainerQuery, backupListCommand, backupRestoreCommand } from "../ops/core/backups";
import { CliError } from "../ops/core/errors";
import { numberHistory, parseHistoryPage, type RollbackPlan } from "../ops/core/history";
import { applyRestores, planRestores } from "../ops/core/rollback-data";
import { backupSummary } from "./backup-summary";
import { fakeDocker } from "./fake-docker";

const [current, target] = numberHistory(
  parseHistoryPage(
    JSON.stringify(
      ["1.4.0", "1.3.0"].map((v) => ({
        version: 0,
        kind: "update",
        startTime: "2026-11-24T09:26:34.000Z",
        message: `Roll fleet to ${v}`,
        environment: null,
        config: { "fleet:version": { value: v, secret: false } },
        result: "succeeded",
      })),
    ),
  ),
);
const PLAN: RollbackPlan = {
  stack: "dev",
  current: current!,
  currentVersion: "1.4.0",
  target: target!,
  targetVersion: "1.3.0",
};
const ps = (instance: string) => appContainerQuery("dev", instance);
const list = (backups: ReturnType<typeof backupSummary>[]) => ({ stdout: JSON.stringify(backups) });
const PRE = backupSummary("hb-2", "2026-11-24T09:26:35Z", "pre-update", "1.4.0", "1.3.0", "1.4.0");
const OLDER = backupSummary("hb-1", "2026-11-24T09:03:12Z", "pre-update", "1.4.0", "1.3.0", "1.4.0");
const OTHER = backupSummary("hb-0", "2026-11-17T10:09:46Z", "pre-update", "1.3.1", "1.3.0", "1.3.1");

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, o: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe("planRestores: the backups checked before anything changes", () => {
  test("the newest backup of the transition per moving instance; a pinned instance is not asked", () => {
    const docker = fakeDocker([
      [ps("homebrews"), { stdout: "aaa\thomebrews-app-1\t1.4.0\n" }],
      [backupListCommand("aaa"), list([OTHER, OLDER, PRE])],
    ]);
    const { out, o } = io();
    const changes = [
      { name: "homebrews", from: "1.4.0", to: "1.3.0" },
      { name: "projects", pinned: "1.2.1", from: "1.2.1", to: "1.2.1" },
    ];
    expect(planRestores({ ...o, docker }, PLAN, changes)).toEqual([{ instance: "homebrews", backupId: "hb-2" }]);
    expect(out).toEqual(["  homebrews: will restore hb-2"]);
    expect(docker.calls).toEqual([ps("homebrews"), backupListCommand("aaa")]);
  });

  test("every instance without one is named, after all were asked", () => {
    const docker = fakeDocker([
      [ps("alpha"), { stdout: "a1\talpha-app-1\t1.4.0\n" }],
      [backupListCommand("a1"), list([OTHER])],
      [ps("beta"), { stdout: "b1\tbeta-app-1\t1.4.0\n" }],
      [backupListCommand("b1"), list([PRE])],
      [ps("gamma"), { stdout: "c1\tgamma-app-1\t1.4.0\n" }],
      [backupListCommand("c1"), list([])],
    ]);
    const changes = ["alpha", "beta", "gamma"].map((name) => ({ name, from: "1.4.0", to: "1.3.0" }));
    expect(() => planRestores({ ...io().o, docker }, PLAN, changes)).toThrow(
      new CliError(
        "no pre-update backup from 1.3.0 to 1.4.0 for: alpha, gamma. Nothing was changed. Roll back without " +
          "--restore-data, then restore by hand with npm run restore -- <instance> --list.",
      ),
    );
    expect(docker.calls).toHaveLength(6);
  });
});

describe("applyRestores: after pulumi up", () => {
  test("restores into the new container when it runs the target version; another version is counted and left alone", () => {
    const docker = fakeDocker([
      [ps("alpha"), { stdout: "a2\talpha-app-2\t1.3.0\n" }],
      [backupRestoreCommand("a2", "al-1"), { stdout: "" }],
      [ps("beta"), { stdout: "b2\tbeta-app-2\t1.4.0\n" }],
    ]);
    const { out, err, o } = io();
    const restores = [
      { instance: "alpha", backupId: "al-1" },
      { instance: "beta", backupId: "be-1" },
    ];
    expect(applyRestores({ ...o, docker }, PLAN, restores)).toBe(1);
    expect(docker.calls).toEqual([ps("alpha"), backupRestoreCommand("a2", "al-1"), ps("beta")]);
    expect(out).toEqual(["Restoring alpha from al-1 in alpha-app-2 ...", "Restored alpha from al-1."]);
    expect(err).toEqual(["fleet rollback: beta runs 1.4.0, not 1.3.0; not restoring it."]);
  });

  test("a restore the app refuses counts as failed", () => {
    const docker = fakeDocker([
      [ps("alpha"), { stdout: "a2\talpha-app-2\t1.3.0\n" }],
      [backupRestoreCommand("a2", "al-1"), { status: 3 }],
    ]);
    const { err, o } = io();
    expect(applyRestores({ ...o, docker }, PLAN, [{ instance: "alpha", backupId: "al-1" }])).toBe(1);
    expect(err).toEqual([
      "fleet restore: restoring alpha from al-1 failed (exit 3); the app kept its data (see its output above).",
    ]);
  });
});
