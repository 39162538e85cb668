/** The command-line entry points as a user runs them (child processes), and the generated docs. */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, test } from "vitest";
import { DOCS_FILE, generateInstanceDocs } from "../ops/commands/docs";
import type { RenderResult } from "../ops/commands/render";

const ROOT = path.resolve(__dirname, "..");
const run = promisify(execFile);

/** Runs an npm script's command line (from package.json) with arguments; never throws. */
async function npmScript(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  const [command, ...rest] = pkg.scripts[name]!.split(" ");
  const bin = command === "node" ? process.execPath : path.join(ROOT, "node_modules", ".bin", command!);
  try {
    const { stdout, stderr } = await run(bin, [...rest, ...args], { cwd: ROOT, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let json: Awaited<ReturnType<typeof npmScript>>;
let bad: Awaited<ReturnType<typeof npmScript>>;

beforeAll(async () => {
  [json, bad] = await Promise.all([
    npmScript("render", [
      "--json",
      "--instances",
      "test/fixtures/fleets/mixed",
      "--version",
      "2.0.0",
      "--config",
      "proxyAdminPort=2100",
    ]),
    npmScript("render", ["--instances", "test/fixtures/bad/many-problems"]),
  ]);
});

describe("npm run render", () => {
  test("--json with --instances, --version and --config", () => {
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as RenderResult;
    expect(result.config).toMatchObject({
      "fleet:version": "2.0.0",
      "fleet:proxyAdminPort": "2100",
      "fleet:instancesDir": path.join(ROOT, "test/fixtures/fleets/mixed"),
    });
    expect(result.resources.filter((r) => r.type === "fleet:index:AppInstance").map((r) => r.name)).toEqual([
      "alpha",
      "beta",
      "gamma",
    ]);
    const proxy = result.resources.find((r) => r.name === "proxy" && r.custom)!;
    expect((proxy.inputs["uploads"] as { content: string }[])[0]!.content).toContain("\tadmin 127.0.0.1:2100\n");
    expect(Object.keys(result.outputs["instances"] as object)).toEqual(["alpha", "beta", "gamma"]);
  });

  test("bad input: exit 1, every problem, nothing on stdout", () => {
    expect(bad).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "render: 4 problems in the instance files:\n" +
        "  test/fixtures/bad/many-problems/homebrews.yaml: title: expected a non-empty string of at most 100 characters, got 5\n" +
        "  test/fixtures/bad/many-problems/homebrews.yaml: port: expected an integer 1024-65535, got 70000\n" +
        '  test/fixtures/bad/many-problems/homebrews.yaml: backups: unknown key; did you mean "backup"?\n' +
        '  test/fixtures/bad/many-problems/projects.yaml: empty file: expected a map of fields with at least "port"\n',
    });
  });
});

describe("npm run docs", () => {
  test(`${DOCS_FILE} is current (run npm run docs)`, () => {
    expect(fs.readFileSync(path.join(ROOT, DOCS_FILE), "utf8")).toBe(generateInstanceDocs());
  });

  test("it documents every field of the instance file and every stack config key", () => {
    const doc = generateInstanceDocs();
    for (const field of [
      "name",
      "title",
      "port",
      "domain",
      "version",
      "env",
      "resources.memory",
      "resources.cpus",
      "healthcheck.interval",
      "healthcheck.timeout",
      "healthcheck.startPeriod",
      "healthcheck.retries",
      "backup.schedule",
      "backup.keep",
      "backup.enabled",
      "rollout.wave",
      "rollout.canary",
    ]) {
      expect(doc).toContain(`| \`${field}\` |`);
    }
    for (const key of [
      "version",
      "image",
      "dockerHost",
      "backupDir",
      "instancesDir",
      "proxyImage",
      "proxyAdminPort",
      "secretEnv",
    ]) {
      expect(doc).toContain(`| \`fleet:${key}\` |`);
    }
  });
});
