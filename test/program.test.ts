/**
 * The program (index.ts) rendered under mocks, loaded through ts-node like Pulumi loads it.
 * Each fleet is rendered once and shared by the tests that read it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { treeRevision } from "../components/app-revision";
import { goDuration, nanoCpusToDecimalString, parseCpus } from "../components/provider-forms";
import { render, RenderError, renderTable, type RenderedResource, type RenderResult } from "../ops/commands/render";
import { FleetValidationError, loadFleet } from "../components/fleet";
import { mainCaddyfile, siteBlock } from "../components/proxy-config";
import { BAD_DIR, BAD_FIXTURES } from "./bad-fixtures";

const ROOT = path.resolve(__dirname, "..");
const MIXED = "test/fixtures/fleets/mixed";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-program-"));

/** A directory of instance files: name -> YAML. */
function fleetDir(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

function copyOf(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
}

// Keyed by type and name: the proxy component and its container are both named "proxy".
const key = (res: RenderedResource) => `${res.type}::${res.name}`;
const byName = (r: RenderResult) => new Map(r.resources.map((res) => [key(res), res]));
const named = (r: RenderResult, name: string): RenderedResource => {
  const found = r.resources.find((res) => res.name === name && res.custom);
  if (!found) throw new Error(`no resource ${name}`);
  return found;
};
const containers = (r: RenderResult) => r.resources.filter((res) => res.type === "docker:index/container:Container");
const env = (res: RenderedResource) => res.inputs["environment"] as Record<string, string>;

let examples: RenderResult;
let mixedA: RenderResult;
let mixedB: RenderResult;
let mixedWithoutGamma: RenderResult;
let examplesPlusOne: RenderResult;
let single: RenderResult;
let ten: RenderResult;

beforeAll(async () => {
  // Sequential: one SDK and one mock monitor per process.
  examples = await render({});
  mixedA = await render({ instancesDir: MIXED, version: "1.0.0" });
  mixedB = await render({ instancesDir: MIXED, version: "1.1.0" });
  const withoutGamma = copyOf(MIXED);
  delete withoutGamma["gamma.yaml"];
  mixedWithoutGamma = await render({ instancesDir: fleetDir("without-gamma", withoutGamma), version: "1.0.0" });
  examplesPlusOne = await render({
    instancesDir: fleetDir("plus-one", { ...copyOf("instances"), "zeta.yaml": "title: Zeta\nport: 5003\n" }),
  });
  single = await render({ instancesDir: fleetDir("single", { "homebrews.yaml": "port: 5001\n" }) });
  const tenFiles: Record<string, string> = {};
  for (let k = 0; k < 10; k++) tenFiles[`app-${k}.yaml`] = `port: ${6000 + k}\n`;
  ten = await render({ instancesDir: fleetDir("ten", tenFiles) });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("render shape", () => {
  test("project, stack, config with Pulumi.yaml defaults, outputs per instance", () => {
    expect(Object.keys(examples)).toEqual(["project", "stack", "config", "resources", "outputs"]);
    expect([examples.project, examples.stack]).toEqual(["fleet", "dev"]);
    expect(examples.config).toEqual({
      "fleet:allowEmptyFleet": "false",
      "fleet:backupDir": "",
      "fleet:dockerHost": "",
      "fleet:image": "build",
      "fleet:instancesDir": "instances",
      "fleet:proxyAdminPort": "2019",
      "fleet:proxyImage": "caddy:2",
      "fleet:publishMode": "ingress",
      "fleet:target": "docker",
      "fleet:version": "1.0.0",
    });
    expect(examples.outputs).toEqual({
      adminTokens: "[secret]",
      offsiteContainer: null,
      dashboardToken: null,
      dashboardUrl: null,
      instances: {
        homebrews: {
          backups: "fleet-dev-homebrews-backups",
          dataVolume: "fleet-dev-homebrews-data",
          image: "<<app-1.0.0.repoDigest>>",
          url: "http://localhost:5001",
          version: "1.0.0",
        },
        projects: {
          backups: "fleet-dev-projects-backups",
          dataVolume: "fleet-dev-projects-data",
          image: "<<app-1.0.0.repoDigest>>",
          url: "http://localhost:5002",
          version: "1.0.0",
        },
      },
    });
  });

  test("resources in construction order: image, proxy, then instances in rollout order", () => {
    expect(examples.resources.map((r) => [r.type, r.name, r.parent])).toEqual([
      ["fleet:index:FrameworkImage", "app", null],
      ["docker:index/image:Image", "app-1.0.0", "app"],
      ["fleet:index:FleetProxy", "proxy", null],
      ["docker:index/remoteImage:RemoteImage", "proxy-image", "proxy"],
      ["docker:index/volume:Volume", "proxy-data", "proxy"],
      ["docker:index/volume:Volume", "proxy-sockets", "proxy"],
      ["docker:index/container:Container", "proxy", "proxy"],
      ...["homebrews", "projects"].flatMap((n) => [
        ["fleet:index:AppInstance", n, null],
        ["docker:index/volume:Volume", `${n}-data`, n],
        ["docker:index/volume:Volume", `${n}-backups`, n],
        ["random:index/randomPassword:RandomPassword", `${n}-admin-token`, n],
        ["command:local:Command", `${n}-pre-update-backup`, n],
        ["docker:index/container:Container", `${n}-app`, n],
        ["docker:index/container:Container", `${n}-backup`, n],
        ["command:local:Command", `${n}-route`, n],
      ]),
    ]);
  });

  test("the image is built from app/ with version and the git tree hash of app/ (no date: content alone)", () => {
    const image = named(examples, "app-1.0.0");
    const args = (image.inputs["build"] as { args: Record<string, string> }).args;
    expect(args).toEqual({ REVISION: treeRevision(ROOT, "app"), VERSION: "1.0.0" });
    expect(args["REVISION"]).toMatch(/^[0-9a-f]{40}$/);
    expect(image.inputs["imageName"]).toBe("fleet-app:1.0.0");
  });
});

describe("the readable table (render without --json)", () => {
  test("one row per resource with its options, then the outputs", () => {
    const lines = renderTable(examples).split("\n");
    expect(lines[0]).toBe("project fleet, stack dev, 23 resources");
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^│ docker:Container +│ homebrews-app +│ homebrews +│ homebrews-pre-update-backup +│ retainOnDelete +│$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^│ docker:Volume +│ homebrews-data +│ homebrews +│ +│ retainOnDelete +│$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^│ homebrews +│ http:\/\/localhost:5001 +│ 1\.0\.0 +│ <<app-1\.0\.0\.repoDigest>> +│ fleet-dev-homebrews-data +│ fleet-dev-homebrews-backups +│$/,
      ),
    );
  });
});

describe("versions A and B", () => {
  test("exactly the unpinned containers change, and only their image", () => {
    const a = byName(mixedA);
    const changed = containers(mixedB)
      .filter((c) => JSON.stringify(c.inputs) !== JSON.stringify(a.get(key(c))?.inputs))
      .map((c) => c.name);
    expect(changed).toEqual(["alpha-app", "alpha-backup", "gamma-app", "gamma-backup"]);
    for (const name of changed) {
      const before = named(mixedA, name).inputs;
      const after = named(mixedB, name).inputs;
      expect(after).toEqual({
        ...before,
        image: "<<app-1.1.0.repoDigest>>",
        labels: (before["labels"] as { label: string; value: string }[]).map((l) =>
          l.label === "fleet.version" ? { ...l, value: "1.1.0" } : l,
        ),
      });
      expect(before["image"]).toBe("<<app-1.0.0.repoDigest>>");
    }
    expect(named(mixedB, "beta-app").inputs["image"]).toBe("<<app-0.9.0.imageId>>");
  });

  test("exactly the unpinned pre-update backups are re-triggered", () => {
    const triggers = (r: RenderResult) =>
      Object.fromEntries(
        r.resources.filter((x) => x.name.endsWith("-pre-update-backup")).map((x) => [x.name, x.inputs["triggers"]]),
      );
    expect(triggers(mixedA)).toEqual({
      "alpha-pre-update-backup": ["1.0.0", "<<app-1.0.0.repoDigest>>"],
      "beta-pre-update-backup": ["0.9.0", "<<app-0.9.0.imageId>>"],
      "gamma-pre-update-backup": ["1.0.0", "<<app-1.0.0.repoDigest>>"],
    });
    expect(triggers(mixedB)).toEqual({
      "alpha-pre-update-backup": ["1.1.0", "<<app-1.1.0.repoDigest>>"],
      "beta-pre-update-backup": ["0.9.0", "<<app-0.9.0.imageId>>"],
      "gamma-pre-update-backup": ["1.1.0", "<<app-1.1.0.repoDigest>>"],
    });
    // The command provider replaces on a trigger change, which re-runs the backup before the container.
    expect(named(mixedB, "alpha-pre-update-backup").options.replaceOnChanges).toEqual(["triggers[*]"]);
  });

  test("the images: the new version built, the pin still referenced", () => {
    const images = (r: RenderResult) =>
      r.resources
        .filter((x) => x.parent === "app")
        .map((x) => [x.type, x.name, x.inputs["name"] ?? x.inputs["imageName"]]);
    expect(images(mixedA)).toEqual([
      ["docker:index/remoteImage:RemoteImage", "app-0.9.0", "fleet-app:0.9.0"],
      ["docker:index/image:Image", "app-1.0.0", "fleet-app:1.0.0"],
    ]);
    expect(images(mixedB)).toEqual([
      ["docker:index/remoteImage:RemoteImage", "app-0.9.0", "fleet-app:0.9.0"],
      ["docker:index/image:Image", "app-1.1.0", "fleet-app:1.1.0"],
    ]);
  });
});

describe("removing an instance file", () => {
  test("drops its resources; its volumes are retained on delete; the others are untouched", () => {
    const gamma = mixedA.resources.filter((r) => r.name === "gamma" || r.parent === "gamma").map((r) => r.name);
    expect(gamma).toEqual([
      "gamma",
      "gamma-data",
      "gamma-backups",
      "gamma-admin-token",
      "gamma-pre-update-backup",
      "gamma-app",
      "gamma-backup",
      "gamma-route",
    ]);
    expect(mixedWithoutGamma.resources.map((r) => r.name)).toEqual(
      mixedA.resources.map((r) => r.name).filter((n) => !gamma.includes(n)),
    );
    // The engine deletes what the program no longer registers, except what is retained on delete:
    // the volumes, and the app container, which the route's delete script stops and removes.
    expect(
      mixedA.resources.filter((r) => gamma.includes(r.name) && r.options.retainOnDelete).map((r) => r.name),
    ).toEqual(["gamma-data", "gamma-backups", "gamma-app"]);
    const a = byName(mixedA);
    for (const r of mixedWithoutGamma.resources) expect(r.inputs).toEqual(a.get(key(r))!.inputs);
  });
});

describe("waves and canaries", () => {
  test("canary first, then wave 0, then wave 1: each app container waits for the previous wave", () => {
    expect(
      containers(mixedA)
        .filter((c) => c.name.endsWith("-app"))
        .map((c) => [c.name, c.options.dependsOn]),
    ).toEqual([
      ["alpha-app", ["alpha-pre-update-backup"]],
      ["beta-app", ["beta-pre-update-backup", "alpha-app"]],
      ["gamma-app", ["gamma-pre-update-backup", "beta-app"]],
    ]);
  });

  test("each pre-update backup waits for the previous wave too, so it runs right before its roll", () => {
    expect(
      mixedA.resources.filter((r) => r.name.endsWith("-pre-update-backup")).map((r) => [r.name, r.options.dependsOn]),
    ).toEqual([
      ["alpha-pre-update-backup", []],
      ["beta-pre-update-backup", ["alpha-app"]],
      ["gamma-pre-update-backup", ["beta-app"]],
    ]);
  });

  test("the examples: projects (wave 1) waits for homebrews (wave 0)", () => {
    expect(named(examples, "projects-app").options.dependsOn).toEqual(["projects-pre-update-backup", "homebrews-app"]);
    expect(named(examples, "homebrews-app").options.dependsOn).toEqual(["homebrews-pre-update-backup"]);
  });

  test("every app container is create-first, replaced on any change and waits for health", () => {
    for (const c of containers(mixedA).filter((x) => x.name.endsWith("-app"))) {
      expect([c.options.deleteBeforeReplace, c.options.replaceOnChanges, c.inputs["wait"]]).toEqual([
        false,
        ["*"],
        true,
      ]);
    }
  });
});

describe("proxy configuration rendered by the program", () => {
  const sites = (r: RenderResult) =>
    Object.fromEntries(
      r.resources.filter((x) => x.name.endsWith("-route")).map((x) => [x.name, env(x)["FLEET_SITE_BLOCK"]]),
    );
  const caddyfile = (r: RenderResult) => (named(r, "proxy").inputs["uploads"] as { content: string }[])[0]!.content;

  test("1 instance", () => {
    expect(sites(single)).toEqual({
      "homebrews-route": siteBlock({ instance: "homebrews", port: 5001 }),
    });
    expect(caddyfile(single)).toBe(mainCaddyfile({ adminPort: 2019 }));
  });

  test("2 instances", () => {
    expect(sites(examples)).toEqual({
      "homebrews-route":
        "# fleet instance homebrews\n:5001 {\n\treverse_proxy unix//data/routes/homebrews.sock {\n" +
        "\t\tlb_try_duration 5s\n\t\ttransport http {\n\t\t\tkeepalive off\n\t\t}\n\t}\n}\n",
      "projects-route":
        "# fleet instance projects\n:5002 {\n\treverse_proxy unix//data/routes/projects.sock {\n" +
        "\t\tlb_try_duration 5s\n\t\ttransport http {\n\t\t\tkeepalive off\n\t\t}\n\t}\n}\n",
    });
    expect(caddyfile(examples)).toBe(mainCaddyfile({ adminPort: 2019 }));
  });

  test("10 instances", () => {
    const expected: Record<string, string> = {};
    for (let k = 0; k < 10; k++) {
      expected[`app-${k}-route`] = siteBlock({ instance: `app-${k}`, port: 6000 + k });
    }
    expect(sites(ten)).toEqual(expected);
    expect(caddyfile(ten)).toBe(mainCaddyfile({ adminPort: 2019 }));
  });

  test("the proxy itself does not change with the number of instances", () => {
    for (const r of [examples, ten]) {
      expect(r.resources.filter((x) => x.parent === "proxy")).toEqual(
        single.resources.filter((x) => x.parent === "proxy"),
      );
    }
  });
});

describe("adding an instance", () => {
  test("leaves every other instance's inputs byte-identical", () => {
    const before = byName(examples);
    const others = examplesPlusOne.resources.filter((r) => before.has(key(r)));
    expect(others.map((r) => r.name)).toEqual(examples.resources.map((r) => r.name));
    for (const r of others) expect(JSON.stringify(r.inputs)).toBe(JSON.stringify(before.get(key(r))!.inputs));
    expect(examplesPlusOne.resources.filter((r) => !before.has(key(r))).map((r) => r.name)).toEqual([
      "zeta",
      "zeta-data",
      "zeta-backups",
      "zeta-admin-token",
      "zeta-pre-update-backup",
      "zeta-app",
      "zeta-backup",
      "zeta-route",
    ]);
  });
});

describe("stack config variants", () => {
  test("fleet:offsite: one off-site container after the instances, with the backups of those that take part", async () => {
    const r = await render({
      instancesDir: fleetDir("offsite", {
        "homebrews.yaml": "port: 5001\n",
        "projects.yaml": "port: 5002\nbackup: {offsite: false}\n",
        "zeta.yaml": "port: 5003\n",
      }),
      config: {
        image: "ghcr.io/acme/fleet-app",
        offsite: JSON.stringify({ repository: "/srv/restic-fleet", password: "pw-secret" }),
      },
    });
    expect(r.config["fleet:offsite"]).toBe("[secret]");
    expect(r.resources.slice(-4).map((x) => [x.type, x.name, x.parent])).toEqual([
      ["fleet:index:OffsiteCopier", "offsite", null],
      ["docker:index/image:Image", "offsite-image", "offsite"],
      ["docker:index/volume:Volume", "offsite-cache", "offsite"],
      ["docker:index/container:Container", "offsite", "offsite"],
    ]);
    expect(named(r, "offsite-image").inputs["build"]).toEqual({
      args: { APP_IMAGE: "ghcr.io/acme/fleet-app:1.0.0", APP_IMAGE_REF: "<<app-1.0.0.repoDigest>>" },
      builderVersion: "BuilderV1",
      context: "app/offsite",
      dockerfile: "app/offsite/Dockerfile",
    });
    const container = named(r, "offsite");
    expect(container.inputs["volumes"]).toEqual([
      { containerPath: "/state", volumeName: "fleet-dev-offsite-cache" },
      { containerPath: "/backups/homebrews", volumeName: "fleet-dev-homebrews-backups" },
      { containerPath: "/backups/zeta", volumeName: "fleet-dev-zeta-backups" },
      { containerPath: "/srv/restic-fleet", hostPath: "/srv/restic-fleet" },
    ]);
    expect((container.inputs["envs"] as string[]).slice(0, 3)).toEqual([
      "RESTIC_REPOSITORY=/srv/restic-fleet",
      "[secret]",
      "OFFSITE_INSTANCES=homebrews,zeta",
    ]);
    expect(container.dependencies).toEqual(["offsite-image", "offsite-cache", "homebrews-backups", "zeta-backups"]);
    expect(JSON.stringify(r)).not.toContain("pw-secret");
    expect(r.outputs["offsiteContainer"]).toBe("fleet-dev-offsite");
  });

  test("registry image, backupDir, dockerHost and secretEnv", async () => {
    const r = await render({
      config: {
        image: "ghcr.io/acme/fleet-app",
        backupDir: "/srv/backups",
        dockerHost: "ssh://deploy@host",
        secretEnv: JSON.stringify({ homebrews: { ADMIN_TOKEN: "a".repeat(32), SMTP_PASSWORD: "pw" } }),
      },
    });
    expect(r.config["fleet:secretEnv"]).toBe("[secret]");
    expect(r.resources.filter((x) => x.parent === "app").map((x) => [x.type, x.inputs["name"]])).toEqual([
      ["docker:index/remoteImage:RemoteImage", "ghcr.io/acme/fleet-app:1.0.0"],
    ]);
    const names = r.resources.map((x) => x.name);
    expect(names.slice(0, 1)).toEqual(["docker"]);
    expect(r.resources[0]!.type).toBe("pulumi:providers:docker");
    expect(names).not.toContain("homebrews-admin-token");
    expect(names).toContain("projects-admin-token");
    expect(names.filter((n) => n.endsWith("-backups"))).toEqual([]);
    expect(named(r, "homebrews-app").inputs["envs"]).toEqual([
      "APP_NAME=homebrews",
      "APP_TITLE=Homebrews",
      "PORT=8080",
      "DATA_DIR=/data",
      "BACKUP_DIR=/backups",
      "APP_SOCKET_DIR=/sockets/homebrews",
      "LOG_LEVEL=info",
      "[secret]",
      "[secret]",
    ]);
    expect(env(named(r, "projects-route"))["DOCKER_HOST"]).toBe("ssh://deploy@host");
    expect((r.outputs["instances"] as Record<string, { backups: string; image: string }>)["projects"]).toMatchObject({
      backups: "/srv/backups/projects",
      image: "<<app-1.0.0.repoDigest>>",
    });
  });
});

describe("canonical inputs (the form the docker provider reads back)", () => {
  test("every container's durations, cpus and memorySwap are fixed points of the provider's read-back", () => {
    const seen: string[] = [];
    for (const r of [examples, mixedA, mixedB, ten]) {
      for (const c of containers(r)) {
        const hc = c.inputs["healthcheck"] as Record<string, unknown> | undefined;
        for (const key of ["interval", "timeout", "startPeriod", "startInterval"]) {
          const d = hc?.[key];
          if (typeof d === "string") {
            expect(goDuration(d)).toBe(d);
            seen.push(`${key}=${d}`);
          }
        }
        const cpus = c.inputs["cpus"];
        if (cpus !== undefined) expect(nanoCpusToDecimalString(parseCpus(cpus as string))).toBe(cpus);
        if (c.inputs["memory"] !== undefined) expect(c.inputs["memorySwap"]).toBe(c.inputs["memory"]);
        if (c.inputs["logOpts"] !== undefined) expect(c.options.ignoreChanges).toContain("logOpts");
      }
    }
    // The examples' defaults, in Go's form.
    expect([...new Set(seen)].sort()).toContain("interval=1m0s");
  });
});

describe("one Docker engine", () => {
  test("every command gets the endpoint the default provider resolves, explicitly as DOCKER_HOST", () => {
    const commands = examples.resources.filter((x) => x.type === "command:local:Command");
    expect(commands.length).toBe(4);
    expect(new Set(commands.map((x) => env(x)["DOCKER_HOST"]))).toEqual(
      new Set([process.env.DOCKER_HOST || "unix:///var/run/docker.sock"]),
    );
    expect(examples.resources.filter((x) => x.type === "pulumi:providers:docker")).toEqual([]);
  });
});

describe("--show-secrets", () => {
  test("secret values are shown; generated ones stay placeholders", async () => {
    const r = await render({
      showSecrets: true,
      config: { secretEnv: JSON.stringify({ homebrews: { SMTP_PASSWORD: "pw" } }) },
    });
    expect((named(r, "homebrews-app").inputs["envs"] as string[]).slice(-2)).toEqual([
      "SMTP_PASSWORD=pw",
      "ADMIN_TOKEN=<<homebrews-admin-token.result>>",
    ]);
    expect(r.config["fleet:secretEnv"]).toBe("[secret]");
  });
});

describe("bad input registers nothing", () => {
  test.each(BAD_FIXTURES)("%s", async (name) => {
    const dir = path.join(BAD_DIR, name);
    let expected: FleetValidationError | undefined;
    try {
      loadFleet(path.resolve(dir), { reservedPorts: { 2019: "the proxy's admin API (fleet:proxyAdminPort)" } });
    } catch (err) {
      expected = err as FleetValidationError;
    }
    const error = await render({ instancesDir: dir }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).message).toBe(expected!.message);
    expect((error as RenderError).resources).toEqual([]);
  });

  test("secretEnv naming an instance that does not exist", async () => {
    const error = await render({ config: { secretEnv: JSON.stringify({ homebrew: { SMTP_PASSWORD: "pw" } }) } }).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).message).toBe(
      'Invalid stack config:\n  fleet:secretEnv.homebrew: no instance file defines "homebrew"; did you mean "homebrews"?',
    );
    expect((error as RenderError).resources).toEqual([]);
  });

  test("a bad stack config", async () => {
    const error = await render({ version: "latest" }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).message).toBe(
      'Invalid stack config:\n  fleet:version: expected an exact semver such as 1.0.0 (pulumi config set fleet:version 1.0.0), got "latest"',
    );
    expect((error as RenderError).resources).toEqual([]);
  });
});

describe("type checking, as under pulumi up", () => {
  test("a type error in the program fails the render", async () => {
    const project = path.join(tmp, "broken-project");
    fs.mkdirSync(project);
    for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "package.json", "tsconfig.json"]) {
      fs.copyFileSync(path.join(ROOT, f), path.join(project, f));
    }
    fs.cpSync(path.join(ROOT, "components"), path.join(project, "components"), { recursive: true });
    fs.cpSync(path.join(ROOT, "instances"), path.join(project, "instances"), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"));
    fs.writeFileSync(
      path.join(project, "index.ts"),
      fs.readFileSync(path.join(ROOT, "index.ts"), "utf8") + '\nexport const broken: number = "not a number";\n',
    );
    const error = await render({ projectDir: project }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).message).toMatch(
      /index\.ts\(\d+,14\): error TS2322: Type 'string' is not assignable to type 'number'\./,
    );
    expect((error as RenderError).resources).toEqual([]);
  });
});
