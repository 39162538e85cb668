/**
 * The one stack-config reader (components/stack-config.ts) as the commands and the program use
 * it: unknown keys, plaintext secrets, secretEnv checked by validate as by render, an empty fleet.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { render, RenderError } from "../ops/commands/render";
import { readConfig } from "../ops/core/config";
import { CliError } from "../ops/core/errors";
import { validateCommand } from "../ops/commands/validate";
import { loadStackConfig, programStackConfig, readStackFiles, StackConfigError } from "../components/stack-config";

const ROOT = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-stack-config-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A project directory with the repository's Pulumi.yaml and the given Pulumi.prod.yaml. */
function project(name: string, stackFile: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), stackFile);
  return dir;
}

function problemsOf(read: () => unknown): readonly string[] {
  try {
    read();
  } catch (err) {
    if (err instanceof StackConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a StackConfigError");
}

describe("the files", () => {
  test("an unknown fleet: key is refused with the closest known key; other namespaces are left alone", () => {
    const dir = project("typo", "config:\n  fleet:verison: 1.2.0\n  fleet:version: 1.0.0\n  docker:host: x\n");
    expect(problemsOf(() => loadStackConfig(dir, "prod"))).toEqual([
      'fleet:verison: unknown key; did you mean "fleet:version"?',
    ]);
  });

  test("a plaintext secretEnv value is refused, and never shown", () => {
    const dir = project(
      "plaintext",
      [
        "config:",
        "  fleet:version: 1.0.0",
        "  fleet:secretEnv:",
        "    homebrews:",
        "      SMTP_PASSWORD: hunter2",
        "      API_KEY:",
        "        secure: v1:abc",
        "",
      ].join("\n"),
    );
    const problems = problemsOf(() => readStackFiles(dir, "prod"));
    expect(problems).toEqual([
      "fleet:secretEnv.homebrews.SMTP_PASSWORD: a plaintext value in Pulumi.prod.yaml; secrets are stored " +
        "encrypted: pulumi config set --secret --path 'fleet:secretEnv.homebrews.SMTP_PASSWORD' <value>",
    ]);
    expect(problems.join("\n")).not.toContain("hunter2");
  });

  test("fleet:notify: a plaintext URL is refused and never shown; an encrypted one reads as [secret]", () => {
    const plain = project(
      "notify-plain",
      "config:\n  fleet:version: 1.0.0\n  fleet:notify: https://ntfy.sh/hunter2-topic\n",
    );
    const problems = problemsOf(() => readStackFiles(plain, "prod"));
    expect(problems).toEqual([
      "fleet:notify: a plaintext value in Pulumi.prod.yaml; the URL is a secret (anyone who has it can post, and " +
        "an ntfy topic URL can be read): pulumi config set --secret fleet:notify <url>",
    ]);
    expect(problems.join("\n")).not.toContain("hunter2");
    const encrypted = project(
      "notify-secure",
      "config:\n  fleet:version: 1.0.0\n  fleet:notify:\n    secure: v1:abc\n",
    );
    const files = readStackFiles(encrypted, "prod");
    expect([files.config["fleet:notify"], files.secretKeys]).toEqual(["[secret]", ["fleet:notify"]]);
    expect(loadStackConfig(encrypted, "prod").notify).toBe("[secret]");
  });

  test.each([
    ["ntfy.sh/hunter2", "fleet:notify: not a URL; expected an http(s) URL: an ntfy topic"],
    ["https://ntfy.sh/", "fleet:notify: an ntfy URL names one topic: https://<host>/<topic>"],
    ["https://me:hunter2@hooks.example.org/x", "fleet:notify: a user or password in the URL is not supported"],
  ])("fleet:notify %s is refused without quoting it", (url, problem) => {
    const problems = problemsOf(() =>
      programStackConfig({ get: (k) => ({ version: "1.0.0", notify: url })[k], getObject: () => undefined }, [
        "fleet:version",
        "fleet:notify",
      ]),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith(problem)).toBe(true);
    expect(problems[0]).not.toContain("hunter2");
  });

  test("encrypted secretEnv values are read as [secret], typed values converted by the schema's kinds", () => {
    const dir = project(
      "typed",
      [
        "config:",
        "  fleet:version: 1.0.0",
        "  fleet:proxyAdminPort: 2100",
        "  fleet:allowEmptyFleet: true",
        "  fleet:secretEnv:",
        "    homebrews:",
        "      SMTP_PASSWORD:",
        "        secure: v1:abc",
        "",
      ].join("\n"),
    );
    expect(loadStackConfig(dir, "prod")).toEqual({
      version: "1.0.0",
      image: "build",
      dockerHost: "",
      backupDir: "",
      instancesDir: "instances",
      proxyImage: "caddy:2",
      proxyAdminPort: 2100,
      allowEmptyFleet: true,
      notify: "",
      dashboardPort: 0,
      target: "docker",
      publishMode: "ingress",
      placement: {},
      secretEnv: { homebrews: { SMTP_PASSWORD: "[secret]" } },
    });
  });

  test("restore and rollback read through the same reader", () => {
    const dir = project("restore", "config:\n  fleet:version: 1.0.0\n  fleet:dockerHostt: ssh://x\n");
    expect(() => readConfig(dir, "prod")).toThrow(
      new CliError(
        'the stack config of prod is invalid:\nInvalid stack config:\n  fleet:dockerHostt: unknown key; did you mean "fleet:dockerHost"?',
      ),
    );
    const ok = project("restore-ok", "config:\n  fleet:version: 1.0.0\n  fleet:dockerHost: ssh://deploy@host\n");
    expect([readConfig(ok, "prod").dockerHost, readConfig(ok, "prod").instancesDir]).toEqual([
      "ssh://deploy@host",
      "instances",
    ]);
  });
});

describe("the program's reader (pulumi.Config)", () => {
  const values: Record<string, string> = {
    "fleet:version": "1.0.0",
    "fleet:secretEnv": '{"homebrews":{"SMTP_PASSWORD":"pw"}}',
    "fleet:proxyAdminPort": "2100",
    "aws:region": "x",
  };
  const reader = {
    get: (key: string) => values[`fleet:${key}`],
    getObject: <T>(key: string) => JSON.parse(values[`fleet:${key}`]!) as T,
  };

  test("objects through getObject, the rest through get, converted by kind", () => {
    expect(programStackConfig(reader, Object.keys(values))).toMatchObject({
      version: "1.0.0",
      proxyAdminPort: 2100,
      secretEnv: { homebrews: { SMTP_PASSWORD: "pw" } },
    });
  });

  test("an unknown key passed by Pulumi is refused", () => {
    expect(problemsOf(() => programStackConfig(reader, [...Object.keys(values), "fleet:proxyAdminPrt"]))).toEqual([
      'fleet:proxyAdminPrt: unknown key; did you mean "fleet:proxyAdminPort"?',
    ]);
  });
});

describe("validate checks the stack config as render does", () => {
  test("validate DIR --version X does not crash", () => {
    expect(validateCommand(["instances", "--version", "1.2.0"]).code).toBe(0);
    expect(validateCommand(["instances", "--version", "latest"])).toEqual({
      code: 1,
      stdout: [],
      stderr: [
        'fleet:version: expected an exact semver such as 1.0.0 (pulumi config set fleet:version 1.0.0), got "latest"',
      ],
    });
  });

  test("an empty directory: refused, accepted with --allow-empty", () => {
    const dir = path.join(tmp, "empty-validate");
    fs.mkdirSync(dir);
    expect(validateCommand([dir]).code).toBe(1);
    expect(validateCommand([dir, "--allow-empty"])).toEqual({ code: 0, stdout: [], stderr: [] });
  });
});

describe("the program refuses before registering anything", () => {
  test("an unknown fleet: key", async () => {
    const error = await render({ config: { verison: "1.1.0" } }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).message).toBe(
      'Invalid stack config:\n  fleet:verison: unknown key; did you mean "fleet:version"?',
    );
    expect((error as RenderError).resources).toEqual([]);
  }, 300_000);

  test("fleet:notify reaches only the backup sidecars, and render never prints it without --show-secrets", async () => {
    const url = "https://ntfy.sh/fleet-render-topic-x9";
    const hidden = await render({ config: { notify: url } });
    expect(JSON.stringify(hidden)).not.toContain("fleet-render-topic-x9");
    const shown = await render({ config: { notify: url }, showSecrets: true });
    const withUrl = shown.resources.filter((r) => JSON.stringify(r.inputs).includes(url)).map((r) => r.name);
    expect(withUrl).toEqual(["homebrews-backup", "projects-backup"]);
    const envs = shown.resources.find((r) => r.name === "homebrews-backup")!.inputs["envs"];
    expect(envs).toEqual([
      "APP_NAME=homebrews",
      "DATA_DIR=/data",
      "BACKUP_DIR=/backups",
      "FLEET_STACK=dev",
      `NOTIFY_URL=${url}`,
    ]);
  }, 300_000);

  test("an empty fleet without fleet:allowEmptyFleet; with it, only the image and the proxy", async () => {
    const dir = path.join(tmp, "empty-render");
    fs.mkdirSync(dir);
    const error = await render({ instancesDir: dir }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).message).toContain("no instance files (*.yaml); deploying an empty fleet removes");
    expect((error as RenderError).resources).toEqual([]);
    const allowed = await render({ instancesDir: dir, config: { allowEmptyFleet: "true" } });
    expect(allowed.resources.map((r) => r.name)).toEqual([
      "app",
      "app-1.0.0",
      "proxy",
      "proxy-image",
      "proxy-data",
      "proxy-sockets",
      "proxy",
    ]);
  }, 300_000);
});
