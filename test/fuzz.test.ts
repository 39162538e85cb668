/**
 * Property-based tests (fast-check) of instance files as untrusted input: random and mutated
 * files never throw, never take a second, and only ever produce one-line messages naming the
 * file; an invalid fleet registers nothing through the real program under mocks (render); the fix
 * suggested for a secret is accepted by `fleet:secretEnv`. Seeds are printed on failure
 * (`fc.assert` reports `seed` and `path`), so a failure can be replayed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { render, RenderError } from "../ops/commands/render";
import { isSecretName, secretEnvCommand } from "../components/env-rules";
import { FleetValidationError, loadFleet, parseInstanceText, secretEnvProblems } from "../components/fleet";
import { parseStackConfig } from "../components/spec";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-fuzz-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SEEDS = [
  fs.readFileSync("instances/homebrews.yaml", "utf8"),
  fs.readFileSync("instances/projects.yaml", "utf8"),
  ...["alpha", "beta", "gamma"].map((n) => fs.readFileSync(`test/fixtures/fleets/mixed/${n}.yaml`, "utf8")),
];

/** Pieces of YAML and text that have broken parsers and validators before. */
const NASTY = [
  "&a ",
  "*a",
  "<<: *a\n",
  "!!binary ",
  "!!set ",
  "!!timestamp ",
  "!foo ",
  "!<tag:x> ",
  "---\n",
  "...\n",
  "%YAML 1.1\n",
  "%TAG ! tag:example.com,2000:\n",
  "\t",
  "\u0000",
  "\u001b[31m",
  "\u202e",
  "\ufeff",
  "{",
  "}",
  "[",
  "]",
  ": ",
  "- ",
  "? ",
  '"',
  "'",
  "#",
  "|\n",
  ">-\n",
  "__proto__: ",
  "constructor: ",
  "port: 70000\n",
  "port: 2019\n",
  "name: proxy\n",
  "version: 1.0.0-" + "a".repeat(130) + "\n",
  "env:\n  HOST: 0.0.0.0\n",
  "env:\n  DATABASE_URL: postgres://u:p@h/d\n",
  'backup:\n  schedule: "* * * * * *"\n',
  "resources:\n  memory: 99999999999999999999g\n",
  "1e400",
  "-.inf",
  ".nan",
  "0x1F",
  "~",
  "null",
  "yes",
  "[".repeat(100),
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.constantFrom(...NASTY) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.string({ maxLength: 12 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(text: string, mutations: readonly Mutation[]): string {
  let out = text;
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    if (m.kind === "insert") out = out.slice(0, at) + m.text + out.slice(at);
    else if (m.kind === "delete") out = out.slice(0, at) + out.slice(at + m.length);
    else out = out.slice(0, at) + out.slice(at, at + m.length) + out.slice(at);
  }
  return out;
}

const mutatedFile = fc
  .tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([seed, ms]) => mutate(seed, ms));
const randomFile = fc.oneof(fc.string({ maxLength: 400 }), fc.string({ unit: "binary", maxLength: 400 }));

/** Parses one file and checks what must hold for any input. */
function checkParse(text: string): boolean {
  const started = performance.now();
  const parsed = parseInstanceText(text, "instances/f.yaml", "f");
  const ms = performance.now() - started;
  expect(ms).toBeLessThan(1000);
  for (const problem of parsed.problems) {
    expect(problem.startsWith("instances/f.yaml: ")).toBe(true);
    expect(problem).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(problem).not.toMatch(/\n\s+at /);
    expect(problem.length).toBeLessThan(600);
  }
  expect(parsed.spec === undefined).toBe(parsed.problems.length > 0);
  return parsed.spec !== undefined;
}

describe("instance files never throw, never hang, and speak in one clean line per problem", () => {
  test("random text", () => {
    fc.assert(
      fc.property(randomFile, (text) => {
        checkParse(text);
      }),
      { numRuns: 1000 },
    );
  });

  test("mutated valid files", () => {
    fc.assert(
      fc.property(mutatedFile, (text) => {
        checkParse(text);
      }),
      { numRuns: 1000 },
    );
  });

  test("mutated files on disk: loadFleet throws only FleetValidationError", () => {
    let n = 0;
    fc.assert(
      fc.property(fc.array(mutatedFile, { minLength: 1, maxLength: 3 }), (texts) => {
        const dir = path.join(tmp, `load-${n++}`);
        fs.mkdirSync(dir);
        texts.forEach((t, i) => fs.writeFileSync(path.join(dir, `app-${i}.yaml`), t));
        const started = performance.now();
        try {
          loadFleet(dir);
        } catch (err) {
          expect(err).toBeInstanceOf(FleetValidationError);
        }
        expect(performance.now() - started).toBeLessThan(1000);
      }),
      { numRuns: 100 },
    );
  });
});

describe("the fix suggested for a secret is accepted by fleet:secretEnv", () => {
  const fleet = loadFleet("instances");
  const envKey = fc.oneof(
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,20}$/),
    fc
      .tuple(
        fc.constantFrom("", "db", "Api", "GITHUB", "x-"),
        fc.constantFrom("Key", "_TOKEN", "Secret", "PASSWORD", "_pass"),
      )
      .map(([a, b]) => a + b),
  );

  test("round trip: the suggested path is valid stack config and passes the secretEnv rules", () => {
    fc.assert(
      fc.property(envKey, (key) => {
        const problems = parseInstanceText(`port: 5001\nenv:\n  "${key}": x\n`, "f.yaml", "homebrews").problems;
        const command = secretEnvCommand("homebrews", key);
        if (!isSecretName(key) || command === undefined) return;
        const suggested = /--path 'fleet:secretEnv\.homebrews\.([^']+)'/.exec(problems.join("\n"));
        expect(suggested).not.toBeNull();
        const name = suggested![1]!;
        const config = parseStackConfig({
          version: "1.0.0",
          secretEnv: JSON.stringify({ homebrews: { [name]: "x".repeat(32) } }),
        });
        expect(secretEnvProblems(config.secretEnv, fleet)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});

describe("an invalid fleet registers nothing (the real program under mocks)", () => {
  test("mutated fleets: render fails with exactly loadFleet's message and no resource", async () => {
    const samples = fc.sample(
      fc.array(mutatedFile, { minLength: 1, maxLength: 2 }).filter((texts) => {
        try {
          texts.forEach((t) => parseInstanceText(t, "f.yaml", "f"));
          return texts.some((t) => parseInstanceText(t, "f.yaml", "f").problems.length > 0);
        } catch {
          return true;
        }
      }),
      { numRuns: 5, seed: 20261129 },
    );
    for (const [i, texts] of samples.entries()) {
      const dir = path.join(tmp, `render-${i}`);
      fs.mkdirSync(dir);
      texts.forEach((t, k) => fs.writeFileSync(path.join(dir, `app-${k}.yaml`), t));
      let expected: unknown;
      try {
        loadFleet(dir, { reservedPorts: { 2019: "the proxy's admin API (fleet:proxyAdminPort)" } });
      } catch (err) {
        expected = err;
      }
      expect(expected).toBeInstanceOf(FleetValidationError);
      const error = await render({ instancesDir: dir }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(RenderError);
      expect((error as RenderError).message).toBe((expected as FleetValidationError).message);
      expect((error as RenderError).resources).toEqual([]);
    }
  }, 300_000);
});
