/**
 * The drift check, offline: an Engine API inspect as moby stores a container the program
 * created, read back the way the provider's Read does. Canonical inputs read back unchanged;
 * each friendly or missing form is caught, naming the input.
 */
import { describe, expect, test } from "vitest";
import {
  containerDrift,
  describeDrift,
  volumeDrift,
  type ContainerInspect,
  type VolumeInspect,
} from "./docker/read-back";

const MiB = 1024 * 1024;

/** What moby 20.10 stores for the app container the program creates (checked with docker inspect). */
function inspect(over: { Config?: object; HostConfig?: object; State?: object } = {}): ContainerInspect {
  return {
    Name: "/alpha-app-1a2b3c4",
    Image: "sha256:0123abcd",
    Platform: "linux",
    State: { Running: true, ...over.State },
    Config: {
      Image: "sha256:0123abcd",
      Hostname: "1a2b3c4d5e6f",
      Cmd: ["node", "dist/server.js"],
      Entrypoint: ["docker-entrypoint.sh"],
      User: "10001:10001",
      WorkingDir: "/app",
      Tty: false,
      OpenStdin: false,
      StopSignal: "SIGTERM",
      Healthcheck: {
        Test: ["CMD", "node", "dist/healthcheck.js"],
        Interval: 60e9,
        Timeout: 1.5e9,
        StartPeriod: 10e9,
        Retries: 3,
      },
      ...over.Config,
    },
    HostConfig: {
      AutoRemove: false,
      ReadonlyRootfs: true,
      RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
      Init: null,
      CapAdd: null,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      Tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
      Memory: 256 * MiB,
      MemorySwap: 256 * MiB,
      MemoryReservation: 0,
      ShmSize: 64 * MiB,
      NanoCpus: 500_000_000,
      CpuShares: 0,
      CpusetCpus: "",
      LogConfig: { Type: "json-file", Config: { "max-file": "3", "max-size": "10m" } },
      NetworkMode: "bridge",
      IpcMode: "private",
      Runtime: "runc",
      Privileged: false,
      PublishAllPorts: false,
      UsernsMode: "",
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      GroupAdd: null,
      Sysctls: null,
      StorageOpt: null,
      ...over.HostConfig,
    },
    NetworkSettings: { Ports: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "49153" }] } },
  };
}

/** The inputs the program sends for that container (canonical forms). */
const PLANNED: Record<string, unknown> = {
  name: "alpha-app-1a2b3c4",
  image: "sha256:0123abcd",
  envs: ["APP_NAME=alpha"],
  labels: [{ label: "fleet.role", value: "app" }],
  volumes: [{ volumeName: "fleet-dev-alpha-data", containerPath: "/data" }],
  ports: [{ internal: 8080, ip: "127.0.0.1" }],
  healthcheck: {
    tests: ["CMD", "node", "dist/healthcheck.js"],
    interval: "1m0s",
    timeout: "1.5s",
    startPeriod: "10s",
    retries: 3,
  },
  wait: true,
  waitTimeout: 44,
  user: "10001:10001",
  readOnly: true,
  tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
  capabilities: { drops: ["ALL"] },
  securityOpts: ["no-new-privileges:true"],
  restart: "unless-stopped",
  memory: 256,
  memorySwap: 256,
  cpus: "0.5",
  logDriver: "json-file",
  logOpts: { "max-size": "10m", "max-file": "3" },
};

describe("containerDrift", () => {
  test("canonical inputs read back unchanged", () => {
    expect(containerDrift(inspect(), PLANNED)).toEqual([]);
  });

  test.each([
    [
      "a healthcheck interval of 60s",
      { healthcheck: { ...(PLANNED.healthcheck as object), interval: "60s" } },
      "healthcheck",
    ],
    ["cpus 1 for NanoCpus 1e9", { cpus: "1" }, "cpus"],
    ["memorySwap left unset", { memorySwap: undefined }, "memorySwap"],
    ["a capability dropped by another name", { capabilities: { drops: ["NET_RAW"] } }, "capabilities"],
    ["restart left unset (schema default no)", { restart: undefined }, "restart"],
    ["a different image", { image: "sha256:ffff" }, "image"],
    ["a fixed host port", { ports: [{ internal: 8080, ip: "127.0.0.1", external: 8080 }] }, "ports"],
  ])("%s is caught", (_what, change, input) => {
    expect(containerDrift(inspect(), { ...PLANNED, ...change }).map((d) => d.input)).toEqual([input]);
  });

  test("memory without memorySwap: moby stores 2 x memory and Read writes it back", () => {
    const drift = containerDrift(inspect({ HostConfig: { MemorySwap: 512 * MiB } }), {
      ...PLANNED,
      memorySwap: undefined,
    });
    expect(describeDrift("alpha-app", drift)).toEqual([
      "alpha-app.memorySwap: the program sends undefined, Read stores 512",
    ]);
  });

  test("the sidecar's [NONE] healthcheck: the engine fills the image's durations", () => {
    const none = { tests: ["NONE"] };
    const filled = inspect({
      Config: { Healthcheck: { Test: ["NONE"], Interval: 10e9, Timeout: 3e9, StartPeriod: 15e9, Retries: 3 } },
    });
    expect(describeDrift("alpha-backup", containerDrift(filled, { ...PLANNED, healthcheck: none }))).toEqual([
      'alpha-backup.healthcheck: the program sends {"tests":["NONE"]}, Read stores {"interval":"10s","retries":3,"startInterval":"0s","startPeriod":"15s","tests":["NONE"],"timeout":"3s"}',
    ]);
  });

  test("daemon default log options merged in: a drift, unless logOpts is in ignoreChanges", () => {
    const merged = inspect({
      HostConfig: {
        LogConfig: { Type: "json-file", Config: { "max-file": "3", "max-size": "10m", compress: "true" } },
      },
    });
    expect(containerDrift(merged, PLANNED).map((d) => d.input)).toEqual(["logOpts"]);
    expect(containerDrift(merged, PLANNED, ["logOpts"])).toEqual([]);
  });

  test("a stopped container reads back mustRun false and no ports (terraform-provider-docker#77)", () => {
    const stopped = { ...inspect({ State: { Running: false } }), NetworkSettings: { Ports: {} } };
    expect(containerDrift(stopped, PLANNED).map((d) => d.input)).toEqual(["ports", "mustRun"]);
  });

  test("unset Optional+Computed inputs take what was read; unset network_mode is its default bridge", () => {
    const minimal = { name: "alpha-app-1a2b3c4", image: "sha256:0123abcd" };
    const plain = inspect({
      Config: { Healthcheck: null, User: "" },
      HostConfig: {
        ReadonlyRootfs: false,
        RestartPolicy: { Name: "no" },
        CapDrop: null,
        Tmpfs: null,
        Memory: 0,
        MemorySwap: 0,
        NanoCpus: 0,
        SecurityOpt: null,
        LogConfig: { Type: "json-file", Config: {} },
      },
    });
    expect(containerDrift(plain, { ...minimal, ports: undefined })).toEqual([]);
    expect(containerDrift(inspect({ HostConfig: { NetworkMode: "default" } }), PLANNED).map((d) => d.input)).toEqual([
      "networkMode",
    ]);
  });
});

describe("volumeDrift", () => {
  const volume: VolumeInspect = {
    Name: "fleet-dev-alpha-data",
    Driver: "local",
    Labels: { "fleet.role": "data", "fleet.stack": "dev" },
    Options: null,
  };
  const labels = [
    { label: "fleet.stack", value: "dev" },
    { label: "fleet.role", value: "data" },
  ];

  test("labels are a set: order does not matter", () => {
    expect(volumeDrift(volume, { name: "fleet-dev-alpha-data", labels })).toEqual([]);
  });

  test("a label the volume does not carry is caught", () => {
    expect(
      volumeDrift(volume, { name: "fleet-dev-alpha-data", labels: [...labels, { label: "x", value: "y" }] }).map(
        (d) => d.input,
      ),
    ).toEqual(["labels"]);
  });
});
