/**
 * Components under Pulumi mocks: the exact children (types, names, parents), inputs and options.
 * Registrations are recorded by runUnderMocks (the same recorder `npm run render` uses).
 */
import { beforeAll, describe, expect, test } from "vitest";
import type * as PulumiModule from "@pulumi/pulumi";
import type { RenderedResource, runUnderMocks as RunUnderMocks } from "../ops/commands/render";
import type * as AppInstanceModule from "../components/app-instance";
import type * as FleetDashboardModule from "../components/fleet-dashboard";
import type * as FleetProxyModule from "../components/fleet-proxy";
import type * as FrameworkImageModule from "../components/framework-image";
import { parseInstanceText } from "../components/fleet";
import { ROUTE_DELETE_SCRIPT, ROUTE_UPSERT_SCRIPT } from "../components/proxy-config";
import type { InstanceSpec } from "../components/spec";

let pulumi: typeof PulumiModule;
let runUnderMocks: typeof RunUnderMocks;
let components: typeof AppInstanceModule &
  typeof FleetProxyModule &
  typeof FrameworkImageModule &
  typeof FleetDashboardModule;

const STACK = { project: "fleet", stack: "dev", config: {}, secretKeys: [] };

/** Runs `init` under mocks; the component modules are imported only after the mocks are set. */
async function run(init: () => unknown) {
  return runUnderMocks(pulumi, STACK, async () => {
    components ??= {
      ...(await import("../components/app-instance.js")),
      ...(await import("../components/fleet-proxy.js")),
      ...(await import("../components/framework-image.js")),
      ...(await import("../components/fleet-dashboard.js")),
    };
    return init();
  });
}

beforeAll(async () => {
  pulumi = await import("@pulumi/pulumi");
  ({ runUnderMocks } = await import("../ops/commands/render.js"));
});

function spec(yaml: string, name = "homebrews"): InstanceSpec {
  const parsed = parseInstanceText(yaml, `${name}.yaml`, name);
  if (!parsed.spec) throw new Error(parsed.problems.join("\n"));
  return parsed.spec;
}

const NO_OPTIONS = {
  dependsOn: [],
  protect: false,
  retainOnDelete: false,
  deleteBeforeReplace: null,
  replaceOnChanges: [],
  ignoreChanges: [],
};

function resource(
  type: string,
  name: string,
  parent: string | null,
  inputs: Record<string, unknown>,
  options: Partial<RenderedResource["options"]> = {},
  dependencies: string[] = [],
): RenderedResource {
  return {
    type,
    name,
    parent,
    custom: !type.startsWith("fleet:"),
    inputs,
    options: { ...NO_OPTIONS, ...options },
    dependencies,
  };
}

const labels = (role: string, extra: Record<string, string> = {}) =>
  Object.entries({ "fleet.managed": "true", "fleet.role": role, "fleet.stack": "dev", ...extra })
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => ({ label, value }));

const HARDENING = {
  capabilities: { drops: ["ALL"] },
  cpus: "0.5",
  logDriver: "json-file",
  logOpts: { "max-file": "3", "max-size": "10m" },
  memory: 256,
  memorySwap: 256,
  readOnly: true,
  restart: "unless-stopped",
  securityOpts: ["no-new-privileges:true"],
  tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
  user: "10001:10001",
};

const VOLUMES = [
  { containerPath: "/data", volumeName: "fleet-dev-homebrews-data" },
  { containerPath: "/backups", volumeName: "fleet-dev-homebrews-backups" },
];

const IMAGE = "sha256:0123456789abcdef";
const PROXY = { containerName: "fleet-dev-proxy", adminPort: 2019, socketsVolume: "fleet-dev-sockets" };
const SOCKETS = { containerPath: "/sockets", volumeName: "fleet-dev-sockets" };

function appArgs(s: InstanceSpec, extra: Partial<AppInstanceModule.AppInstanceArgs> = {}) {
  return { stack: "dev", spec: s, version: s.version ?? "1.0.0", image: IMAGE, proxy: PROXY, ...extra };
}

describe("AppInstance", () => {
  test("defaults: every child with its exact inputs and options", async () => {
    const { resources, outputs } = await run(() => {
      const app = new components.AppInstance("homebrews", appArgs(spec("title: Homebrews\nport: 5001\n")));
      return { url: app.url, version: app.version, image: app.image, dataVolume: app.dataVolume, backups: app.backups };
    });
    expect(resources).toEqual([
      resource("fleet:index:AppInstance", "homebrews", null, {}),
      resource(
        "docker:index/volume:Volume",
        "homebrews-data",
        "homebrews",
        { labels: labels("data", { "fleet.instance": "homebrews" }), name: "fleet-dev-homebrews-data" },
        { retainOnDelete: true },
      ),
      resource(
        "docker:index/volume:Volume",
        "homebrews-backups",
        "homebrews",
        { labels: labels("backups", { "fleet.instance": "homebrews" }), name: "fleet-dev-homebrews-backups" },
        { retainOnDelete: true },
      ),
      resource("random:index/randomPassword:RandomPassword", "homebrews-admin-token", "homebrews", {
        length: 32,
        special: false,
      }),
      resource(
        "command:local:Command",
        "homebrews-pre-update-backup",
        "homebrews",
        {
          create: components.PRE_UPDATE_BACKUP_SCRIPT,
          environment: {
            FLEET_BACKUPS: "fleet-dev-homebrews-backups",
            FLEET_DATA_VOLUME: "fleet-dev-homebrews-data",
            FLEET_IMAGE: IMAGE,
            FLEET_INSTANCE: "homebrews",
            FLEET_STACK: "dev",
            FLEET_VERSION: "1.0.0",
          },
          triggers: ["1.0.0", IMAGE],
        },
        { replaceOnChanges: ["triggers[*]"] },
        ["homebrews-data", "homebrews-backups"],
      ),
      resource(
        "docker:index/container:Container",
        "homebrews-app",
        "homebrews",
        {
          ...HARDENING,
          envs: [
            "APP_NAME=homebrews",
            "APP_TITLE=Homebrews",
            "PORT=8080",
            "DATA_DIR=/data",
            "BACKUP_DIR=/backups",
            "APP_SOCKET_DIR=/sockets/homebrews",
            "[secret]",
          ],
          destroyGraceSeconds: 15,
          healthcheck: {
            interval: "2s",
            retries: 3,
            startPeriod: "10s",
            tests: components.HEALTH_PROBE,
            timeout: "3s",
          },
          image: IMAGE,
          labels: labels("app", { "fleet.instance": "homebrews", "fleet.version": "1.0.0" }),
          stopTimeout: 15,
          volumes: [...VOLUMES, SOCKETS],
          wait: true,
          waitTimeout: 35,
        },
        {
          dependsOn: ["homebrews-pre-update-backup"],
          retainOnDelete: true,
          deleteBeforeReplace: false,
          replaceOnChanges: ["*"],
          ignoreChanges: ["logOpts"],
        },
        ["homebrews-pre-update-backup", "homebrews-admin-token", "homebrews-data", "homebrews-backups"],
      ),
      resource(
        "docker:index/container:Container",
        "homebrews-backup",
        "homebrews",
        {
          ...HARDENING,
          command: ["node", "dist/cli.js", "backup", "schedule", "--cron", "0 3 * * *", "--keep", "14"],
          envs: ["APP_NAME=homebrews", "DATA_DIR=/data", "BACKUP_DIR=/backups"],
          healthcheck: {
            interval: "1m0s",
            retries: 3,
            startPeriod: "5s",
            tests: ["CMD", "test", "-w", "/backups"],
            timeout: "5s",
          },
          image: IMAGE,
          labels: labels("backup", { "fleet.instance": "homebrews", "fleet.version": "1.0.0" }),
          volumes: VOLUMES,
        },
        { dependsOn: ["homebrews-app"], ignoreChanges: ["logOpts"] },
        ["homebrews-app", "homebrews-data", "homebrews-backups"],
      ),
      resource(
        "command:local:Command",
        "homebrews-route",
        "homebrews",
        {
          create: ROUTE_UPSERT_SCRIPT,
          delete: ROUTE_DELETE_SCRIPT,
          environment: {
            FLEET_CONTAINER_ID: "<<homebrews-app.id>>",
            FLEET_INSTANCE: "homebrews",
            FLEET_PROXY: "fleet-dev-proxy",
            FLEET_PROXY_ADMIN_PORT: "2019",
            FLEET_RETIRE_LABELS: "fleet.managed=true fleet.stack=dev fleet.instance=homebrews fleet.role=app",
            FLEET_STOP_GRACE: "15",
            FLEET_SITE_BLOCK:
              "# fleet instance homebrews\n:5001 {\n\treverse_proxy unix//data/routes/homebrews.sock {\n" +
              "\t\tlb_try_duration 5s\n\t\ttransport http {\n\t\t\tkeepalive off\n\t\t}\n\t}\n}\n",
          },
          update: ROUTE_UPSERT_SCRIPT,
        },
        { replaceOnChanges: ["triggers[*]"] },
        ["homebrews-app"],
      ),
    ]);
    expect(outputs).toEqual({
      url: "http://localhost:5001",
      version: "1.0.0",
      image: IMAGE,
      dataVolume: "fleet-dev-homebrews-data",
      backups: "fleet-dev-homebrews-backups",
    });
  });

  test("backups off: no sidecar, backupJob undefined, everything else unchanged", async () => {
    let backupJob: unknown = "unset";
    const on = await run(() => new components.AppInstance("homebrews", appArgs(spec("port: 5001\n"))));
    const off = await run(() => {
      const app = new components.AppInstance("homebrews", appArgs(spec("port: 5001\nbackup:\n  enabled: false\n")));
      backupJob = app.backupJob;
    });
    expect(backupJob).toBeUndefined();
    expect(off.resources).toEqual(on.resources.filter((r) => r.name !== "homebrews-backup"));
  });

  test("custom schedule, resources and healthcheck reach the containers", async () => {
    const { resources } = await run(
      () =>
        new components.AppInstance(
          "homebrews",
          appArgs(
            spec(
              "port: 5001\nresources:\n  memory: 1g\n  cpus: 2\nhealthcheck:\n  interval: 60s\n  timeout: 1500ms\n" +
                '  startPeriod: 90s\n  retries: 5\nbackup:\n  schedule: "*/15 * * * *"\n  keep: 3\n',
            ),
          ),
        ),
    );
    const app = resources.find((r) => r.name === "homebrews-app")!;
    const sidecar = resources.find((r) => r.name === "homebrews-backup")!;
    // Friendly forms in the file, the provider's read-back forms in the inputs.
    expect([
      app.inputs["memory"],
      app.inputs["memorySwap"],
      app.inputs["cpus"],
      app.inputs["waitTimeout"],
      app.inputs["healthcheck"],
    ]).toEqual([
      1024,
      1024,
      "2.0",
      408,
      {
        interval: "1m0s",
        retries: 5,
        startPeriod: "1m30s",
        tests: components.HEALTH_PROBE,
        timeout: "1.5s",
      },
    ]);
    expect(sidecar.inputs["command"]).toEqual([
      "node",
      "dist/cli.js",
      "backup",
      "schedule",
      "--cron",
      "*/15 * * * *",
      "--keep",
      "3",
    ]);
  });

  test("a pinned instance labels, triggers and backs up with its own version", async () => {
    const { resources, outputs } = await run(() => {
      const app = new components.AppInstance("homebrews", appArgs(spec("port: 5001\nversion: 0.9.0\n")));
      return { version: app.version };
    });
    const byName = Object.fromEntries(resources.map((r) => [r.name, r]));
    expect(outputs).toEqual({ version: "0.9.0" });
    expect(byName["homebrews-pre-update-backup"]!.inputs["triggers"]).toEqual(["0.9.0", IMAGE]);
    expect(
      (byName["homebrews-pre-update-backup"]!.inputs["environment"] as Record<string, string>)["FLEET_VERSION"],
    ).toBe("0.9.0");
    for (const name of ["homebrews-app", "homebrews-backup"]) {
      expect(byName[name]!.inputs["labels"]).toEqual(
        labels(name.endsWith("app") ? "app" : "backup", { "fleet.instance": "homebrews", "fleet.version": "0.9.0" }),
      );
    }
  });

  test("secretEnv: values are secret, a given ADMIN_TOKEN replaces the generated one", async () => {
    let adminToken: unknown = "unset";
    const { resources } = await run(() => {
      const app = new components.AppInstance(
        "homebrews",
        appArgs(spec("port: 5001\nenv:\n  LOG_LEVEL: debug\n"), {
          secretEnv: { SMTP_PASSWORD: pulumi.secret("pw"), ADMIN_TOKEN: pulumi.secret("t".repeat(32)) },
        }),
      );
      adminToken = app.adminToken;
    });
    expect(adminToken).toBeUndefined();
    expect(resources.map((r) => r.name)).not.toContain("homebrews-admin-token");
    expect(resources.find((r) => r.name === "homebrews-app")!.inputs["envs"]).toEqual([
      "APP_NAME=homebrews",
      "APP_TITLE=homebrews",
      "PORT=8080",
      "DATA_DIR=/data",
      "BACKUP_DIR=/backups",
      "APP_SOCKET_DIR=/sockets/homebrews",
      "LOG_LEVEL=debug",
      "[secret]",
      "[secret]",
    ]);
  });

  test("notify: only the sidecar gets the stack and the URL, as a secret; nothing else changes", async () => {
    const url = "https://ntfy.sh/fleet-test-topic";
    const off = await run(() => new components.AppInstance("homebrews", appArgs(spec("port: 5001\n"))));
    const on = await run(() => new components.AppInstance("homebrews", appArgs(spec("port: 5001\n"), { notify: url })));
    const sidecar = on.resources.find((r) => r.name === "homebrews-backup")!;
    expect(sidecar.inputs["envs"]).toEqual([
      "APP_NAME=homebrews",
      "DATA_DIR=/data",
      "BACKUP_DIR=/backups",
      "FLEET_STACK=dev",
      "[secret]",
    ]);
    expect(JSON.stringify(on.resources)).not.toContain("fleet-test-topic");
    expect(on.resources.filter((r) => r.name !== "homebrews-backup")).toEqual(
      off.resources.filter((r) => r.name !== "homebrews-backup"),
    );
  });

  test("backupDir and dockerHost: a host directory instead of a volume, DOCKER_HOST for the commands", async () => {
    const { resources, outputs } = await run(() => {
      const app = new components.AppInstance(
        "homebrews",
        appArgs(spec("port: 5001\n"), { backupDir: "/srv/backups", dockerHost: "ssh://deploy@host" }),
      );
      return { backups: app.backups };
    });
    const byName = Object.fromEntries(resources.map((r) => [r.name, r]));
    expect(outputs).toEqual({ backups: "/srv/backups/homebrews" });
    expect(byName["homebrews-backups"]).toBeUndefined();
    expect(byName["homebrews-app"]!.inputs["volumes"]).toEqual([
      { containerPath: "/data", volumeName: "fleet-dev-homebrews-data" },
      { containerPath: "/backups", hostPath: "/srv/backups/homebrews" },
      SOCKETS,
    ]);
    for (const name of ["homebrews-pre-update-backup", "homebrews-route"]) {
      expect((byName[name]!.inputs["environment"] as Record<string, string>)["DOCKER_HOST"]).toBe("ssh://deploy@host");
    }
    expect(
      (byName["homebrews-pre-update-backup"]!.inputs["environment"] as Record<string, string>)["FLEET_BACKUPS"],
    ).toBe("/srv/backups/homebrews");
  });

  test("a domain: https URL and the domain in the site block", async () => {
    const { resources, outputs } = await run(() => {
      const app = new components.AppInstance("homebrews", appArgs(spec("port: 5001\ndomain: brews.example.com\n")));
      return { url: app.url };
    });
    expect(outputs).toEqual({ url: "https://brews.example.com" });
    expect(
      (resources.find((r) => r.name === "homebrews-route")!.inputs["environment"] as Record<string, string>)[
        "FLEET_SITE_BLOCK"
      ],
    ).toBe(
      "# fleet instance homebrews\n:5001, brews.example.com {\n" +
        "\treverse_proxy unix//data/routes/homebrews.sock {\n" +
        "\t\tlb_try_duration 5s\n\t\ttransport http {\n\t\t\tkeepalive off\n\t\t}\n\t}\n}\n",
    );
  });

  test("the health probe is bash's /dev/tcp, no language runtime; the stop grace outlasts the app's drain", () => {
    expect(components.HEALTH_PROBE).toEqual([
      "CMD",
      "bash",
      "-c",
      "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /api/health HTTP/1.0\\r\\n\\r\\n' >&3 && " +
        'read -r _ code _ <&3 && [ "$code" = 200 ] || { echo "GET /api/health: ${code:-no answer}"; exit 1; }',
    ]);
    expect(components.STOP_GRACE_SECONDS).toBe(15);
  });

  test("container options: create-first, replace on any change, wait for health, after the previous wave", async () => {
    const { resources } = await run(() => {
      const first = new components.AppInstance("alpha", appArgs(spec("port: 5001\n", "alpha")));
      new components.AppInstance("beta", appArgs(spec("port: 5002\n", "beta"), { after: [first.container] }));
    });
    const beta = resources.find((r) => r.name === "beta-app")!;
    // The backup runs right before the roll of its own instance, not at the start of the update.
    expect(resources.find((r) => r.name === "beta-pre-update-backup")!.options.dependsOn).toEqual(["alpha-app"]);
    expect(resources.find((r) => r.name === "alpha-pre-update-backup")!.options.dependsOn).toEqual([]);
    expect(beta.options).toEqual({
      dependsOn: ["beta-pre-update-backup", "alpha-app"],
      protect: false,
      retainOnDelete: true,
      deleteBeforeReplace: false,
      replaceOnChanges: ["*"],
      ignoreChanges: ["logOpts"],
    });
    // No published port: nothing Docker re-assigns at start, nothing reachable but through the proxy.
    expect([beta.inputs["wait"], beta.inputs["waitTimeout"], beta.inputs["name"], beta.inputs["ports"]]).toEqual([
      true,
      35,
      undefined,
      undefined,
    ]);
  });
});

describe("FrameworkImage", () => {
  const source = { kind: "build" as const, context: "app", revision: "abc123" };

  test("build mode: the stack version is built, a pinned one refers to its local tag", async () => {
    const { resources, outputs } = await run(() => {
      const image = new components.FrameworkImage("app", {
        version: "1.0.0",
        versions: ["1.0.0", "0.9.0", "1.0.0"],
        source,
      });
      return { refs: image.refs };
    });
    expect(resources).toEqual([
      resource("fleet:index:FrameworkImage", "app", null, {}),
      resource("docker:index/remoteImage:RemoteImage", "app-0.9.0", "app", {
        keepLocally: true,
        name: "fleet-app:0.9.0",
      }),
      resource("docker:index/image:Image", "app-1.0.0", "app", {
        build: {
          args: { REVISION: "abc123", VERSION: "1.0.0" },
          builderVersion: "BuilderV1",
          context: "app",
          dockerfile: "app/Dockerfile",
        },
        buildOnPreview: false,
        imageName: "fleet-app:1.0.0",
        skipPush: true,
      }),
    ]);
    expect(outputs).toEqual({ refs: { "0.9.0": "<<app-0.9.0.imageId>>", "1.0.0": "<<app-1.0.0.repoDigest>>" } });
  });

  test("registry mode: every version is pulled and pinned by digest", async () => {
    const { resources, outputs } = await run(() => {
      const image = new components.FrameworkImage("app", {
        version: "1.0.0",
        versions: ["1.0.0", "0.9.0"],
        source: { kind: "registry", repository: "ghcr.io/acme/fleet-app" },
      });
      return { refs: image.refs };
    });
    expect(resources.map((r) => [r.type, r.name, r.inputs])).toEqual([
      ["fleet:index:FrameworkImage", "app", {}],
      [
        "docker:index/remoteImage:RemoteImage",
        "app-0.9.0",
        { keepLocally: true, name: "ghcr.io/acme/fleet-app:0.9.0" },
      ],
      [
        "docker:index/remoteImage:RemoteImage",
        "app-1.0.0",
        { keepLocally: true, name: "ghcr.io/acme/fleet-app:1.0.0" },
      ],
    ]);
    expect(outputs).toEqual({ refs: { "0.9.0": "<<app-0.9.0.repoDigest>>", "1.0.0": "<<app-1.0.0.repoDigest>>" } });
  });

  test("ref() of an undeclared version fails", async () => {
    await expect(
      run(() => new components.FrameworkImage("app", { version: "1.0.0", versions: ["1.0.0"], source }).ref("2.0.0")),
    ).rejects.toThrow("no image for version 2.0.0");
  });
});

describe("FleetProxy", () => {
  test("Caddy on the host network with a fixed name, a retained data volume and the main Caddyfile", async () => {
    const { resources, outputs } = await run(() => {
      const proxy = new components.FleetProxy("proxy", { stack: "dev", image: "caddy:2", adminPort: 2019 });
      return { containerName: proxy.containerName };
    });
    expect(resources).toEqual([
      resource("fleet:index:FleetProxy", "proxy", null, {}),
      resource("docker:index/remoteImage:RemoteImage", "proxy-image", "proxy", { keepLocally: true, name: "caddy:2" }),
      resource(
        "docker:index/volume:Volume",
        "proxy-data",
        "proxy",
        { labels: labels("data"), name: "fleet-dev-proxy-data" },
        { retainOnDelete: true },
      ),
      resource("docker:index/volume:Volume", "proxy-sockets", "proxy", {
        driver: "local",
        driverOpts: { device: "tmpfs", o: "mode=1777", type: "tmpfs" },
        labels: labels("sockets"),
        name: "fleet-dev-sockets",
      }),
      resource(
        "docker:index/container:Container",
        "proxy",
        "proxy",
        {
          command: ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"],
          envs: ["XDG_CONFIG_HOME=/config", "XDG_DATA_HOME=/data"],
          image: "<<proxy-image.imageId>>",
          labels: labels("proxy"),
          logDriver: "json-file",
          logOpts: { "max-file": "3", "max-size": "10m" },
          name: "fleet-dev-proxy",
          networkMode: "host",
          restart: "unless-stopped",
          uploads: [
            {
              content:
                "# Managed by fleet. Global options; each instance's site is a file in /data/sites.\n{\n" +
                "\tadmin 127.0.0.1:2019\n}\n\nimport /data/sites/*.caddy\n",
              file: "/etc/caddy/Caddyfile",
            },
          ],
          volumes: [
            { containerPath: "/data", volumeName: "fleet-dev-proxy-data" },
            { containerPath: "/sockets", readOnly: true, volumeName: "fleet-dev-sockets" },
          ],
        },
        { ignoreChanges: ["logOpts"] },
        ["proxy-image", "proxy-data", "proxy-sockets"],
      ),
    ]);
    expect(outputs).toEqual({ containerName: "fleet-dev-proxy" });
  });
});

describe("FleetDashboard", () => {
  test("the app image in dashboard mode on the sockets volume only, create-first, routed like an instance", async () => {
    const { resources, outputs } = await run(() => {
      const d = new components.FleetDashboard("dashboard", {
        stack: "dev",
        port: 5090,
        image: IMAGE,
        version: "1.0.0",
        instances: [
          {
            name: "homebrews",
            title: "HomeBrews",
            version: "1.0.0",
            route: ":5001",
            backupSchedule: "0 3 * * *",
            statusToken: pulumi.secret("s".repeat(32)),
          },
        ],
        proxy: PROXY,
      });
      return { url: d.url, token: d.token };
    });
    expect(resources.map((r) => [r.type, r.name, r.parent])).toEqual([
      ["fleet:index:FleetDashboard", "dashboard", null],
      ["random:index/randomPassword:RandomPassword", "dashboard-token", "dashboard"],
      ["docker:index/container:Container", "dashboard-app", "dashboard"],
      ["command:local:Command", "dashboard-route", "dashboard"],
    ]);
    const container = resources.find((r) => r.name === "dashboard-app")!;
    expect(container.inputs).toEqual({
      image: IMAGE,
      command: ["node", "dist/dashboard-server.js"],
      envs: [
        "PORT=8080",
        "APP_SOCKET_DIR=/sockets/_dashboard",
        "DASHBOARD_SOCKETS_DIR=/sockets",
        "FLEET_STACK=dev",
        'DASHBOARD_INSTANCES=[{"name":"homebrews","title":"HomeBrews","version":"1.0.0","route":":5001","backupSchedule":"0 3 * * *"}]',
        "[secret]",
        "[secret]",
      ],
      volumes: [SOCKETS],
      healthcheck: {
        tests: components.HEALTH_PROBE,
        interval: "5s",
        timeout: "3s",
        startPeriod: "10s",
        retries: 3,
      },
      wait: true,
      waitTimeout: 60,
      labels: labels("dashboard", { "fleet.version": "1.0.0" }),
      destroyGraceSeconds: 15,
      stopTimeout: 15,
      ...HARDENING,
      tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
      memory: 128,
      memorySwap: 128,
      cpus: "0.25",
    });
    // Nothing root-equivalent: no Docker socket, no host network, no privileges, no host path.
    expect(JSON.stringify(container.inputs)).not.toMatch(/docker\.sock|networkMode|privileged|hostPath/);
    expect(container.options).toMatchObject({
      deleteBeforeReplace: false,
      replaceOnChanges: ["*"],
      retainOnDelete: true,
    });
    const route = resources.find((r) => r.name === "dashboard-route")!;
    expect((route.inputs["environment"] as Record<string, string>)["FLEET_INSTANCE"]).toBe("_dashboard");
    // The route retires the dashboard's old containers (proxy-config.ts retire): only the dashboard's.
    expect((route.inputs["environment"] as Record<string, string>)["FLEET_RETIRE_LABELS"]).toBe(
      "fleet.managed=true fleet.stack=dev fleet.role=dashboard",
    );
    expect((route.inputs["environment"] as Record<string, string>)["FLEET_SITE_BLOCK"]).toContain(
      ":5090 {\n\treverse_proxy unix//data/routes/_dashboard.sock {",
    );
    expect(outputs).toEqual({ url: "http://localhost:5090", token: "[secret]" });
  });

  test("statusToken: the instance gets a generated STATUS_TOKEN, a secret; off, nothing changes", async () => {
    const off = await run(() => new components.AppInstance("homebrews", appArgs(spec("port: 5001\n"))));
    const on = await run(
      () => new components.AppInstance("homebrews", appArgs(spec("port: 5001\n"), { statusToken: true })),
    );
    expect(on.resources.map((r) => r.name)).toEqual([
      ...off.resources.map((r) => r.name).slice(0, 4),
      "homebrews-status-token",
      ...off.resources.map((r) => r.name).slice(4),
    ]);
    const envs = (r: typeof on) => r.resources.find((x) => x.name === "homebrews-app")!.inputs["envs"] as string[];
    expect(envs(on)).toEqual([...envs(off), "[secret]"]);
  });
});
