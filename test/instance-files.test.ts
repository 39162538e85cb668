/**
 * Instance files as untrusted input (docs/security.md): what the loader reads and refuses on the
 * file system, YAML that attacks the parser, values Docker, cron or the app would refuse at
 * deploy time, reserved and secret env, and the one rule for derived Docker names.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { validateCommand } from "../ops/commands/validate";
import { APP_ENV, FLEET_ENV, reservedEnv, USER_APP_ENV } from "../components/env-rules";
import { FleetValidationError, loadFleet, MAX_FILE_BYTES, parseInstanceText } from "../components/fleet";
import { dockerNameProblems, dockerNames, stackDockerNames } from "../components/naming";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-files-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SECRET = "CI_SECRET_VALUE_4f9c2e";
const outside = path.join(tmp, "outside.yaml");
fs.writeFileSync(outside, `port: 5009\ntitle: ${SECRET}\n`);

/** A directory with a valid homebrews.yaml and whatever `add` puts next to it. */
function dir(name: string, add: (d: string) => void): string {
  const d = path.join(tmp, name);
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, "homebrews.yaml"), "port: 5001\n");
  add(d);
  return d;
}

function problemsOf(d: string, options: Parameters<typeof loadFleet>[1] = {}): readonly string[] {
  try {
    loadFleet(d, options);
  } catch (err) {
    if (err instanceof FleetValidationError) return err.problems.map((p) => p.replace(`${d}/`, ""));
    throw err;
  }
  throw new Error("expected a FleetValidationError");
}

const LINK =
  "a symbolic link; instance files are never followed through links (a link can point at any file on the " +
  "machine): put the file itself in the directory";

describe("only regular files directly in the directory are read", () => {
  test.each([
    ["a link to a file outside", (d: string) => fs.symlinkSync(outside, path.join(d, "x.yaml"))],
    ["a link to a file inside", (d: string) => fs.symlinkSync(path.join(d, "homebrews.yaml"), path.join(d, "x.yaml"))],
    ["a link to /proc/self/environ", (d: string) => fs.symlinkSync("/proc/self/environ", path.join(d, "x.yaml"))],
    ["a link to /dev/zero", (d: string) => fs.symlinkSync("/dev/zero", path.join(d, "x.yaml"))],
    ["a dangling link", (d: string) => fs.symlinkSync(path.join(d, "nowhere"), path.join(d, "x.yaml"))],
  ])("%s is refused and never read", (name, add) => {
    const d = dir(name.replace(/\W+/g, "-"), add);
    const problems = problemsOf(d);
    expect(problems).toEqual([`x.yaml: ${LINK}`]);
    expect(problems.join("\n")).not.toContain(SECRET);
  });

  test("a directory named x.yaml", () => {
    const d = dir("directory", (d) => fs.mkdirSync(path.join(d, "x.yaml")));
    expect(problemsOf(d)).toEqual(["x.yaml: a directory, not an instance file; remove it or rename it"]);
  });

  test("a FIFO is refused at once, without opening it", () => {
    const d = dir("fifo", (d) => execFileSync("mkfifo", [path.join(d, "x.yaml")]));
    const started = Date.now();
    expect(problemsOf(d)).toEqual(["x.yaml: a named pipe (FIFO), not an instance file; remove it or rename it"]);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test("a file over the size limit is refused before it is read", () => {
    const d = dir("big", (d) =>
      fs.writeFileSync(path.join(d, "x.yaml"), `port: 5002\n#${"x".repeat(MAX_FILE_BYTES)}\n`),
    );
    expect(problemsOf(d)).toEqual([
      `x.yaml: ${MAX_FILE_BYTES + 13} bytes, more than the 64 KiB an instance file may have; it was not read`,
    ]);
  });

  test("a file at the size limit is read", () => {
    const text = `port: 5002\n#${"x".repeat(MAX_FILE_BYTES - 13)}\n`;
    expect(Buffer.byteLength(text)).toBe(MAX_FILE_BYTES);
    const d = dir("at-limit", (d) => fs.writeFileSync(path.join(d, "x.yaml"), text));
    expect(loadFleet(d).instances.map((i) => i.name)).toEqual(["homebrews", "x"]);
  });

  test.each([
    ["binary", Buffer.from([0x70, 0x6f, 0x00, 0x01]), "not a text file (it holds NUL bytes); it was not read"],
    ["latin-1", Buffer.from("title: caf\xe9\nport: 5002\n", "latin1"), "not UTF-8 text; save it as UTF-8"],
  ])("a %s file is refused without quoting it", (name, bytes, problem) => {
    const d = dir(name, (d) => fs.writeFileSync(path.join(d, "x.yaml"), bytes));
    expect(problemsOf(d)).toEqual([`x.yaml: ${problem}`]);
  });

  test("file names with control characters are quoted in messages", () => {
    const d = dir("control-name", (d) => fs.writeFileSync(path.join(d, "a\nb.yaml"), "port: 5002\n"));
    expect(problemsOf(d)).toEqual([
      '"a\\nb.yaml": name: the file name "a\\nb" is not a valid instance name (lowercase letters, digits and "-", ' +
        "starting with a letter, at most 31 characters); rename the file or set name",
    ]);
  });
});

describe("no silent outcomes", () => {
  test.each(["x.YAML", "x.Yml", "x.yaml "])("%j looks like an instance file but is not read: an error", (file) => {
    const d = dir(`ignored-${file.replace(/\W/g, "")}`, (d) => fs.writeFileSync(path.join(d, file), "port: 5002\n"));
    expect(problemsOf(d)).toEqual([
      `${file}: not read: instance files end in .yaml or .yml (lowercase); rename it, or move it out of the directory`,
    ]);
  });

  test("an empty directory needs an explicit flag", () => {
    const d = path.join(tmp, "empty");
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, "README.md"), "not an instance\n");
    expect(problemsOf(d)).toEqual([
      `${d}: no instance files (*.yaml); deploying an empty fleet removes every instance's containers and routes ` +
        "(their data volumes stay). If that is what you want: npm run validate -- --allow-empty, and pulumi config " +
        "set fleet:allowEmptyFleet true",
    ]);
    expect(loadFleet(d, { allowEmpty: true })).toEqual({ instances: [], files: {} });
  });

  test("a 50 MB value is cut in the message", () => {
    const problems = parseInstanceText(`port: 5001\ntitle: "${"x".repeat(50_000_000)}"\n`, "f.yaml", "f").problems;
    expect(problems).toEqual([
      `f.yaml: title: expected a non-empty string of at most 100 characters, got "${"x".repeat(60)}"… (50000000 characters)`,
    ]);
  });

  test("a long unknown key is cut", () => {
    expect(parseInstanceText(`port: 5001\n${"k".repeat(200)}: 1\n`, "f.yaml", "f").problems).toEqual([
      `f.yaml: "${"k".repeat(60)}"… (200 characters): unknown key; did you mean "healthcheck"?`,
    ]);
  });
});

describe("YAML that attacks the parser", () => {
  const billionLaughs = [
    "a: &a [x, x, x, x, x, x, x, x, x]",
    ...Array.from({ length: 9 }, (_, i) => {
      const prev = i === 0 ? "a" : `l${i - 1}`;
      return `l${i}: &l${i} [${Array(9).fill(`*${prev}`).join(", ")}]`;
    }),
    "port: 5001",
  ].join("\n");

  test.each([
    ["an alias bomb", billionLaughs, "YAML: aliases (*) expand too much (an alias bomb); write the values out"],
    ["a custom tag", "port: !env 5001\n", "line 1, column 7: YAML: unknown tag (!env); remove it"],
    [
      "!!binary",
      "port: 5001\ntitle: !!binary aGk=\n",
      "line 2, column 8: YAML: unknown tag (tag:yaml.org,2002:binary); remove it",
    ],
    ["!!set", "port: 5001\nenv: !!set {A}\n", "line 2, column 6: YAML: unknown tag (tag:yaml.org,2002:set); remove it"],
    ["deep nesting", `port: ${"[".repeat(20000)}${"]".repeat(20000)}\n`, "YAML: nested deeper than 64 levels"],
  ])("%s: one clean problem, fast", (name, text, problem) => {
    const started = Date.now();
    expect(parseInstanceText(text, "f.yaml", "f").problems).toEqual([`f.yaml: ${problem}`]);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test("__proto__ is an unknown key, not a prototype", () => {
    expect(parseInstanceText("port: 5001\n__proto__: {title: x}\n", "f.yaml", "f").problems).toEqual([
      'f.yaml: __proto__: unknown key; did you mean "port"?',
    ]);
  });
});

describe("what Docker, cron or the app would refuse at deploy time", () => {
  test.each([
    ['title: "a\\u202eb"', 'title: expected a title without control characters, got "a\\u202eb"'],
    ['title: "a\\u0007b"', 'title: expected a title without control characters, got "a\\u0007b"'],
    [
      'env: {GREETING: "a\\nb"}',
      'env.GREETING: expected a value without control characters (Docker and the app refuse them), got "a\\nb"',
    ],
    [
      `version: 1.0.0-${"a".repeat(123)}`,
      `version: expected an exact semver such as 1.2.3, got "1.0.0-${"a".repeat(54)}"… (129 characters); a version is a Docker image tag, at most 128 characters`,
    ],
    [
      "resources: {memory: 99999999999999999999g}",
      'resources.memory: expected a memory size from 64m to 1024g such as 256m or 1g, got "99999999999999999999g"',
    ],
    [
      "resources: {memory: 1m}",
      'resources.memory: expected a memory size from 64m to 1024g such as 256m or 1g, got "1m"',
    ],
    [
      "healthcheck: {interval: 99999999999999999999h}",
      'healthcheck.interval: expected a duration from 1ms to 1h such as 5s, got "99999999999999999999h"',
    ],
    ["healthcheck: {timeout: 2h}", 'healthcheck.timeout: expected a duration from 1ms to 1h such as 3s, got "2h"'],
    [
      'backup: {schedule: "* * * * * *"}',
      'backup.schedule: expected a cron expression such as "0 3 * * *", got "* * * * * *": it fires more than once a minute',
    ],
    [
      'backup: {schedule: "*/30 * * * * *"}',
      'backup.schedule: expected a cron expression such as "0 3 * * *", got "*/30 * * * * *": it fires more than once a minute',
    ],
    [
      'backup: {schedule: "0 0 30 2 *"}',
      'backup.schedule: expected a cron expression such as "0 3 * * *", got "0 0 30 2 *": it never fires in 2025, and it must fire every year',
    ],
    [
      'backup: {schedule: "0 0 29 2 *"}',
      'backup.schedule: expected a cron expression such as "0 3 * * *", got "0 0 29 2 *": it never fires in 2025, and it must fire every year',
    ],
    [
      "env: {LOG_LEVEL: verbose}",
      'env.LOG_LEVEL: the app refuses "verbose": must be one of fatal, error, warn, info, debug, trace, silent',
    ],
    ["env: {MAX_UPLOAD_BYTES: -1}", 'env.MAX_UPLOAD_BYTES: the app refuses "-1": must be a positive integer (bytes)'],
  ])("%s", (line, problem) => {
    expect(parseInstanceText(`port: 5001\n${line}\n`, "f.yaml", "f").problems).toEqual([`f.yaml: ${problem}`]);
  });

  test.each([["* * * * *"], ["0 3 * * *"], ["0 0 1 1 *"], ["@yearly"], ["30 0 0 * * *"]])(
    "the schedule %j is accepted",
    (schedule) => {
      expect(parseInstanceText(`port: 5001\nbackup: {schedule: "${schedule}"}\n`, "f.yaml", "f").problems).toEqual([]);
    },
  );
});

describe("reserved env", () => {
  test("every variable the app reads is reserved, except the ones an instance may set", () => {
    expect(APP_ENV.filter((k) => reservedEnv(k) === undefined)).toEqual([...USER_APP_ENV]);
    expect(FLEET_ENV.every((k) => APP_ENV.includes(k))).toBe(true);
  });

  test.each([
    ["HOST", "owned by the app image (app/src/config.ts)"],
    ["APP_VERSION", "owned by the app image (app/src/config.ts)"],
    ["PORT", "set by fleet itself"],
    ["NODE_OPTIONS", "reserved for the runtime (Node.js, libuv, the system)"],
    ["DATA_DIR_FILE", "the app reads it as DATA_DIR, which is set by fleet itself"],
    ["ADMIN_TOKEN_FILE", "the app reads it as ADMIN_TOKEN, which is set by fleet itself"],
    ["APP_VERSION_FILE", "the app reads it as APP_VERSION, which is owned by the app image (app/src/config.ts)"],
    ["NODE_TLS_REJECT_UNAUTHORIZED", "reserved for the runtime (Node.js, libuv, the system)"],
    ["LD_PRELOAD", "reserved for the runtime (Node.js, libuv, the system)"],
    ["PATH", "reserved for the runtime (Node.js, libuv, the system)"],
    ["UV_THREADPOOL_SIZE", "reserved for the runtime (Node.js, libuv, the system)"],
  ])("env.%s is refused: %s", (key, why) => {
    expect(parseInstanceText(`port: 5001\nenv: {${key}: x}\n`, "f.yaml", "f").problems).toEqual([
      `f.yaml: env.${key}: ${why}; remove it`,
    ]);
  });
});

describe("secrets by name and by value", () => {
  const fix = (name: string) =>
    `secrets never live in instance files; remove it and run: pulumi config set --secret --path 'fleet:secretEnv.f.${name}' <value>`;
  test.each([
    ["DB_PASS: x", `env.DB_PASS: looks like a secret, and ${fix("DB_PASS")}`],
    ["SENTRY_DSN: x", `env.SENTRY_DSN: looks like a secret, and ${fix("SENTRY_DSN")}`],
    ["PRIVATE_KEY_PEM: x", `env.PRIVATE_KEY_PEM: looks like a secret, and ${fix("PRIVATE_KEY_PEM")}`],
    [
      "apiKey: x",
      `env.apiKey: looks like a secret, and ${fix("API_KEY")} (secret names are upper snake case: the app sees API_KEY)`,
    ],
    [
      "DATABASE_URL: postgres://app:hunter2@db/app",
      `env.DATABASE_URL: the value looks like a password in a URL, and ${fix("DATABASE_URL")}`,
    ],
    ['SSH: "-----BEGIN OPENSSH PRIVATE KEY-----"', `env.SSH: the value looks like a private key, and ${fix("SSH")}`],
    [`GH: ghp_${"a1".repeat(18)}`, `env.GH: the value looks like a GitHub token, and ${fix("GH")}`],
    ["AWS_ID: AKIAIOSFODNN7EXAMPLE", `env.AWS_ID: the value looks like an AWS access key, and ${fix("AWS_ID")}`],
    [`PAY: sk_live_${"x".repeat(24)}`, `env.PAY: the value looks like a Stripe key, and ${fix("PAY")}`],
  ])("%s", (line, problem) => {
    const problems = parseInstanceText(`port: 5001\nenv:\n  ${line}\n`, "f.yaml", "f").problems;
    expect(problems).toEqual([`f.yaml: ${problem}`]);
  });

  test("a secret value never appears in the message", () => {
    const problems = parseInstanceText(
      "port: 5001\nenv:\n  DATABASE_URL: postgres://app:hunter2@db/app\n",
      "f.yaml",
      "f",
    );
    expect(problems.problems.join("\n")).not.toContain("hunter2");
  });

  test.each([["LOG_LEVEL: info"], ["PUBLIC_READ: true"], ["SITE_URL: https://example.com/a@b"], ["MONKEY_MODE: on"]])(
    "%s is not a secret",
    (line) => {
      expect(parseInstanceText(`port: 5001\nenv:\n  ${line}\n`, "f.yaml", "f").problems).toEqual([]);
    },
  );
});

describe("one rule for every derived Docker name", () => {
  test("two instances whose swarm service names meet are refused; a service may share a volume's name", () => {
    expect(
      dockerNameProblems("dev", [
        { name: "shop", file: "instances/shop.yaml" },
        { name: "shop-backup", file: "instances/shop-backup.yaml" },
      ]),
    ).toEqual([
      "instances/shop-backup.yaml: the Docker name fleet-dev-shop-backup (swarm service) is already the swarm " +
        "backup service of instances/shop.yaml; choose another instance name",
    ]);
  });

  test("an instance named proxy would take the proxy's data volume", () => {
    expect(dockerNameProblems("dev", [{ name: "proxy", file: "instances/proxy.yaml" }])).toEqual([
      "instances/proxy.yaml: the Docker name fleet-dev-proxy-data (data volume) is already the proxy's data volume " +
        "(Caddy's certificates and routes); choose another instance name",
    ]);
  });

  test("every stack-wide name is reserved by construction: an instance deriving it is refused", () => {
    const stack = "dev";
    // Service names are a namespace of their own (no stack-wide service exists).
    const objects = Object.entries(dockerNames(stack, "NAME")).filter(
      ([k]) => k !== "service" && k !== "backupService",
    );
    const instanceSuffixes = objects.map(([, n]) => n).map((n) => n.slice(n.indexOf("NAME") + 4));
    const clashes = Object.values(stackDockerNames(stack)).flatMap((taken) =>
      instanceSuffixes
        .filter((suffix) => taken.endsWith(suffix) && taken.startsWith(`fleet-${stack}-`))
        .map((suffix) => taken.slice(`fleet-${stack}-`.length, taken.length - suffix.length)),
    );
    expect(clashes).toEqual(["proxy"]);
    for (const name of clashes) {
      expect(dockerNameProblems(stack, [{ name, file: `${name}.yaml` }])).toHaveLength(1);
    }
  });

  test("validate refuses instances/proxy.yaml before anything registers", () => {
    const d = path.join(tmp, "proxy-instance");
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, "proxy.yaml"), "port: 5001\n");
    expect(validateCommand([d])).toEqual({
      code: 1,
      stdout: [],
      stderr: [
        `${d}/proxy.yaml: the Docker name fleet-dev-proxy-data (data volume) is already the proxy's data volume ` +
          "(Caddy's certificates and routes); choose another instance name",
      ],
    });
  });
});
