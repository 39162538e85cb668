import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import {
  crossFileProblems,
  FleetValidationError,
  loadFleet,
  parseInstanceText,
  secretEnvProblems,
} from "../components/fleet";
import { validateCommand } from "../ops/commands/validate";
import { BAD_DIR, BAD_FIXTURES, expectedProblems } from "./bad-fixtures";

const ADMIN = { 2019: "the proxy's admin API (fleet:proxyAdminPort)" };

function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof FleetValidationError) return err.problems;
    throw err;
  }
  throw new Error("expected a FleetValidationError");
}

describe("parseInstanceText", () => {
  test("resolves name, title and env, with defaults", () => {
    const parsed = parseInstanceText(
      "port: 5001\nenv:\n  PUBLIC_READ: true\n  LOG_LEVEL: debug\n  MAX_ITEMS: 20\n",
      "instances/homebrews.yaml",
      "homebrews",
    );
    expect(parsed).toEqual({
      file: "instances/homebrews.yaml",
      problems: [],
      spec: {
        name: "homebrews",
        title: "homebrews",
        port: 5001,
        env: { LOG_LEVEL: "debug", MAX_ITEMS: "20", PUBLIC_READ: "true" },
        resources: { memory: "256m", cpus: 0.5 },
        healthcheck: { interval: "2s", timeout: "3s", startPeriod: "10s", retries: 3 },
        backup: { schedule: "0 3 * * *", keep: 14, enabled: true, offsite: true },
        rollout: { wave: 0, canary: false },
      },
    });
  });

  test("an explicit name wins over the file name, and the version pin and domain are kept", () => {
    const parsed = parseInstanceText(
      "name: brews\ntitle: Brews\nport: 5003\nversion: 1.2.3\ndomain: brews.example.com\n",
      "instances/x.yaml",
      "x",
    );
    expect(parsed.spec).toMatchObject({ name: "brews", title: "Brews", version: "1.2.3", domain: "brews.example.com" });
  });

  test.each([
    [
      "prot: 5001\n",
      ["f.yaml: port: required: an integer 1024-65535", 'f.yaml: prot: unknown key; did you mean "port"?'],
    ],
    ["port: 5001\nrollout:\n  canery: true\n", ['f.yaml: rollout.canery: unknown key; did you mean "canary"?']],
    ["port: 5001\nresource:\n  cpus: 1\n", ['f.yaml: resource: unknown key; did you mean "resources"?']],
    [
      "port: 5001\nenv:\n  API_KEY: x\n  GITHUB_TOKEN: y\n  MY_SECRET_THING: z\n",
      [
        "f.yaml: env.API_KEY: looks like a secret, and secrets never live in instance files; remove it and run: " +
          "pulumi config set --secret --path 'fleet:secretEnv.f.API_KEY' <value>",
        "f.yaml: env.GITHUB_TOKEN: looks like a secret, and secrets never live in instance files; remove it and run: " +
          "pulumi config set --secret --path 'fleet:secretEnv.f.GITHUB_TOKEN' <value>",
        "f.yaml: env.MY_SECRET_THING: looks like a secret, and secrets never live in instance files; remove it and " +
          "run: pulumi config set --secret --path 'fleet:secretEnv.f.MY_SECRET_THING' <value>",
      ],
    ],
    [
      "port: 5001\nenv:\n  ADMIN_TOKEN: x\n",
      [
        "f.yaml: env.ADMIN_TOKEN: looks like a secret, and secrets never live in instance files; remove it and run: " +
          "pulumi config set --secret --path 'fleet:secretEnv.f.ADMIN_TOKEN' <value>",
      ],
    ],
    [
      "port: 5001\nhealthcheck:\n  retries: 0\n  timeout: 1.5s\n",
      [
        'f.yaml: healthcheck.timeout: expected a duration from 1ms to 1h such as 3s, got "1.5s"',
        "f.yaml: healthcheck.retries: expected an integer 1-10, got 0",
      ],
    ],
  ])("%j -> exact problems", (text, problems) => {
    expect(parseInstanceText(text, "f.yaml", "f").problems).toEqual(problems);
  });
});

describe("rules across files", () => {
  const spec = (name: string, port: number, domain?: string) =>
    parseInstanceText(`name: ${name}\nport: ${port}\n${domain ? `domain: ${domain}\n` : ""}`, `${name}.yaml`, name);

  test("unique names, ports and domains; reserved ports", () => {
    expect(
      crossFileProblems(
        [spec("a", 5001, "a.example.com"), spec("b", 5001), spec("c", 5003, "a.example.com"), spec("d", 2019)],
        ADMIN,
      ),
    ).toEqual([
      "b.yaml: port: 5001 is already used by a.yaml",
      'c.yaml: domain: "a.example.com" is already used by a.yaml',
      "d.yaml: port: 2019 is used by the proxy's admin API (fleet:proxyAdminPort)",
    ]);
  });

  test("a valid fleet has no problems", () => {
    expect(crossFileProblems([spec("a", 5001), spec("b", 5002)], ADMIN)).toEqual([]);
  });
});

describe("secretEnv against the fleet", () => {
  const fleet = loadFleet("instances");

  test("known instances, long enough tokens, no names fleet sets: no problems", () => {
    expect(
      secretEnvProblems({ homebrews: { ADMIN_TOKEN: "x".repeat(24), SMTP_PASSWORD: "pw" }, projects: {} }, fleet),
    ).toEqual([]);
  });

  test("unknown instance, short token, reserved name: one problem each, values never shown", () => {
    expect(
      secretEnvProblems(
        { homebrew: { SMTP_PASSWORD: "pw" }, projects: { ADMIN_TOKEN: "short-secret", PORT: "1" } },
        fleet,
      ),
    ).toEqual([
      'fleet:secretEnv.homebrew: no instance file defines "homebrew"; did you mean "homebrews"?',
      "fleet:secretEnv.projects.ADMIN_TOKEN: must be at least 24 characters",
      "fleet:secretEnv.projects.PORT: set by fleet itself; remove it",
    ]);
  });
});

describe("loadFleet", () => {
  test("the examples load, sorted by name", () => {
    const fleet = loadFleet("instances", { reservedPorts: ADMIN });
    expect(fleet.files).toEqual({ homebrews: "instances/homebrews.yaml", projects: "instances/projects.yaml" });
    expect(fleet.instances.map((i) => [i.name, i.title, i.port, i.rollout.wave])).toEqual([
      ["homebrews", "Homebrews", 5001, 0],
      ["projects", "Projects", 5002, 1],
    ]);
  });

  test("a missing directory is one problem", () => {
    expect(problemsOf(() => loadFleet("test/fixtures/no-such-dir"))).toEqual([
      "test/fixtures/no-such-dir: not a readable directory of instance files",
    ]);
  });

  test("the error message lists every problem", () => {
    expect(() => loadFleet(`${BAD_DIR}/many-problems`)).toThrow(
      "4 problems in the instance files:\n" +
        "  test/fixtures/bad/many-problems/homebrews.yaml: title: expected a non-empty string of at most 100 characters, got 5\n" +
        "  test/fixtures/bad/many-problems/homebrews.yaml: port: expected an integer 1024-65535, got 70000\n" +
        '  test/fixtures/bad/many-problems/homebrews.yaml: backups: unknown key; did you mean "backup"?\n' +
        '  test/fixtures/bad/many-problems/projects.yaml: empty file: expected a map of fields with at least "port"',
    );
  });

  test("every case under test/fixtures/bad is in the table", () => {
    expect(fs.readdirSync(BAD_DIR).sort()).toEqual(BAD_FIXTURES.map(([name]) => name).sort());
    expect(BAD_FIXTURES.length).toBeGreaterThanOrEqual(20);
  });

  test.each(BAD_FIXTURES)("bad fleet %s -> exact problems", (name, problems) => {
    expect(problemsOf(() => loadFleet(path.join(BAD_DIR, name), { reservedPorts: ADMIN }))).toEqual(
      expectedProblems(name, problems),
    );
  });
});

describe("npm run validate", () => {
  test("the examples: exit 0, one line per instance", () => {
    expect(validateCommand([])).toEqual({
      code: 0,
      stdout: [
        'instances/homebrews.yaml: homebrews on port 5001, version 1.0.0 (fleet:version), wave 0, backups "0 3 * * *" keep 14',
        'instances/projects.yaml: projects on port 5002, version 1.0.0 (fleet:version), wave 1, backups "0 3 * * *" keep 14',
      ],
      stderr: [],
    });
  });

  test("pins, canaries, domains and disabled backups are summarized", () => {
    expect(validateCommand(["test/fixtures/fleets/mixed"]).stdout).toEqual([
      'test/fixtures/fleets/mixed/alpha.yaml: alpha on port 6001, version 1.0.0 (fleet:version), canary, backups "0 3 * * *" keep 14',
      "test/fixtures/fleets/mixed/beta.yaml: beta on port 6002 + https://beta.example.com, version 0.9.0 (pinned), wave 0, backups off",
      'test/fixtures/fleets/mixed/gamma.yaml: gamma on port 6003, version 1.0.0 (fleet:version), wave 1, backups "*/30 * * * *" keep 3',
    ]);
  });

  test.each(BAD_FIXTURES)("bad fleet %s: exit 1 with every problem", (name, problems) => {
    expect(validateCommand([path.join(BAD_DIR, name)])).toEqual({
      code: 1,
      stdout: [],
      stderr: expectedProblems(name, problems),
    });
  });
});
