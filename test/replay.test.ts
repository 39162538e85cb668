/**
 * The docker tier's replayer, offline: the Engine API body it sends for a container, its refusal
 * of inputs it cannot translate, Go durations, and `<<name.path>>` placeholders. No Docker needed
 * (the placeholder tests create only `command:local:Command` resources, which run /bin/sh).
 */
import { describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  containerCreateBody,
  determineRepoDigest,
  durationNs,
  Replayer,
  type Render,
  type RenderedResource,
} from "./docker/replay";

describe("containerCreateBody", () => {
  test("translates a representative app container one for one into the Engine API body", () => {
    const body = containerCreateBody("alpha-app-1a2b3c4", {
      image: "sha256:0123abcd",
      envs: ["PORT=8080", "APP_NAME=alpha", "ADMIN_TOKEN=secret-token-of-24-characters"],
      command: ["node", "dist/server.js"],
      user: "10001:10001",
      workingDir: "/app",
      stopSignal: "SIGTERM",
      stopTimeout: 20,
      ports: [
        { internal: 8080, ip: "127.0.0.1" },
        { internal: 9090, external: 19090, protocol: "udp" },
      ],
      volumes: [
        { volumeName: "fleet-dev-alpha-data", containerPath: "/data" },
        { hostPath: "/srv/backups/alpha", containerPath: "/backups", readOnly: true },
      ],
      mounts: [{ type: "bind", source: "/etc/fleet", target: "/etc/fleet", readOnly: true }],
      healthcheck: {
        tests: ["CMD", "node", "dist/healthcheck.js"],
        interval: "1s",
        timeout: "1m30s",
        startPeriod: "500ms",
        retries: 3,
      },
      wait: true,
      waitTimeout: 40,
      restart: "unless-stopped",
      memory: 256,
      memorySwap: 512,
      cpus: "0.5",
      readOnly: true,
      tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
      capabilities: { drops: ["ALL"] },
      securityOpts: ["no-new-privileges:true"],
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
      labels: [
        { label: "fleet.managed", value: "true" },
        { label: "fleet.stack", value: "dev" },
        { label: "fleet.instance", value: "alpha" },
      ],
      init: true,
      // Steps after the create, not part of the body:
      uploads: [{ file: "/etc/app.conf", content: "x" }],
      start: true,
    });
    expect(body).toEqual({
      Image: "sha256:0123abcd",
      Env: ["PORT=8080", "APP_NAME=alpha", "ADMIN_TOKEN=secret-token-of-24-characters"],
      Cmd: ["node", "dist/server.js"],
      User: "10001:10001",
      WorkingDir: "/app",
      StopSignal: "SIGTERM",
      StopTimeout: 20,
      Labels: { "fleet.managed": "true", "fleet.stack": "dev", "fleet.instance": "alpha" },
      ExposedPorts: { "8080/tcp": {}, "9090/udp": {} },
      Healthcheck: {
        Test: ["CMD", "node", "dist/healthcheck.js"],
        Interval: 1_000_000_000,
        Timeout: 90_000_000_000,
        StartPeriod: 500_000_000,
        Retries: 3,
      },
      HostConfig: {
        PortBindings: {
          "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
          "9090/udp": [{ HostIp: "0.0.0.0", HostPort: "19090" }],
        },
        Binds: ["fleet-dev-alpha-data:/data", "/srv/backups/alpha:/backups:ro"],
        Mounts: [{ Type: "bind", Source: "/etc/fleet", Target: "/etc/fleet", ReadOnly: true }],
        RestartPolicy: { Name: "unless-stopped" },
        Memory: 268_435_456,
        MemorySwap: 536_870_912,
        NanoCpus: 500_000_000,
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges:true"],
        LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
        NetworkMode: "bridge",
        Init: true,
      },
    });
  });

  // resourceDockerContainerCreate sends restart, read_only and network_mode with their defaults.
  const DEFAULT_HOST = { RestartPolicy: { Name: "no" }, ReadonlyRootfs: false, NetworkMode: "bridge" };

  test("a minimal container gets an image and the provider's always-sent host defaults", () => {
    expect(containerCreateBody("c", { image: "fleet-app:1.0.0" })).toEqual({
      Image: "fleet-app:1.0.0",
      HostConfig: DEFAULT_HOST,
    });
  });

  test("log options alone default the driver to json-file", () => {
    expect(containerCreateBody("c", { image: "i", logOpts: { "max-size": "1m" } })).toEqual({
      Image: "i",
      HostConfig: { ...DEFAULT_HOST, LogConfig: { Type: "json-file", Config: { "max-size": "1m" } } },
    });
  });

  test.each([
    [
      "an unknown container input",
      { image: "i", gpus: "all", privileged: true },
      "replayer: container alpha-app has inputs it cannot translate: gpus, privileged",
    ],
    [
      "an unknown healthcheck field",
      { image: "i", healthcheck: { tests: ["CMD", "true"], startInterval: "1s", timeoutSeconds: 3 } },
      "replayer: container alpha-app has inputs it cannot translate: healthcheck.timeoutSeconds",
    ],
    [
      "an unknown port field",
      { image: "i", ports: [{ internal: 8080, hostIp: "127.0.0.1" }] },
      "replayer: container alpha-app has inputs it cannot translate: ports[].hostIp",
    ],
    [
      "an unknown label field",
      { image: "i", labels: [{ label: "a", value: "b", scope: "x" }] },
      "replayer: container alpha-app has inputs it cannot translate: labels[].scope",
    ],
    [
      "an unknown capabilities field",
      { image: "i", capabilities: { drops: ["ALL"], ambient: ["NET_RAW"] } },
      "replayer: container alpha-app has inputs it cannot translate: capabilities.ambient",
    ],
  ])("refuses %s instead of dropping it", (_what, inputs, message) => {
    expect(() => containerCreateBody("alpha-app", inputs)).toThrow(new Error(message));
  });

  test("an input set to undefined counts as absent", () => {
    expect(containerCreateBody("c", { image: "i", privileged: undefined })).toEqual({
      Image: "i",
      HostConfig: DEFAULT_HOST,
    });
  });
});

describe("durationNs", () => {
  test.each([
    ["1ns", 1],
    ["250us", 250_000],
    ["500ms", 500_000_000],
    ["1s", 1_000_000_000],
    ["1.5s", 1_500_000_000],
    ["10s", 10_000_000_000],
    ["2m", 120_000_000_000],
    ["1m30s", 90_000_000_000],
    ["1h", 3_600_000_000_000],
    ["1h2m3s4ms", 3_723_004_000_000],
  ])("%j is %d ns", (text, ns) => {
    expect(durationNs(text)).toBe(ns);
  });

  test.each(["5", "1 s", "1d", "s", "-1s", "1s2"])("%j is refused", (text) => {
    expect(() => durationNs(text)).toThrow(new Error(`replayer: ${JSON.stringify(text)} is not a duration`));
  });
});

/** A `command:local:Command` that prints `stdout`, as the render would list it. */
function command(name: string, create: string, dependencies: string[] = []): RenderedResource {
  return {
    type: "command:local:Command",
    name,
    parent: null,
    custom: true,
    inputs: { create },
    dependencies,
    options: {
      dependsOn: [],
      protect: false,
      retainOnDelete: false,
      deleteBeforeReplace: null,
      replaceOnChanges: [],
      ignoreChanges: [],
    },
  };
}

function renderOf(resources: RenderedResource[]): Render {
  return { project: "fleet", stack: "unit", config: {}, resources, outputs: {} };
}

describe("placeholders", () => {
  // `app-1` and `app-1.0.0` are both live: a reference must pick the longest live name, as
  // `<<app-1.0.0.repoDigest>>` in a render means the resource `app-1.0.0`, output `repoDigest`.
  async function replayer(): Promise<Replayer> {
    const r = new Replayer();
    await r.apply(
      renderOf([
        command("app-1", "printf short-name"),
        command("app-1.0.0", "printf sha256:0123abcd"),
        command("consumer", "printf 'image=<<app-1.0.0.stdout>>'", ["app-1", "app-1.0.0"]),
      ]),
    );
    return r;
  }

  test("a logical name with dots resolves to the longest live name, also inside an input", async () => {
    const r = await replayer();
    expect(r.outputs("consumer")).toEqual({ stdout: "image=sha256:0123abcd", stderr: "" });
    expect(
      r.resolve({
        image: "<<app-1.0.0.stdout>>",
        other: "<<app-1.stdout>>",
        args: ["--from", "<<app-1.stdout>>/<<app-1.0.0.stdout>>"],
        port: 8080,
      }),
    ).toEqual({
      image: "sha256:0123abcd",
      other: "short-name",
      args: ["--from", "short-name/sha256:0123abcd"],
      port: 8080,
    });
    // Independent resources run in parallel; the consumer waits for both.
    const steps = r.events.map((e) => `${e.step} ${e.name}`);
    expect({ first: steps.slice(0, 2).sort(), last: steps.slice(2) }).toEqual({
      first: ["create app-1", "create app-1.0.0"],
      last: ["create consumer"],
    });
  });

  test("a missing output of a live resource is named", async () => {
    const r = await replayer();
    expect(() => r.resolve("<<app-1.0.0.repoDigest>>")).toThrow(
      new Error("replayer: app-1.0.0 has no output repoDigest"),
    );
  });

  test("a placeholder that names no live resource is refused", async () => {
    const r = await replayer();
    expect(() => r.resolve("x <<app-2.0.0.stdout>>")).toThrow(
      new Error("replayer: <<app-2.0.0.stdout>> names no live resource"),
    );
  });
});

describe("failures follow the engine (pulumi pkg/resource/deploy/step_executor.go)", () => {
  test("the first error cancels every step not yet started; running steps finish", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-cancel-"));
    const r = new Replayer();
    const failure = await r
      .apply(
        renderOf([
          command("slow", `sleep 1; touch ${dir}/slow`),
          command("broken", "echo no >&2; exit 3"),
          command("after-slow", `touch ${dir}/after-slow`, ["slow"]),
        ]),
      )
      .catch((e: unknown) => e);
    expect(String(failure)).toBe("Error: broken: /bin/sh exited 3: no");
    expect(fs.readdirSync(dir)).toEqual(["slow"]);
    expect(r.events.map((e) => `${e.step} ${e.name}`).sort()).toEqual([
      "cancelled after-slow",
      "create slow",
      "failed broken",
    ]);
  });
});

describe("command environment (pulumi-command provider/pkg/provider/local/commandOutputs.go run)", () => {
  const show =
    'printf "out=%s err=%s" "${PULUMI_COMMAND_STDOUT-unset}" "${PULUMI_COMMAND_STDERR-unset}"; echo warn >&2';

  test("create has no previous output; update and delete get the previous stdout and stderr", async () => {
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "replay-env-")), "delete.log");
    const withDelete = (create: string): RenderedResource => ({
      ...command("c", create),
      inputs: { create, delete: `printf "%s|%s" "$PULUMI_COMMAND_STDOUT" "$PULUMI_COMMAND_STDERR" > ${log}` },
    });
    const r = new Replayer();
    await r.apply(renderOf([withDelete(show)]));
    expect(r.outputs("c")).toEqual({ stdout: "out=unset err=unset", stderr: "warn" });
    // A changed script is an update (no triggers): it sees the create's outputs.
    await r.apply(renderOf([withDelete(`${show} # v2`)]));
    expect(r.outputs("c")).toEqual({ stdout: "out=out=unset err=unset err=warn", stderr: "warn" });
    await r.apply(renderOf([]));
    expect(fs.readFileSync(log, "utf8")).toBe("out=out=unset err=unset err=warn|warn");
  });

  test("addPreviousOutputInEnv: false leaves them out", async () => {
    const r = new Replayer();
    const res = (create: string): RenderedResource => ({
      ...command("c", create),
      inputs: { create, addPreviousOutputInEnv: false },
    });
    await r.apply(renderOf([res(show)]));
    await r.apply(renderOf([res(`${show} # v2`)]));
    expect(r.outputs("c")).toEqual({ stdout: "out=unset err=unset", stderr: "warn" });
  });
});

describe("determineRepoDigest (terraform-provider-docker data_source_docker_image.go)", () => {
  const A = "registry.example/fleet/app@sha256:aaaa";
  const B = "mirror.example/fleet/app@sha256:bbbb";
  test.each([
    ["a local-only image has no digest", "fleet/app:1.0.0", [], ""],
    ["one digest is the digest", "fleet/app:1.0.0", [A], A],
    ["several: the one of the same repository", "mirror.example/fleet/app:1.0.0", [A, B], B],
    ["several, none of the repository", "other/app:1.0.0", [A, B], ""],
  ])("%s", (_what, name, digests, expected) => {
    expect(determineRepoDigest(name, digests)).toBe(expected);
  });
});
