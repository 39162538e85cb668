/**
 * The swarm target's component under Pulumi mocks: the exact children, the service's inputs and
 * options, and secrets named by their content.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, test } from "vitest";
import type * as PulumiModule from "@pulumi/pulumi";
import type { RenderedResource, runUnderMocks as RunUnderMocks } from "../ops/commands/render";
import type * as SwarmModule from "../components/swarm-instance";
import { parseInstanceText } from "../components/fleet";
import { HEALTH_PROBE } from "../components/instance-inputs";
import type { InstanceSpec } from "../components/spec";

let pulumi: typeof PulumiModule;
let runUnderMocks: typeof RunUnderMocks;
let swarm: typeof SwarmModule;

const STACK = { project: "fleet", stack: "dev", config: {}, secretKeys: [] };
const IMAGE = "127.0.0.1:5000/fleet-app@sha256:0123456789abcdef";

beforeAll(async () => {
  pulumi = await import("@pulumi/pulumi");
  ({ runUnderMocks } = await import("../ops/commands/render.js"));
});

async function run(init: () => unknown) {
  return runUnderMocks(pulumi, STACK, async () => {
    swarm ??= await import("../components/swarm-instance.js");
    return init();
  });
}

function spec(yaml: string, name = "homebrews"): InstanceSpec {
  const parsed = parseInstanceText(yaml, `${name}.yaml`, name);
  if (!parsed.spec) throw new Error(parsed.problems.join("\n"));
  return parsed.spec;
}

const args = (s: InstanceSpec, extra: Partial<SwarmModule.SwarmInstanceArgs> = {}) => ({
  stack: "dev",
  spec: s,
  version: "1.0.0",
  image: IMAGE,
  node: "node-1",
  ...extra,
});

const labels = (role: string, extra: Record<string, string> = {}) =>
  Object.entries({ "fleet.managed": "true", "fleet.role": role, "fleet.stack": "dev", ...extra })
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => ({ label, value }));

const find = (resources: RenderedResource[], name: string) => {
  const found = resources.find((r) => r.name === name);
  if (!found) throw new Error(`no ${name}`);
  return found;
};

const sha12 = (v: string) => createHash("sha256").update(v).digest("hex").slice(0, 12);
const TOKEN = "t".repeat(32);

describe("SwarmInstance", () => {
  test("children: secrets, pre-update backup job, the service, the convergence check, the backup service", async () => {
    const { resources } = await run(() => new swarm.SwarmInstance("homebrews", args(spec("port: 5001\n"))));
    expect(resources.map((r) => [r.type, r.name, r.parent])).toEqual([
      ["fleet:index:SwarmInstance", "homebrews", null],
      ["random:index/randomPassword:RandomPassword", "homebrews-admin-token", "homebrews"],
      ["docker:index/secret:Secret", "homebrews-secret-admin-token", "homebrews"],
      ["command:local:Command", "homebrews-pre-update-backup", "homebrews"],
      ["docker:index/service:Service", "homebrews-service", "homebrews"],
      ["command:local:Command", "homebrews-converged", "homebrews"],
      ["docker:index/service:Service", "homebrews-backup-service", "homebrews"],
    ]);
    // No docker.Volume: a volume is local to a node; the services' mounts create it there.
    expect(resources.filter((r) => r.type === "docker:index/volume:Volume")).toEqual([]);
  });

  test("the app service: one replica pinned to its node, start-first with rollback, spec limits and healthcheck", async () => {
    const { resources } = await run(
      () =>
        new swarm.SwarmInstance(
          "homebrews",
          args(spec("title: Homebrews\nport: 5001\nresources: {memory: 512m, cpus: 1.5}\nenv: {LOG_LEVEL: debug}\n"), {
            secretEnv: { ADMIN_TOKEN: pulumi.secret(TOKEN) },
          }),
        ),
    );
    const service = find(resources, "homebrews-service");
    const volumeMount = (source: string, target: string, role: string) => ({
      source,
      target,
      type: "volume",
      volumeOptions: { labels: labels(role, { "fleet.instance": "homebrews" }) },
    });
    const update = {
      delay: "0s",
      failureAction: "rollback",
      maxFailureRatio: "0.0",
      monitor: "25s",
      order: "start-first",
      parallelism: 1,
    };
    expect(service.inputs).toEqual({
      name: "fleet-dev-homebrews",
      labels: labels("app", { "fleet.instance": "homebrews", "fleet.node": "node-1", "fleet.version": "1.0.0" }),
      mode: { replicated: { replicas: 1 } },
      taskSpec: {
        containerSpec: {
          image: IMAGE,
          env: {
            APP_NAME: "homebrews",
            APP_TITLE: "Homebrews",
            PORT: "8080",
            DATA_DIR: "/data",
            BACKUP_DIR: "/backups",
            LOG_LEVEL: "debug",
            ADMIN_TOKEN_FILE: "/run/secrets/ADMIN_TOKEN",
          },
          labels: labels("app", { "fleet.instance": "homebrews", "fleet.version": "1.0.0" }),
          mounts: [
            volumeMount("fleet-dev-homebrews-data", "/data", "data"),
            volumeMount("fleet-dev-homebrews-backups", "/backups", "backups"),
            { target: "/tmp", tmpfsOptions: { sizeBytes: 67108864 }, type: "tmpfs" },
          ],
          secrets: [
            {
              fileGid: "10001",
              fileMode: 0o400,
              fileName: "ADMIN_TOKEN",
              fileUid: "10001",
              secretId: "<<homebrews-secret-admin-token.id>>",
              secretName: `fleet-dev-homebrews-admin-token-${sha12(TOKEN)}`,
            },
          ],
          // Durations in the form the provider's Read stores them (shortDur): 10s stays 10s.
          healthcheck: { tests: HEALTH_PROBE, interval: "2s", timeout: "3s", startPeriod: "10s", retries: 3 },
          user: "10001:10001",
          readOnly: true,
          capDrops: ["ALL"],
          stopGracePeriod: "15s",
        },
        resources: {
          limits: { nanoCpus: 1_500_000_000, memoryBytes: 512 * 1024 * 1024 },
          reservation: { nanoCpus: 0, memoryBytes: 512 * 1024 * 1024 },
        },
        restartPolicy: { condition: "any", delay: "5s", maxAttempts: 0, window: "0s" },
        placement: { constraints: ["node.hostname==node-1"] },
        logDriver: { name: "json-file", options: { "max-file": "3", "max-size": "10m" } },
      },
      endpointSpec: {
        mode: "vip",
        ports: [{ name: "", protocol: "tcp", publishMode: "ingress", publishedPort: 5001, targetPort: 8080 }],
      },
      // monitor: 10 s start period + 3 x (2 s + 3 s) = 25 s, the time the probe needs to call a task unhealthy.
      updateConfig: update,
      rollbackConfig: { ...update, failureAction: "pause" },
      // 4 x 25 s + 60 s.
      convergeConfig: { delay: "7s", timeout: "2m40s" },
    });
    expect(service.options.dependsOn).toEqual(["homebrews-pre-update-backup"]);
    expect(service.options.deleteBeforeReplace).toBe(null);
    expect(service.options.replaceOnChanges).toEqual([]);
  });

  test("host publishing stops the old task first (two tasks cannot bind one node's port)", async () => {
    const { resources } = await run(
      () => new swarm.SwarmInstance("homebrews", args(spec("port: 5001\n"), { publishMode: "host" })),
    );
    const inputs = find(resources, "homebrews-service").inputs as Record<string, Record<string, unknown>>;
    expect(inputs["updateConfig"]!["order"]).toBe("stop-first");
    expect(inputs["rollbackConfig"]!["order"]).toBe("stop-first");
    expect(inputs["endpointSpec"]!["ports"]).toEqual([
      { name: "", protocol: "tcp", publishMode: "host", publishedPort: 5001, targetPort: 8080 },
    ]);
  });

  test("the pre-update backup runs on the instance's node before the service, and re-runs for a new version, image or node", async () => {
    const { resources } = await run(
      () => new swarm.SwarmInstance("homebrews", args(spec("port: 5001\n"), { dockerHost: "ssh://deploy@manager" })),
    );
    const backup = find(resources, "homebrews-pre-update-backup");
    expect(backup.inputs).toEqual({
      create: swarm.SWARM_PRE_UPDATE_BACKUP_SCRIPT,
      triggers: ["1.0.0", IMAGE, "node-1"],
      environment: {
        DOCKER_HOST: "ssh://deploy@manager",
        FLEET_STACK: "dev",
        FLEET_INSTANCE: "homebrews",
        FLEET_SERVICE: "fleet-dev-homebrews",
        FLEET_NODE: "node-1",
        FLEET_VERSION: "1.0.0",
        FLEET_IMAGE: IMAGE,
        // The job may create the volumes on the node: with the labels the services give them.
        FLEET_DATA_MOUNT:
          "type=volume,src=fleet-dev-homebrews-data,volume-label=fleet.instance=homebrews," +
          "volume-label=fleet.managed=true,volume-label=fleet.role=data,volume-label=fleet.stack=dev",
        FLEET_BACKUPS_MOUNT:
          "type=volume,src=fleet-dev-homebrews-backups,volume-label=fleet.instance=homebrews," +
          "volume-label=fleet.managed=true,volume-label=fleet.role=backups,volume-label=fleet.stack=dev",
      },
    });
    expect(backup.options.replaceOnChanges).toEqual(["triggers[*]"]);
    const converged = find(resources, "homebrews-converged");
    expect(converged.inputs["create"]).toBe(swarm.SWARM_CONVERGED_SCRIPT);
    expect(converged.inputs["triggers"]).toEqual(["1.0.0", IMAGE]);
    expect(converged.options.dependsOn).toEqual(["homebrews-service"]);
  });

  test("the backup service: same node, same volumes, the schedule from the file, stop-first", async () => {
    const { resources } = await run(
      () =>
        new swarm.SwarmInstance(
          "homebrews",
          args(spec("port: 5001\nbackup: {schedule: '0 4 * * *', keep: 3}\n"), { backupDir: "/srv/backups" }),
        ),
    );
    const sidecar = find(resources, "homebrews-backup-service").inputs as {
      taskSpec: { containerSpec: Record<string, unknown>; placement: unknown };
      updateConfig: Record<string, unknown>;
    };
    expect(sidecar.taskSpec.placement).toEqual({ constraints: ["node.hostname==node-1"] });
    expect(sidecar.taskSpec.containerSpec["args"]).toEqual([
      "node",
      "dist/cli.js",
      "backup",
      "schedule",
      "--cron",
      "0 4 * * *",
      "--keep",
      "3",
    ]);
    expect(sidecar.taskSpec.containerSpec["env"]).toEqual({
      APP_NAME: "homebrews",
      DATA_DIR: "/data",
      BACKUP_DIR: "/backups",
    });
    expect((sidecar.taskSpec.containerSpec["mounts"] as unknown[])[1]).toEqual({
      source: "/srv/backups/homebrews",
      target: "/backups",
      type: "bind",
    });
    expect(sidecar.updateConfig["order"]).toBe("stop-first");
    expect(sidecar.updateConfig["failureAction"]).toBe("pause");
    expect(sidecar.taskSpec.containerSpec["healthcheck"]).toEqual({
      tests: ["CMD", "test", "-w", "/backups"],
      interval: "1m",
      timeout: "5s",
      startPeriod: "5s",
      retries: 3,
    });
  });

  test("statusToken and notify: a STATUS_TOKEN secret for the app, the notify URL a secret of the backup service only", async () => {
    const url = "https://ntfy.sh/fleet-alerts";
    const { resources } = await run(
      () =>
        new swarm.SwarmInstance(
          "homebrews",
          args(spec("port: 5001\n"), { statusToken: true, notify: pulumi.secret(url) }),
        ),
    );
    expect(resources.map((r) => [r.type, r.name])).toEqual([
      ["fleet:index:SwarmInstance", "homebrews"],
      ["random:index/randomPassword:RandomPassword", "homebrews-admin-token"],
      ["random:index/randomPassword:RandomPassword", "homebrews-status-token"],
      ["docker:index/secret:Secret", "homebrews-secret-admin-token"],
      ["docker:index/secret:Secret", "homebrews-secret-status-token"],
      ["command:local:Command", "homebrews-pre-update-backup"],
      ["docker:index/service:Service", "homebrews-service"],
      ["command:local:Command", "homebrews-converged"],
      ["docker:index/secret:Secret", "homebrews-backup-service-secret-notify-url"],
      ["docker:index/service:Service", "homebrews-backup-service"],
    ]);
    const containerSpec = (name: string) =>
      (find(resources, name).inputs as { taskSpec: { containerSpec: Record<string, unknown> } }).taskSpec.containerSpec;
    expect(containerSpec("homebrews-service")["env"]).toEqual({
      APP_NAME: "homebrews",
      APP_TITLE: "homebrews",
      PORT: "8080",
      DATA_DIR: "/data",
      BACKUP_DIR: "/backups",
      ADMIN_TOKEN_FILE: "/run/secrets/ADMIN_TOKEN",
      STATUS_TOKEN_FILE: "/run/secrets/STATUS_TOKEN",
    });
    expect(containerSpec("homebrews-backup-service")["env"]).toEqual({
      APP_NAME: "homebrews",
      DATA_DIR: "/data",
      BACKUP_DIR: "/backups",
      FLEET_STACK: "dev",
      NOTIFY_URL_FILE: "/run/secrets/NOTIFY_URL",
    });
    const notify = find(resources, "homebrews-backup-service-secret-notify-url").inputs;
    expect(notify["name"]).toBe(`fleet-dev-homebrews-backup-notify-url-${sha12(url)}`);
    expect(notify["data"]).toBe("[secret]");
    expect(containerSpec("homebrews-backup-service")["secrets"]).toEqual([
      {
        secretId: expect.any(String),
        secretName: `fleet-dev-homebrews-backup-notify-url-${sha12(url)}`,
        fileName: "NOTIFY_URL",
        fileUid: "10001",
        fileGid: "10001",
        fileMode: 0o400,
      },
    ]);
  });

  test("backup.enabled false: no backup service", async () => {
    const { resources } = await run(
      () => new swarm.SwarmInstance("homebrews", args(spec("port: 5001\nbackup: {enabled: false}\n"))),
    );
    expect(resources.some((r) => r.name === "homebrews-backup-service")).toBe(false);
  });
});

describe("secrets named by content", () => {
  test.each([
    ["fleet-dev-blog", "ADMIN_TOKEN", TOKEN, `fleet-dev-blog-admin-token-${sha12(TOKEN)}`],
    ["fleet-dev-blog", "SMTP_PASSWORD", "pw", `fleet-dev-blog-smtp-password-${sha12("pw")}`],
  ])("secretDockerName(%s, %s, ...) is %s", async (service, key, value, expected) => {
    swarm ??= await import("../components/swarm-instance.js");
    expect(swarm.secretDockerName(service, key, value)).toBe(expected);
  });

  test("every secretEnv value is a Swarm secret named by its hash, read by the app as NAME_FILE; a new value is a new name", async () => {
    const render = (password: string) =>
      run(
        () =>
          new swarm.SwarmInstance(
            "homebrews",
            args(spec("port: 5001\n"), {
              secretEnv: { SMTP_PASSWORD: pulumi.secret(password), ADMIN_TOKEN: pulumi.secret(TOKEN) },
            }),
          ),
      );
    const first = await render("pw-1");
    const second = await render("pw-2");
    const secretsOf = (r: { resources: RenderedResource[] }) =>
      r.resources.filter((x) => x.type === "docker:index/secret:Secret").map((x) => [x.name, x.inputs["name"]]);
    expect(secretsOf(first)).toEqual([
      ["homebrews-secret-admin-token", `fleet-dev-homebrews-admin-token-${sha12(TOKEN)}`],
      ["homebrews-secret-smtp-password", `fleet-dev-homebrews-smtp-password-${sha12("pw-1")}`],
    ]);
    expect(secretsOf(second)).toEqual([
      ["homebrews-secret-admin-token", `fleet-dev-homebrews-admin-token-${sha12(TOKEN)}`],
      ["homebrews-secret-smtp-password", `fleet-dev-homebrews-smtp-password-${sha12("pw-2")}`],
    ]);
    // The data is the value, base64 (the provider decodes it: resourceDockerSecretCreate), and secret.
    expect(find(first.resources, "homebrews-secret-smtp-password").inputs["data"]).toBe("[secret]");
    expect(first.resources.some((r) => r.type === "random:index/randomPassword:RandomPassword")).toBe(false);
    const env = (find(first.resources, "homebrews-service").inputs as { taskSpec: { containerSpec: { env: object } } })
      .taskSpec.containerSpec.env;
    expect(env).toMatchObject({
      ADMIN_TOKEN_FILE: "/run/secrets/ADMIN_TOKEN",
      SMTP_PASSWORD_FILE: "/run/secrets/SMTP_PASSWORD",
    });
    expect(Object.keys(env)).not.toContain("SMTP_PASSWORD");
  });
});
