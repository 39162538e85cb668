import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { captureRun, isFile, listDir, readText, realPulumi, terminalRun } from "../ops/core/effects";
import { CliError } from "../ops/core/errors";
import { existingStackCli, PulumiCliNotFound, type RunResult } from "../ops/core/pulumi-cli";
import { prepareStack, type StackSetupDeps } from "../ops/core/pulumi-stack";
import { saltConflict, stackSetsNotify } from "../ops/core/stack-file";

const ok = (stdout = ""): RunResult => ({ status: 0, stdout, stderr: "" });

/** Fakes for prepareStack: files as a set of paths, every effect recorded as one line. */
function fakeSetup(o: { env?: Record<string, string>; files?: string[]; select?: RunResult } = {}) {
  const calls: string[] = [];
  const files = new Set(o.files ?? []);
  const d: StackSetupDeps = {
    env: o.env ?? { PATH: "/usr/bin" },
    repoRoot: "/repo",
    nodeDir: "/node/bin",
    out: (l) => calls.push(`out ${l}`),
    run: (cmd, args, r) => {
      calls.push(`run ${cmd} ${args.join(" ")} @${r.cwd} ${r.env.PULUMI_CONFIG_PASSPHRASE_FILE ?? "-"}`);
      return o.select ?? ok();
    },
    isFile: (p) => files.has(p),
    mkdir: (p) => calls.push(`mkdir ${p}`),
    writeSecretFile: (p, content) => calls.push(`write600 ${p} ${JSON.stringify(content)}`),
    randomPassphrase: () => "pw",
  };
  return { d, calls };
}

describe("prepareStack", () => {
  test("the local backend, a new passphrase, then stack select with both", () => {
    const f = fakeSetup();
    expect(prepareStack(f.d, "prod", null, "/bin/pulumi")).toEqual({
      env: {
        PATH: "/node/bin:/bin:/usr/bin",
        PULUMI_BACKEND_URL: "file:///repo/.pulumi-state",
        PULUMI_CONFIG_PASSPHRASE_FILE: "/repo/.pulumi-state/passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "true",
      },
    });
    expect(f.calls).toEqual([
      "mkdir /repo/.pulumi-state",
      "out fleet up: state backend file:///repo/.pulumi-state",
      "mkdir /repo/.pulumi-state",
      'write600 /repo/.pulumi-state/passphrase "pw\\n"',
      "out fleet up: created .pulumi-state/passphrase (mode 600), the passphrase that encrypts this stack's secrets.\n" +
        "          Back it up: without it the stack's secrets (admin tokens) cannot be decrypted.",
      "run /bin/pulumi stack select prod --create @/repo /repo/.pulumi-state/passphrase",
    ]);
  });

  test("a PULUMI_CONFIG_PASSPHRASE_FILE that does not exist stops before the stack is touched", () => {
    const f = fakeSetup({ env: { PULUMI_CONFIG_PASSPHRASE_FILE: "secrets/pass", PULUMI_BACKEND_URL: "s3://b" } });
    expect(prepareStack(f.d, "dev", null, "/bin/pulumi")).toEqual({
      problem: "fleet up: PULUMI_CONFIG_PASSPHRASE_FILE points at /repo/secrets/pass, which does not exist.",
    });
    expect(f.calls).toEqual(["out fleet up: state backend s3://b (from PULUMI_BACKEND_URL)"]);
  });

  test("a salt without its passphrase: no passphrase is made", () => {
    const f = fakeSetup();
    const r = prepareStack(f.d, "dev", "encryptionsalt: v1:x\n", "/bin/pulumi");
    expect(r).toEqual({ problem: saltConflict("dev", "encryptionsalt: v1:x\n") });
    expect(f.calls.filter((c) => c.startsWith("write600") || c.startsWith("run"))).toEqual([]);
  });

  test("stack select failing: its last line, and the passphrase hint when that is the cause", () => {
    const f = fakeSetup({
      files: ["/repo/.pulumi-state/passphrase"],
      select: { status: 255, stdout: "", stderr: "error: getting stack: incorrect passphrase\n" },
    });
    expect(prepareStack(f.d, "dev", null, "/bin/pulumi")).toEqual({
      problem:
        "fleet up: could not create or select stack dev: error: getting stack: incorrect passphrase\n" +
        "The passphrase does not match the encryptionsalt in Pulumi.dev.yaml; use the passphrase the stack was " +
        "created with (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE).",
    });
  });
});

describe("the stack file as up reads it", () => {
  test.each([
    [null, false],
    ["config:\n  fleet:version: 1.0.0\n", false],
    ["config:\n  fleet:notify:\n    secure: v1:abc\n", true],
    ["config:\n  fleet:notify: ''\n", true],
    ["config: [fleet:notify]\n", false],
    ["- a list\n", false],
  ])("%j sets fleet:notify: %j", (text, expected) => {
    expect(stackSetsNotify(text)).toBe(expected);
  });
});

describe("existingStackCli (rollback)", () => {
  const search = (files: string[], version: RunResult, env: Record<string, string> = {}) => ({
    env: { PATH: "/opt/p", ...env },
    home: "/home/ada",
    repoRoot: "/repo",
    isFile: (p: string) => files.includes(p),
    listDir: () => [],
    run: () => version,
  });

  test("no CLI: a PulumiCliNotFound that carries what was tried and the command to run again", () => {
    let caught: unknown;
    try {
      existingStackCli(
        search(["/opt/p/pulumi"], { status: 126, stdout: "", stderr: "exec format error" }),
        "npm run rollback",
      );
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PulumiCliNotFound);
    expect(caught).toBeInstanceOf(CliError);
    const e = caught as PulumiCliNotFound;
    expect([e.tried, e.rerun, e.exitCode]).toEqual([
      [{ path: "/opt/p/pulumi", source: "PATH", reason: "exec format error" }],
      "npm run rollback",
      1,
    ]);
    expect(e.message.split("\n")[0]).toBe("no working Pulumi CLI was found.");
    expect(e.message.split("\n").at(-1)).toBe(
      "then run `npm run rollback` again. See https://www.pulumi.com/docs/iac/download-install/",
    );
  });

  test("no passphrase: a CliError, and the CLI is never run on the stack", () => {
    expect(() => existingStackCli(search(["/opt/p/pulumi"], ok("v3.265.0\n")), "npm run rollback")).toThrow(
      new CliError(
        "no passphrase: .pulumi-state/passphrase does not exist and neither PULUMI_CONFIG_PASSPHRASE nor " +
          "PULUMI_CONFIG_PASSPHRASE_FILE is set. Deploy first with `npm run up`, or set the passphrase the stack was created with.",
      ),
    );
  });

  test("found: the CLI's folder first on PATH, the local backend", () => {
    expect(
      existingStackCli(
        search(["/opt/p/pulumi"], ok("v3.265.0\n"), { PULUMI_CONFIG_PASSPHRASE: "s" }),
        "npm run rollback",
      ),
    ).toEqual({
      path: "/opt/p/pulumi",
      env: {
        PATH: "/opt/p:/opt/p",
        PULUMI_CONFIG_PASSPHRASE: "s",
        PULUMI_BACKEND_URL: "file:///repo/.pulumi-state",
        PULUMI_SKIP_UPDATE_CHECK: "true",
      },
    });
  });
});

describe("the real effects", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-effects-"));
  fs.writeFileSync(path.join(tmp, "a.txt"), "hello\n");

  test("files: what exists, and neutral answers for what does not", () => {
    expect([isFile(path.join(tmp, "a.txt")), isFile(tmp), isFile(path.join(tmp, "nope"))]).toEqual([
      true,
      false,
      false,
    ]);
    expect([listDir(tmp), listDir(path.join(tmp, "nope"))]).toEqual([["a.txt"], []]);
    expect([readText(path.join(tmp, "a.txt")), readText(path.join(tmp, "nope"))]).toEqual(["hello\n", null]);
  });

  test("captureRun: output, exit code and folder; a missing program is an error, not a throw", () => {
    const run = captureRun(tmp);
    const script = "process.stdout.write(process.cwd()); process.stderr.write('e'); process.exit(3)";
    expect(run(process.execPath, ["-e", script], { env: {} })).toEqual({
      status: 3,
      stdout: fs.realpathSync(tmp),
      stderr: "e",
      error: undefined,
    });
    const missing = run(path.join(tmp, "nope"), [], { env: {} });
    expect([missing.status, (missing.error as NodeJS.ErrnoException | undefined)?.code]).toEqual([null, "ENOENT"]);
  });

  test("terminalRun returns the exit code; realPulumi turns a CLI that cannot start into a CliError", () => {
    expect(terminalRun(tmp, "up")(process.execPath, ["-e", "process.exit(7)"], { env: {} })).toBe(7);
    const cli = path.join(tmp, "nope");
    expect(() => realPulumi({ path: cli, env: {} }, tmp)(["version"])).toThrow(
      new CliError(`could not run ${cli}: spawnSync ${cli} ENOENT`),
    );
  });
});
