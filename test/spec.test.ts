import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import * as YAML from "yaml";
import {
  DEFAULTS,
  durationSeconds,
  InstanceFileSchema,
  isExactVersion,
  memoryMegabytes,
  configKind,
  parseStackConfig,
  STACK_DEFAULTS,
  StackConfigSchema,
  StackConfigError,
  waitTimeoutSeconds,
} from "../components/spec";

const ROOT = path.resolve(__dirname, "..");

describe("instance file defaults", () => {
  test("a file with only a port gets every default", () => {
    expect(InstanceFileSchema.parse({ port: 5001 })).toEqual({
      port: 5001,
      env: {},
      resources: { memory: "256m", cpus: 0.5 },
      healthcheck: { interval: "2s", timeout: "3s", startPeriod: "10s", retries: 3 },
      backup: { schedule: "0 3 * * *", keep: 14, enabled: true, offsite: true },
      rollout: { wave: 0, canary: false },
    });
  });

  test("a partial nested map keeps the other defaults of that map", () => {
    expect(InstanceFileSchema.parse({ port: 5001, backup: { keep: 3 }, rollout: { canary: true } })).toMatchObject({
      backup: { schedule: "0 3 * * *", keep: 3, enabled: true, offsite: true },
      rollout: { wave: 0, canary: true },
    });
  });

  test("DEFAULTS is what the schema applies", () => {
    const parsed = InstanceFileSchema.parse({ port: 5001 });
    expect({
      resources: parsed.resources,
      healthcheck: parsed.healthcheck,
      backup: parsed.backup,
      rollout: parsed.rollout,
    }).toEqual(DEFAULTS);
  });
});

describe("units", () => {
  test.each([
    ["500ms", 0.5],
    ["10s", 10],
    ["2m", 120],
    ["1h", 3600],
  ])("durationSeconds(%s) = %s", (input, seconds) => {
    expect(durationSeconds(input)).toBe(seconds);
  });

  test.each([["10"], ["0s"], ["1.5s"], ["s"]])("durationSeconds(%s) throws", (input) => {
    expect(() => durationSeconds(input)).toThrow(`not a duration: ${input}`);
  });

  test.each([
    ["256m", 256],
    ["1g", 1024],
    ["2g", 2048],
  ])("memoryMegabytes(%s) = %s", (input, mb) => {
    expect(memoryMegabytes(input)).toBe(mb);
  });

  test.each([
    ["1.0.0", true],
    ["1.2.3-rc.1", true],
    ["v1.0.0", false],
    ["^1.0.0", false],
    ["1.0", false],
    ["latest", false],
  ])("isExactVersion(%s) = %s", (input, ok) => {
    expect(isExactVersion(input)).toBe(ok);
  });

  test.each([
    [{ interval: "5s", timeout: "3s", startPeriod: "10s", retries: 3 }, 44],
    [{ interval: "2s", timeout: "3s", startPeriod: "10s", retries: 3 }, 35],
    [{ interval: "10s", timeout: "5s", startPeriod: "30s", retries: 5 }, 115],
    [{ interval: "500ms", timeout: "250ms", startPeriod: "1s", retries: 1 }, 12],
  ])("waitTimeoutSeconds(%o) = %s", (hc, seconds) => {
    expect(waitTimeoutSeconds(hc)).toBe(seconds);
  });
});

describe("stack config", () => {
  test("defaults apply to everything but the version", () => {
    expect(parseStackConfig({ version: "1.0.0" })).toEqual({
      version: "1.0.0",
      image: "build",
      dockerHost: "",
      backupDir: "",
      instancesDir: "instances",
      proxyImage: "caddy:2",
      proxyAdminPort: 2019,
      allowEmptyFleet: false,
      notify: "",
      dashboardPort: 0,
      target: "docker",
      publishMode: "ingress",
      placement: {},
      secretEnv: {},
    });
  });

  test("the swarm keys: target, publish mode and placement (a JSON map as Pulumi passes it)", () => {
    expect(
      parseStackConfig({
        version: "1.0.0",
        target: "swarm",
        publishMode: "host",
        placement: '{"*":"node-1","homebrews":"node-2.lan"}',
      }),
    ).toMatchObject({ target: "swarm", publishMode: "host", placement: { "*": "node-1", homebrews: "node-2.lan" } });
  });

  test("values arrive as strings, secretEnv as JSON", () => {
    expect(
      parseStackConfig({
        version: "2.0.0",
        image: "ghcr.io/acme/fleet-app",
        proxyAdminPort: "2100",
        backupDir: "/srv/backups",
        secretEnv: '{"homebrews":{"SMTP_PASSWORD":"pw"}}',
      }),
    ).toMatchObject({
      version: "2.0.0",
      image: "ghcr.io/acme/fleet-app",
      proxyAdminPort: 2100,
      backupDir: "/srv/backups",
      secretEnv: { homebrews: { SMTP_PASSWORD: "pw" } },
    });
  });

  test.each([
    [{}, ["fleet:version: required: an exact semver such as 1.0.0 (pulumi config set fleet:version 1.0.0)"]],
    [
      { version: "latest" },
      ['fleet:version: expected an exact semver such as 1.0.0 (pulumi config set fleet:version 1.0.0), got "latest"'],
    ],
    [
      { version: "1.0.0", image: "ghcr.io/acme/app:1.0.0" },
      [
        'fleet:image: expected "build" or a registry repository such as ghcr.io/owner/name (no tag), got "ghcr.io/acme/app:1.0.0"',
      ],
    ],
    [{ version: "1.0.0", proxyAdminPort: "80" }, ["fleet:proxyAdminPort: expected an integer 1024-65535, got 80"]],
    [{ version: "1.0.0", backupDir: "backups" }, ['fleet:backupDir: expected an absolute host path, got "backups"']],
    [
      { version: "1.0.0", secretEnv: '{"homebrews":{"smtp":"x"}}' },
      ['fleet:secretEnv.homebrews.smtp: expected an upper-snake-case name such as SMTP_PASSWORD, got "smtp"'],
    ],
    [{ version: "1.0.0", secretEnv: "{" }, ["fleet:secretEnv: expected a map, got invalid JSON"]],
    [{ version: "1.0.0", target: "k8s" }, ['fleet:target: expected "docker" or "swarm", got "k8s"']],
    [{ version: "1.0.0", publishMode: "mesh" }, ['fleet:publishMode: expected "ingress" or "host", got "mesh"']],
    [
      { version: "1.0.0", placement: '{"Blog":"node-1"}' },
      [
        'fleet:placement.Blog: expected an instance name (lowercase letters, digits and "-", starting with a letter, at most 31 characters) or "*", got "Blog"',
      ],
    ],
    [
      { version: "1.0.0", placement: '{"blog":"node 1"}' },
      ['fleet:placement.blog: expected a Swarm node hostname, got "node 1"'],
    ],
  ])("parseStackConfig(%o) fails with exact problems", (raw, problems) => {
    let error: unknown;
    try {
      parseStackConfig(raw);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StackConfigError);
    expect((error as StackConfigError).problems).toEqual(problems);
  });

  test("what Pulumi.yaml declares agrees with the schema: known keys, their kinds and defaults", () => {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
      config: Record<string, { type: string; default?: unknown; description: string }>;
    };
    for (const [key, decl] of Object.entries(project.config)) {
      expect(Object.keys(StackConfigSchema.shape)).toContain(key);
      expect(decl.type).toBe(configKind(key));
      expect(decl.default).toEqual((STACK_DEFAULTS as Record<string, unknown>)[key]);
    }
    expect(project.config["version"]).not.toHaveProperty("default");
  });

  test.each([
    ["version", "string"],
    ["proxyAdminPort", "integer"],
    ["allowEmptyFleet", "boolean"],
    ["secretEnv", "object"],
  ])("the kind of fleet:%s comes from the schema: %s", (key, kind) => {
    expect(configKind(key)).toBe(kind);
  });

  test("the dev stack's version is the app's package version", () => {
    const stack = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    const app = JSON.parse(fs.readFileSync(path.join(ROOT, "app", "package.json"), "utf8")) as { version: string };
    expect(stack.config["fleet:version"]).toBe(app.version);
  });
});
