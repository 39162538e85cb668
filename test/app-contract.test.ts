import { describe, expect, test } from "vitest";
import { envSchema as appEnv } from "../app/src/config";
import { envSchema as dashboardEnv } from "../app/src/dashboard";
import { envSchema as offsiteEnv } from "../app/src/offsite";
import {
  backupCreateArgs,
  backupRestoreArgs,
  backupRestoreLiveArgs,
  backupScheduleArgs,
  backupVerifyArgs,
  DASHBOARD_ENV,
  ENV,
  labelFilter,
  labelFilters,
  OFFSITE_ENV,
  offsiteHealthArgs,
  offsiteRunArgs,
  offsiteSyncArgs,
} from "../components/app-contract";

describe("the image's CLI as argv", () => {
  test.each([
    [backupCreateArgs(), "node dist/cli.js backup create"],
    [backupCreateArgs({ reason: "manual" }), "node dist/cli.js backup create --reason manual"],
    [
      backupCreateArgs({ reason: "pre-update", from: "1.0.0", to: "1.1.0", ifExists: true }),
      "node dist/cli.js backup create --reason pre-update --from 1.0.0 --to 1.1.0 --if-exists",
    ],
    [backupScheduleArgs("0 3 * * *", 7), "node dist/cli.js backup schedule --cron 0 3 * * * --keep 7"],
    [backupVerifyArgs("b-1"), "node dist/cli.js backup verify b-1"],
    [backupRestoreArgs("b-1", { live: false, trust: true }), "node dist/cli.js backup restore b-1 --trust"],
    [backupRestoreLiveArgs("b-1"), "node dist/cli.js backup restore b-1 --live"],
    [offsiteRunArgs(), "node dist/cli.js offsite run"],
    [offsiteHealthArgs(), "node dist/cli.js offsite health"],
    [offsiteSyncArgs(), "node dist/cli.js offsite sync"],
  ])("%j", (argv, line) => {
    expect(argv.join(" ")).toBe(line);
  });
});

describe("env names", () => {
  // The typecheck holds each name to its mode's schema; this holds the running schemas to them too.
  test.each([
    ["app", Object.values(ENV), Object.keys(appEnv.shape)],
    ["dashboard", Object.values(DASHBOARD_ENV), Object.keys(dashboardEnv.shape)],
    ["off-site", Object.values(OFFSITE_ENV), Object.keys(offsiteEnv.shape)],
  ])("every name fleet sets on the %s mode is one it reads", (_mode, names, schema) => {
    expect(names.filter((n) => !schema.includes(n))).toEqual([]);
  });
});

describe("label filters", () => {
  test("one, and a stack's with instance and role", () => {
    expect(labelFilter("version", "3.0.0")).toEqual(["--filter", "label=fleet.version=3.0.0"]);
    expect(labelFilters({ stack: "dev", instance: "a", role: "app" })).toEqual([
      "--filter",
      "label=fleet.managed=true",
      "--filter",
      "label=fleet.stack=dev",
      "--filter",
      "label=fleet.instance=a",
      "--filter",
      "label=fleet.role=app",
    ]);
  });
});
