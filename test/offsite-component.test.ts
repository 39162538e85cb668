/** The off-site copier under Pulumi mocks, and `fleet:offsite` in the stack config: exact children, inputs, secrets, errors. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type * as PulumiModule from "@pulumi/pulumi";
import type { runUnderMocks as RunUnderMocks } from "../ops/commands/render";
import type * as OffsiteModule from "../components/offsite";
import { parseInstanceText } from "../components/fleet";
import { parseStackConfig } from "../components/spec";
import { readStackFiles, StackConfigError } from "../components/stack-config";

let pulumi: typeof PulumiModule;
let runUnderMocks: typeof RunUnderMocks;
let offsite: typeof OffsiteModule;

const STACK = { project: "fleet", stack: "dev", config: {}, secretKeys: [] };

async function run(init: () => unknown) {
  return runUnderMocks(pulumi, STACK, async () => {
    offsite ??= await import("../components/offsite.js");
    return init();
  });
}

beforeAll(async () => {
  pulumi = await import("@pulumi/pulumi");
  ({ runUnderMocks } = await import("../ops/commands/render.js"));
});

const labels = [
  { label: "fleet.managed", value: "true" },
  { label: "fleet.role", value: "offsite" },
  { label: "fleet.stack", value: "dev" },
];

function config(offsiteJson: object) {
  return parseStackConfig({ version: "1.0.0", offsite: JSON.stringify(offsiteJson) }).offsite!;
}

const HARDENED = {
  user: "10001:10001",
  readOnly: true,
  capabilities: { drops: ["ALL"] },
  securityOpts: ["no-new-privileges:true"],
  restart: "unless-stopped",
  logDriver: "json-file",
  logOpts: { "max-file": "3", "max-size": "10m" },
  tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
  memory: 512,
  memorySwap: 512,
  destroyGraceSeconds: 30,
  stopTimeout: 30,
};

describe("OffsiteCopier", () => {
  test("sftp: the image built on the app image, a cache volume, one container with every instance's backups", async () => {
    const { resources } = await run(
      () =>
        new offsite.OffsiteCopier("offsite", {
          stack: "dev",
          config: config({
            repository: "sftp:restic@backup.example.com:/srv/restic/fleet",
            password: "pw-0123456789",
            sshKey: "KEY-CONTENT",
            knownHosts: "backup.example.com ssh-ed25519 AAAA",
            env: { B_VAR: "b", A_VAR: "a" },
          }),
          appImageTag: "fleet-app:1.0.0",
          appImage: "sha256:0123",
          instances: [
            { name: "projects", backups: "fleet-dev-projects-backups", hostDir: false },
            { name: "homebrews", backups: "fleet-dev-homebrews-backups", hostDir: false },
          ],
        }),
    );
    expect(resources.map((r) => [r.type, r.name, r.parent, r.options.ignoreChanges])).toEqual([
      ["fleet:index:OffsiteCopier", "offsite", null, []],
      ["docker:index/image:Image", "offsite-image", "offsite", []],
      ["docker:index/volume:Volume", "offsite-cache", "offsite", []],
      ["docker:index/container:Container", "offsite", "offsite", ["logOpts"]],
    ]);
    expect(resources[1]!.inputs).toEqual({
      build: {
        args: { APP_IMAGE: "fleet-app:1.0.0", APP_IMAGE_REF: "sha256:0123" },
        builderVersion: "BuilderV1",
        context: "app/offsite",
        dockerfile: "app/offsite/Dockerfile",
      },
      buildOnPreview: false,
      imageName: "fleet-app-offsite:1.0.0",
      skipPush: true,
    });
    expect(resources[2]!.inputs).toEqual({ labels, name: "fleet-dev-offsite-cache" });
    expect(resources[3]!.inputs).toEqual({
      name: "fleet-dev-offsite",
      hostname: "fleet-dev-offsite",
      image: "<<offsite-image.repoDigest>>",
      command: ["node", "dist/cli.js", "offsite", "run"],
      envs: [
        "RESTIC_REPOSITORY=sftp:restic@backup.example.com:/srv/restic/fleet",
        "[secret]",
        "OFFSITE_INSTANCES=homebrews,projects",
        "OFFSITE_KEEP_DAILY=7",
        "OFFSITE_KEEP_WEEKLY=4",
        "OFFSITE_KEEP_MONTHLY=12",
        "OFFSITE_INTERVAL_SECONDS=60",
        "OFFSITE_CHECK_CRON=0 4 * * 0",
        "OFFSITE_PRUNE_CRON=30 4 * * *",
        "[secret]",
        "[secret]",
        "[secret]",
        "OFFSITE_KNOWN_HOSTS=backup.example.com ssh-ed25519 AAAA",
      ],
      volumes: [
        { containerPath: "/state", volumeName: "fleet-dev-offsite-cache" },
        { containerPath: "/backups/homebrews", volumeName: "fleet-dev-homebrews-backups" },
        { containerPath: "/backups/projects", volumeName: "fleet-dev-projects-backups" },
      ],
      healthcheck: {
        tests: ["CMD", "node", "dist/cli.js", "offsite", "health"],
        interval: "1m0s",
        timeout: "30s",
        startPeriod: "5m0s",
        retries: 1,
      },
      labels,
      ...HARDENED,
    });
    expect(JSON.stringify(resources)).not.toMatch(/pw-0123456789|KEY-CONTENT|A_VAR|B_VAR/);
  });

  test("a local-path repository is mounted at its own path; host-dir backups are bind mounts; a given image is not built", async () => {
    const { resources } = await run(
      () =>
        new offsite.OffsiteCopier("offsite", {
          stack: "dev",
          config: config({ repository: "/srv/restic-fleet", password: "pw", image: "registry.example/offsite:1" }),
          appImageTag: "fleet-app:1.0.0",
          appImage: "sha256:0123",
          instances: [{ name: "homebrews", backups: "/srv/fleet-backups/homebrews", hostDir: true }],
        }),
    );
    expect(resources.map((r) => r.type)).toEqual([
      "fleet:index:OffsiteCopier",
      "docker:index/volume:Volume",
      "docker:index/container:Container",
    ]);
    expect([resources[2]!.inputs["image"], resources[2]!.inputs["volumes"]]).toEqual([
      "registry.example/offsite:1",
      [
        { containerPath: "/state", volumeName: "fleet-dev-offsite-cache" },
        { containerPath: "/backups/homebrews", hostPath: "/srv/fleet-backups/homebrews" },
        { containerPath: "/srv/restic-fleet", hostPath: "/srv/restic-fleet" },
      ],
    ]);
  });

  test("fleet:notify reaches the container as the stack's name and a secret URL; without it, neither", async () => {
    const envsWith = async (notify?: string) => {
      const { resources } = await run(
        () =>
          new offsite.OffsiteCopier("offsite", {
            stack: "dev",
            config: config({ repository: "/srv/restic-fleet", password: "pw" }),
            appImageTag: "fleet-app:1.0.0",
            appImage: "sha256:0123",
            instances: [{ name: "homebrews", backups: "fleet-dev-homebrews-backups", hostDir: false }],
            ...(notify !== undefined ? { notify } : {}),
          }),
      );
      expect(JSON.stringify(resources)).not.toContain("ntfy.example");
      return (resources[3]!.inputs["envs"] as string[]).slice(-3);
    };
    expect(await envsWith("https://ntfy.example/fleet-alerts")).toEqual([
      "OFFSITE_PRUNE_CRON=30 4 * * *",
      "FLEET_STACK=dev",
      "[secret]",
    ]);
    expect(await envsWith()).toEqual([
      "OFFSITE_INTERVAL_SECONDS=60",
      "OFFSITE_CHECK_CRON=0 4 * * 0",
      "OFFSITE_PRUNE_CRON=30 4 * * *",
    ]);
  });
});

describe("fleet:offsite in the stack config", () => {
  test("defaults", () => {
    expect(config({ repository: "s3:s3.amazonaws.com/b/fleet", password: "pw" })).toEqual({
      repository: "s3:s3.amazonaws.com/b/fleet",
      password: "pw",
      keepDaily: 7,
      keepWeekly: 4,
      keepMonthly: 12,
      intervalSeconds: 60,
      check: "0 4 * * 0",
      prune: "30 4 * * *",
      env: {},
    });
    expect(parseStackConfig({ version: "1.0.0" }).offsite).toBeUndefined();
  });

  test.each([
    [
      { repository: "ftp://x", password: "pw" },
      'fleet:offsite.repository: expected a restic repository: an absolute host path, sftp:user@host:/path, s3:host/bucket/path or rest:https://..., got "ftp://x"',
    ],
    [
      { repository: "/r" },
      "fleet:offsite.password: required: the repository password, as a secret: pulumi config set --secret --path fleet:offsite.password <password>",
    ],
    [
      { repository: "/r", password: 12345 },
      "fleet:offsite.password: expected the repository password, as a secret: pulumi config set --secret --path fleet:offsite.password <password>",
    ],
    [
      { repository: "sftp:u@h:/r", password: "pw", knownHosts: "h ssh-ed25519 AAAA" },
      "fleet:offsite.sshKey: required for an sftp: repository: sshKey (the private key, a secret) and knownHosts (the server's ssh-keyscan line); see docs/backups.md",
    ],
    [
      { repository: "/r", password: "pw", keepDaily: -1 },
      "fleet:offsite.keepDaily: expected an integer 0-3650, got -1",
    ],
    [
      { repository: "/r", password: "pw", check: "weekly" },
      'fleet:offsite.check: expected a cron expression such as "0 4 * * 0", got "weekly"',
    ],
    [
      { repository: "/r", password: "pw", env: { aws_key: "x" } },
      'fleet:offsite.env.aws_key: expected an upper-snake-case name such as AWS_ACCESS_KEY_ID, got "aws_key"',
    ],
    [{ repository: "/r", password: "pw", bucket: "x" }, 'fleet:offsite: Unrecognized key: "bucket"'],
  ])("%j is refused with a message that never shows a secret", (value, message) => {
    expect(() => config(value)).toThrow(new StackConfigError([message]));
  });

  test("a plaintext password, SSH key or restic env value in the stack file is refused, and never shown", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-offsite-config-"));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.copyFileSync(path.join(__dirname, "..", "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.prod.yaml"),
      [
        "config:",
        "  fleet:version: 1.0.0",
        "  fleet:offsite:",
        "    repository: sftp:restic@backup.example.com:/srv/restic",
        "    password: hunter2",
        "    sshKey:",
        "      secure: v1:abc",
        "    knownHosts: backup.example.com ssh-ed25519 AAAA",
        "    env:",
        "      AWS_SECRET_ACCESS_KEY: plain-key",
        "",
      ].join("\n"),
    );
    let problems: readonly string[] = [];
    try {
      readStackFiles(dir, "prod");
    } catch (err) {
      if (!(err instanceof StackConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toEqual([
      "fleet:offsite.password: a plaintext value in Pulumi.prod.yaml; secrets are stored encrypted: " +
        "pulumi config set --secret --path 'fleet:offsite.password' <value>",
      "fleet:offsite.env.AWS_SECRET_ACCESS_KEY: a plaintext value in Pulumi.prod.yaml; secrets are stored encrypted: " +
        "pulumi config set --secret --path 'fleet:offsite.env.AWS_SECRET_ACCESS_KEY' <value>",
    ]);
  });
});

describe("backup.offsite in the instance file", () => {
  test.each([
    ["port: 5001\n", true],
    ["port: 5001\nbackup: {offsite: false}\n", false],
  ])("%j -> offsite %s", (text, expected) => {
    expect(parseInstanceText(text, "f.yaml", "f").spec!.backup.offsite).toBe(expected);
  });

  test("a non-boolean is refused", () => {
    expect(parseInstanceText("port: 5001\nbackup: {offsite: nope}\n", "f.yaml", "f").problems).toEqual([
      'f.yaml: backup.offsite: expected true or false, got "nope"',
    ]);
  });
});
