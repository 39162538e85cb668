import { describe, expect, test } from "vitest";
import { parseInstanceText } from "../components/fleet";
import type { InstanceSpec } from "../components/spec";
import { runLogs } from "../ops/commands/logs";
import { runRestore } from "../ops/commands/restore";
import { instanceDataArgs, SEPARATOR } from "../ops/core/docker-target";
import { statusRows } from "../ops/core/status-model";
import { jobCreateArgs, jobName, jobTaskArgs, type SwarmApp } from "../ops/core/swarm-jobs";
import { scaleArgs } from "../ops/core/swarm-restore";
import {
  nodesArgs,
  observeSwarm,
  serviceLogsArgs,
  serviceTasksArgs,
  stackServicesArgs,
} from "../ops/core/swarm-target";
import { backupSummary } from "./backup-summary";
import { fakeDocker } from "./fake-docker";

const NOW = new Date("2026-11-29T12:00:00Z");
const IMAGE = `registry.local:5000/fleet/app@sha256:${"1".repeat(64)}`;
const DATA_MOUNT =
  "type=volume,src=fleet-dev-hb-data,dst=/data,volume-label=fleet.instance=hb,volume-label=fleet.managed=true," +
  "volume-label=fleet.role=data,volume-label=fleet.stack=dev";
const BACKUPS_MOUNT = "type=volume,src=fleet-dev-hb-backups,dst=/backups";
const HB: SwarmApp = {
  stack: "dev",
  service: "fleet-dev-hb",
  instance: "hb",
  node: "node-2",
  image: IMAGE,
  mounts: [DATA_MOUNT, BACKUPS_MOUNT],
};

function spec(yaml: string, name: string): InstanceSpec {
  const parsed = parseInstanceText(yaml, `${name}.yaml`, name);
  if (!parsed.spec) throw new Error(parsed.problems.join("\n"));
  return parsed.spec;
}

/** `docker service inspect` of a fleet service, as Docker 20.10 prints the fields the target reads. */
function service(o: {
  id: string;
  name: string;
  role: string;
  instance: string;
  version: string;
  node: string;
  replicas?: number;
  update?: { State: string; Message: string };
}) {
  return {
    ID: o.id,
    Spec: {
      Name: o.name,
      Labels: {
        "fleet.managed": "true",
        "fleet.stack": "dev",
        "fleet.role": o.role,
        "fleet.instance": o.instance,
        "fleet.version": o.version,
        ...(o.role === "app" ? { "fleet.node": o.node } : {}),
      },
      Mode: { Replicated: { Replicas: o.replicas ?? 1 } },
      TaskTemplate: {
        ContainerSpec: {
          Image: IMAGE,
          Mounts: [
            {
              Type: "volume",
              Source: `fleet-dev-${o.instance}-data`,
              Target: "/data",
              VolumeOptions: {
                Labels: {
                  "fleet.instance": o.instance,
                  "fleet.managed": "true",
                  "fleet.role": "data",
                  "fleet.stack": "dev",
                },
              },
            },
            { Type: "volume", Source: `fleet-dev-${o.instance}-backups`, Target: "/backups" },
            { Type: "tmpfs", Target: "/tmp", TmpfsOptions: { SizeBytes: 67108864 } },
          ],
        },
        Placement: { Constraints: [`node.hostname==${o.node}`] },
      },
    },
    ...(o.update ? { UpdateStatus: o.update } : {}),
  };
}

/** `docker inspect --type task` of one task. */
function task(o: {
  id: string;
  service: string;
  node: string;
  state: string;
  desired?: string;
  version: string;
  container?: string;
  err?: string;
  message?: string;
  at?: string;
}) {
  return {
    ID: o.id,
    ServiceID: o.service,
    Slot: 1,
    NodeID: o.node,
    DesiredState: o.desired ?? "running",
    Spec: { ContainerSpec: { Labels: { "fleet.version": o.version, "fleet.role": "app" } } },
    Status: {
      Timestamp: o.at ?? "2026-11-29T11:00:00.5Z",
      State: o.state,
      Message: o.message ?? o.state,
      ...(o.err ? { Err: o.err } : {}),
      ...(o.container ? { ContainerStatus: { ContainerID: o.container, PID: 42, ExitCode: 0 } } : {}),
    },
  };
}

const json = (v: unknown) => ({ stdout: JSON.stringify(v) });
/** The instance hb on node-2: its app service and its backup service. */
const HB_SERVICES = [
  service({ id: "sa", name: "fleet-dev-hb", role: "app", instance: "hb", version: "1.1.0", node: "node-2" }),
  service({ id: "sb", name: "fleet-dev-hb-backup", role: "backup", instance: "hb", version: "1.1.0", node: "node-2" }),
];
const NODES = { stdout: "n1\tmanager\ttrue\nn2\tnode-2\tfalse\n" };
const C1 = "c".repeat(64);
const LIST = [
  backupSummary("hb-20261129t030000000z-v1.1.0-s0003", "2026-11-29T03:00:00.000Z", "scheduled", "1.1.0", null, null),
  backupSummary(
    "hb-20261128t120000000z-v1.1.0-s0003-from-1.0.0-to-1.1.0",
    "2026-11-28T12:00:00.000Z",
    "pre-update",
    "1.1.0",
    "1.0.0",
    "1.1.0",
  ),
];

/** The answers of one job (ops/core/swarm-jobs.ts) that ends in `state` and prints `stdout`. */
function job(
  app: SwarmApp,
  purpose: string,
  command: string[],
  stdout: string,
  state = "complete",
): [string[], { stdout: string }][] {
  const name = jobName(app.service, purpose, "t");
  return [
    [jobCreateArgs(app, name, command), { stdout: "jobid\n" }],
    [["service", "ps", "--no-trunc", "-q", name], { stdout: `${purpose}-task\n` }],
    [
      jobTaskArgs(`${purpose}-task`),
      { stdout: `${state}\t${purpose}-container\t${state === "failed" ? "task: non-zero exit (1)" : ""}\n` },
    ],
    [["service", "logs", "--raw", name], { stdout }],
    [["service", "rm", name], { stdout: `${name}\n` }],
    [["rm", `${purpose}-container`], { stdout: `${purpose}-container\n` }],
  ];
}

describe("swarm target builders", () => {
  test("services by the stack's labels, their tasks, the nodes, a service's logs", () => {
    expect(stackServicesArgs("dev")).toEqual([
      "service",
      "ls",
      "-q",
      "--filter",
      "label=fleet.managed=true",
      "--filter",
      "label=fleet.stack=dev",
    ]);
    expect(serviceTasksArgs(["sa", "sb"])).toEqual(["service", "ps", "--no-trunc", "-q", "sa", "sb"]);
    expect(nodesArgs()).toEqual(["node", "ls", "--format", "{{.ID}}\t{{.Hostname}}\t{{.Self}}"]);
    expect(serviceLogsArgs("fleet-dev-hb", { follow: true, since: "10m", tail: "5", json: true })).toEqual([
      "service",
      "logs",
      "--raw",
      "--follow",
      "--since",
      "10m",
      "--tail",
      "5",
      "--timestamps",
      "fleet-dev-hb",
    ]);
    expect(
      scaleArgs([
        { service: "fleet-dev-hb", replicas: 0 },
        { service: "fleet-dev-hb-backup", replicas: 0 },
      ]),
    ).toEqual(["service", "scale", "--detach", "fleet-dev-hb=0", "fleet-dev-hb-backup=0"]);
  });

  test("a job runs once on the instance's node, hardened as the service, with its image and mounts", () => {
    expect(jobName("fleet-dev-hb", "restore", "t")).toBe("fleet-dev-hb-restore-t");
    expect(jobName("x".repeat(70), "restore", "m1abc")).toBe(`${"x".repeat(49)}-restore-m1abc`);
    expect(jobCreateArgs(HB, "fleet-dev-hb-list-t", ["node", "dist/cli.js", "backup", "list", "--json"])).toEqual([
      "service",
      "create",
      "--quiet",
      "--detach",
      "--name",
      "fleet-dev-hb-list-t",
      "--mode",
      "replicated-job",
      "--restart-condition",
      "none",
      ...["fleet.managed=true", "fleet.stack=dev", "fleet.instance=hb", "fleet.role=job"].flatMap((l) => [
        "--label",
        l,
        "--container-label",
        l,
      ]),
      "--constraint",
      "node.hostname==node-2",
      "--user",
      "10001:10001",
      "--read-only",
      "--cap-drop",
      "ALL",
      "--mount",
      "type=tmpfs,dst=/tmp",
      "--env",
      "APP_NAME=hb",
      "--env",
      "DATA_DIR=/data",
      "--env",
      "BACKUP_DIR=/backups",
      "--mount",
      DATA_MOUNT,
      "--mount",
      BACKUPS_MOUNT,
      IMAGE,
      "node",
      "dist/cli.js",
      "backup",
      "list",
      "--json",
    ]);
  });
});

describe("observeSwarm", () => {
  const services = [
    service({ id: "sa", name: "fleet-dev-hb", role: "app", instance: "hb", version: "1.1.0", node: "manager" }),
    service({
      id: "sb",
      name: "fleet-dev-hb-backup",
      role: "backup",
      instance: "hb",
      version: "1.1.0",
      node: "manager",
    }),
    service({
      id: "sp",
      name: "fleet-dev-pr",
      role: "app",
      instance: "pr",
      version: "1.1.0",
      node: "node-2",
      update: { State: "rollback_completed", Message: "rollback completed" },
    }),
  ];
  const hbData = `2048\n${SEPARATOR}\n{"at":"2026-11-29T11:00:00.000Z","ok":true,"reason":"scheduled","id":"x","error":null}\n${SEPARATOR}\n${JSON.stringify(LIST)}`;
  const tasks = [
    task({ id: "t1", service: "sa", node: "n1", state: "running", version: "1.1.0", container: C1 }),
    task({
      id: "t0",
      service: "sa",
      node: "n1",
      state: "failed",
      desired: "shutdown",
      version: "1.1.0",
      err: "task: non-zero exit (137): dockerexec: unhealthy container",
    }),
    task({ id: "t3", service: "sp", node: "n2", state: "running", version: "1.0.0", container: "d".repeat(64) }),
    task({
      id: "t2",
      service: "sp",
      node: "n2",
      state: "failed",
      desired: "shutdown",
      version: "1.1.0",
      err: "task: non-zero exit (1)",
    }),
  ];
  const prApp: SwarmApp = {
    ...HB,
    service: "fleet-dev-pr",
    instance: "pr",
    mounts: [
      "type=volume,src=fleet-dev-pr-data,dst=/data,volume-label=fleet.instance=pr,volume-label=fleet.managed=true,volume-label=fleet.role=data,volume-label=fleet.stack=dev",
      "type=volume,src=fleet-dev-pr-backups,dst=/backups",
    ],
  };
  const docker = fakeDocker([
    [stackServicesArgs("dev"), { stdout: "sa\nsb\nsp\n" }],
    [["service", "inspect", "sa", "sb", "sp"], json(services)],
    [nodesArgs(), NODES],
    [serviceTasksArgs(["sa", "sp"]), { stdout: "t1\nt0\nt3\nt2\n" }],
    [["inspect", "--type", "task", "t1", "t0", "t3", "t2"], json(tasks)],
    [instanceDataArgs(C1), { stdout: hbData }],
    ...job(prApp, "status", instanceDataArgs("-").slice(2), `512\n${SEPARATOR}\n\n${SEPARATOR}\n[]`),
  ]);
  const rows = statusRows(
    [spec("port: 5001\n", "hb"), spec("port: 5002\n", "pr")],
    "1.1.0",
    observeSwarm(docker, "dev", { suffix: "t", sleep: () => {} }),
    NOW,
  );

  test("the running task is the instance's container and its route; failed tasks are its restarts", () => {
    expect(rows[0]).toMatchObject({
      instance: "hb",
      declared: "1.1.0",
      running: "1.1.0",
      container: "fleet-dev-hb.1@manager",
      health: "healthy",
      uptimeSeconds: 3600,
      restarts: 1,
      route: C1.slice(0, 12),
      routeHealthy: true,
      dataBytes: 2048,
      problems: [],
    });
    expect(rows[0]!.backup.lastAt).toBe("2026-11-29T03:00:00.000Z");
  });

  test("an instance on another node is read by a job there; an update Swarm rolled back is a problem", () => {
    expect(rows[1]).toMatchObject({
      instance: "pr",
      running: "1.0.0",
      container: "fleet-dev-pr.1@node-2",
      restarts: 1,
      dataBytes: 512,
      problems: ["runs 1.0.0, declared 1.1.0", "Swarm rolled the last update back: rollback completed"],
    });
    expect(docker.calls.filter((c) => c[0] === "exec")).toEqual([instanceDataArgs(C1)]);
    expect(docker.calls.filter((c) => c[1] === "rm")).toEqual([["service", "rm", "fleet-dev-pr-status-t"]]);
  });

  test("a task that cannot be placed shows Swarm's reason; with no running task, no route", () => {
    const pending = fakeDocker([
      [stackServicesArgs("dev"), { stdout: "sa\n" }],
      [["service", "inspect", "sa"], json([services[0]])],
      [nodesArgs(), NODES],
      [serviceTasksArgs(["sa"]), { stdout: "t9\n" }],
      [
        ["inspect", "--type", "task", "t9"],
        json([
          task({
            id: "t9",
            service: "sa",
            node: "",
            state: "pending",
            version: "1.1.0",
            message: "no suitable node (scheduling constraints not satisfied on 2 nodes)",
          }),
        ]),
      ],
      ...job(
        { ...HB, node: "manager", service: "fleet-dev-hb", mounts: [DATA_MOUNT, BACKUPS_MOUNT] },
        "status",
        instanceDataArgs("-").slice(2),
        "",
        "rejected",
      ),
    ]);
    const [row] = statusRows(
      [spec("port: 5001\n", "hb")],
      "1.1.0",
      observeSwarm(pending, "dev", { suffix: "t", sleep: () => {} }),
      NOW,
    );
    expect(row!.problems).toEqual([
      "container fleet-dev-hb.1 is pending",
      "no route: Swarm's published port does not send traffic to it",
      "the backups could not be read on node manager: exit 1: job fleet-dev-hb-status-t on node manager: rejected",
    ]);
  });
});

describe("npm run logs on a swarm", () => {
  test("the app service's logs, and with --all the backup service's, through docker service logs", async () => {
    const docker = fakeDocker([
      [stackServicesArgs("dev"), { stdout: "sa\nsb\n" }],
      [["service", "inspect", "sa", "sb"], json(HB_SERVICES)],
    ]);
    const streamed: { prefix: string; args: string[] }[][] = [];
    const code = await runLogs(["hb", "--all", "--since", "5m"], {
      out: () => {},
      err: () => {},
      target: "swarm",
      docker,
      stream: async (c) => {
        streamed.push(c);
        return 0;
      },
    });
    expect(code).toBe(0);
    expect(streamed).toEqual([
      [
        { prefix: "fleet-dev-hb", args: ["service", "logs", "--raw", "--since", "5m", "fleet-dev-hb"] },
        { prefix: "fleet-dev-hb-backup", args: ["service", "logs", "--raw", "--since", "5m", "fleet-dev-hb-backup"] },
      ],
    ]);
  });
});

describe("npm run restore on a swarm", () => {
  const backupFlags = ["node", "dist/cli.js", "backup"];
  /** A fake swarm: the instance hb on node-2 (the CLI talks to the manager), its replicas changed by `scale`. */
  function swarm(o: { verify?: boolean; restore?: "complete" | "failed" } = {}) {
    let replicas = 1;
    const out: string[] = [];
    const err: string[] = [];
    /** A task of hb on node-2: running, or stopped the way Swarm stops it after `scale 0`. */
    const hbTask = (id: string, serviceId: string, stopped: string, container: string) =>
      task({ id, service: serviceId, node: "n2", state: replicas ? "running" : stopped, version: "1.1.0", container });
    const appTask = () => hbTask("t1", "sa", "shutdown", C1);
    const sideTask = () => hbTask("t2", "sb", "complete", "e".repeat(64));
    const restored = { restored: LIST[0]!.id, safetyBackup: "hb-app-safety", schemaVersion: 3, migrationsApplied: [] };
    const docker = fakeDocker([
      [stackServicesArgs("dev"), { stdout: "sa\nsb\n" }],
      [["service", "inspect", "sa", "sb"], json(HB_SERVICES)],
      [nodesArgs(), NODES],
      [serviceTasksArgs(["sa"]), { stdout: "t1\n" }],
      [["inspect", "--type", "task", "t1"], () => json([appTask()])],
      [serviceTasksArgs(["sa", "sb"]), { stdout: "t1\nt2\n" }],
      [["inspect", "--type", "task", "t1", "t2"], () => json([appTask(), sideTask()])],
      ...job(HB, "list", [...backupFlags, "list", "--json"], JSON.stringify(LIST)),
      ...job(
        HB,
        "backup",
        [...backupFlags, "create", "--reason", "pre-restore", "--if-exists"],
        '{"id":"hb-safe","path":"/backups/hb-safe"}\n',
      ),
      ...job(
        HB,
        "verify",
        [...backupFlags, "verify", "hb-safe"],
        JSON.stringify({
          id: "hb-safe",
          ok: o.verify ?? true,
          problems: o.verify === false ? ["app.db: sha256 mismatch"] : [],
        }),
      ),
      ...job(
        HB,
        "restore",
        [...backupFlags, "restore", LIST[0]!.id],
        o.restore === "failed" ? "" : JSON.stringify(restored),
        o.restore,
      ),
      [
        scaleArgs([
          { service: "fleet-dev-hb", replicas: 0 },
          { service: "fleet-dev-hb-backup", replicas: 0 },
        ]),
        () => ((replicas = 0), {}),
      ],
      [
        scaleArgs([
          { service: "fleet-dev-hb", replicas: 1 },
          { service: "fleet-dev-hb-backup", replicas: 1 },
        ]),
        () => ((replicas = 1), {}),
      ],
    ]);
    const deps = {
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      docker,
      target: "swarm" as const,
      swarm: { suffix: "t", sleep: () => {} },
      confirm: async () => true,
      interactive: false,
    };
    /** The calls that change something, in order. */
    const changes = () =>
      docker.calls
        .filter((c) => c[0] === "service" && (c[1] === "scale" || c[1] === "create"))
        .map((c) => (c[1] === "scale" ? c.join(" ") : `job ${c[5]}`));
    return { deps, out, err, changes };
  }

  test("lists the backups by a job on the instance's node", async () => {
    const s = swarm();
    expect(await runRestore(["hb", "--list"], s.deps)).toBe(0);
    expect(s.out[0]).toBe("Backups of hb (stack dev, service fleet-dev-hb on node node-2, version 1.1.0):");
    expect(s.out[1]).toContain(LIST[1]!.id);
    expect(s.changes()).toEqual(["job fleet-dev-hb-list-t"]);
  });

  test("one command: a verified backup, the writer stopped, the restore on its node, the service back", async () => {
    const s = swarm();
    expect(await runRestore(["hb", "--latest", "--yes"], s.deps)).toBe(0);
    expect(s.changes()).toEqual([
      "job fleet-dev-hb-list-t",
      "job fleet-dev-hb-backup-t",
      "job fleet-dev-hb-verify-t",
      "service scale --detach fleet-dev-hb=0 fleet-dev-hb-backup=0",
      "job fleet-dev-hb-restore-t",
      "service scale --detach fleet-dev-hb=1 fleet-dev-hb-backup=1",
    ]);
    expect(s.out.slice(-6)).toEqual([
      "Safety backup hb-safe of hb taken and verified on node node-2.",
      "Stopping fleet-dev-hb and fleet-dev-hb-backup (scale to 0) ...",
      `Restoring hb from ${LIST[0]!.id} on node node-2 ...`,
      `Restored ${LIST[0]!.id} (schema 3; the app's own safety backup: hb-app-safety).`,
      "Starting fleet-dev-hb and fleet-dev-hb-backup again ...",
      "hb runs again on node node-2, healthy.",
    ]);
    expect(s.err).toEqual([]);
  });

  test("a safety backup that fails verification stops everything before the service is touched", async () => {
    const s = swarm({ verify: false });
    expect(await runRestore(["hb", "--latest", "--yes"], s.deps)).toBe(1);
    expect(s.changes()).toEqual(["job fleet-dev-hb-list-t", "job fleet-dev-hb-backup-t", "job fleet-dev-hb-verify-t"]);
    expect(s.err).toEqual(["fleet restore: the safety backup hb-safe failed verification: app.db: sha256 mismatch"]);
  });

  test("a failed restore still starts the service again, and says the data was kept", async () => {
    const s = swarm({ restore: "failed" });
    expect(await runRestore(["hb", "--latest", "--yes"], s.deps)).toBe(1);
    expect(s.changes().slice(-3)).toEqual([
      "service scale --detach fleet-dev-hb=0 fleet-dev-hb-backup=0",
      "job fleet-dev-hb-restore-t",
      "service scale --detach fleet-dev-hb=1 fleet-dev-hb-backup=1",
    ]);
    expect(s.err).toEqual([
      `fleet restore: restoring ${LIST[0]!.id} failed: exit 1: job fleet-dev-hb-restore-t on node node-2: failed: task: non-zero exit (1); the app kept its data.`,
    ]);
  });
});
