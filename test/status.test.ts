import { describe, expect, test } from "vitest";
import { parseInstanceText } from "../components/fleet";
import type { InstanceSpec } from "../components/spec";
import type { DockerRunner } from "../ops/core/docker";
import { fakeDocker } from "./fake-docker";
import {
  instanceDataArgs,
  observeDocker,
  parseRoutes,
  routesArgs,
  SEPARATOR,
  stackContainersArgs,
} from "../ops/core/docker-target";
import { scheduleIntervalSeconds, staleLimitSeconds } from "../app/src/backup-stale";
import { showAge, showBytes, statusRows, type Observation } from "../ops/core/status-model";
import { runStatus, type StatusDeps } from "../ops/commands/status";
import { backupSummary } from "./backup-summary";

const NOW = new Date("2026-11-29T12:00:00Z");
const HOUR = 3600;

function spec(yaml: string, name: string): InstanceSpec {
  const parsed = parseInstanceText(yaml, `${name}.yaml`, name);
  if (!parsed.spec) throw new Error(parsed.problems.join("\n"));
  return parsed.spec;
}
const HOMEBREWS = spec('port: 5001\nbackup:\n  schedule: "0 * * * *"\n', "homebrews");
const PROJECTS = spec('port: 5002\nversion: "1.3.0"\n', "projects");

/** `docker inspect` of one app container, as Docker 20.10 prints the fields status reads. */
function inspected(o: {
  id: string;
  instance: string;
  version: string;
  health?: string;
  status?: string;
  started?: string;
  restarts?: number;
  probe?: string;
}) {
  return {
    Id: o.id,
    Name: `/${o.instance}-app-${o.id.slice(0, 7)}`,
    RestartCount: o.restarts ?? 0,
    State: {
      Status: o.status ?? "running",
      StartedAt: o.started ?? "2026-11-29T10:00:00.123456789Z",
      Health: { Status: o.health ?? "healthy", Log: [{ Output: o.probe ?? "" }] },
    },
    Config: { Labels: { "fleet.instance": o.instance, "fleet.version": o.version, "fleet.role": "app" } },
  };
}

const HB = "a".repeat(64);
const HB_OLD = "b".repeat(64);
const PR = "c".repeat(64);
const SIDECAR = "d".repeat(64);
const PROXY = "e".repeat(64);

describe("docker target builders", () => {
  test("list every fleet container of the stack with role and instance", () => {
    expect(stackContainersArgs("dev")).toEqual([
      "ps",
      "-a",
      "--no-trunc",
      "--filter",
      "label=fleet.managed=true",
      "--filter",
      "label=fleet.stack=dev",
      "--format",
      '{{.ID}}\t{{.Label "fleet.role"}}\t{{.Label "fleet.instance"}}',
    ]);
  });
  test("read routes and instance data with one exec each", () => {
    expect(routesArgs("p")).toEqual([
      "exec",
      "p",
      "sh",
      "-c",
      `for f in /data/routes/*.sock; do [ -L "$f" ] && printf '%s\\t%s\\n' "$f" "$(readlink "$f")"; done; true`,
    ]);
    expect(instanceDataArgs("c")).toEqual([
      "exec",
      "c",
      "sh",
      "-c",
      `du -sb /data | cut -f1; echo ${SEPARATOR}; cat /backups/.last-run.json 2>/dev/null; echo; echo ${SEPARATOR}; exec "$@"`,
      "sh",
      "node",
      "dist/cli.js",
      "backup",
      "list",
      "--json",
    ]);
  });
  test("a route is the short id of the socket's container; foreign targets are ignored", () => {
    expect(
      parseRoutes(
        "/data/routes/homebrews.sock\t/sockets/homebrews/aaaaaaaaaaaa.sock\n" +
          "/data/routes/projects.sock\t/sockets/homebrews/cccccccccccc.sock\n",
      ),
    ).toEqual(new Map([["homebrews", "aaaaaaaaaaaa"]]));
  });
});

function dataOut(bytes: string, lastRun: object | null, list: object[]): string {
  return `${bytes}\n${SEPARATOR}\n${lastRun ? JSON.stringify(lastRun) : ""}\n${SEPARATOR}\n${JSON.stringify(list)}\n`;
}

function fleetDocker(o: { projectsProbe?: string; routeProjectsTo?: string; lastRunFailed?: boolean } = {}) {
  return fakeDocker([
    [
      stackContainersArgs("dev"),
      {
        stdout: [
          `${HB}\tapp\thomebrews`,
          `${HB_OLD}\tapp\thomebrews`,
          `${PR}\tapp\tprojects`,
          `${SIDECAR}\tbackup\thomebrews`,
          `${PROXY}\tproxy\t`,
        ]
          .map((l) => l + "\n")
          .join(""),
      },
    ],
    [
      ["inspect", HB, HB_OLD, PR],
      {
        stdout: JSON.stringify([
          inspected({ id: HB, instance: "homebrews", version: "1.4.0", restarts: 2 }),
          inspected({
            id: HB_OLD,
            instance: "homebrews",
            version: "1.3.0",
            status: "exited",
            started: "2026-11-28T10:00:00Z",
          }),
          inspected({
            id: PR,
            instance: "projects",
            version: "1.4.0",
            health: o.projectsProbe ? "unhealthy" : "healthy",
            probe: o.projectsProbe ?? "",
          }),
        ]),
      },
    ],
    [
      routesArgs(PROXY),
      {
        stdout:
          `/data/routes/homebrews.sock\t/sockets/homebrews/${HB.slice(0, 12)}.sock\n` +
          `/data/routes/projects.sock\t/sockets/projects/${(o.routeProjectsTo ?? PR).slice(0, 12)}.sock\n`,
      },
    ],
    [
      instanceDataArgs(HB),
      {
        stdout: dataOut(
          "5342208",
          o.lastRunFailed
            ? {
                at: "2026-11-29T11:00:00.000Z",
                ok: false,
                reason: "scheduled",
                id: null,
                error: "SQLITE_FULL: database or disk is full",
              }
            : { at: "2026-11-29T11:00:00.000Z", ok: true, reason: "scheduled", id: "homebrews-b", error: null },
          [
            backupSummary("homebrews-b", "2026-11-29T11:00:00.000Z", "scheduled", "1.4.0", null, null),
            backupSummary("homebrews-a", "2026-11-29T10:00:00.000Z", "pre-update", "1.3.0", "1.3.0", "1.4.0"),
          ],
        ),
      },
    ],
    [instanceDataArgs(PR), { stdout: dataOut("4096", null, []) }],
  ]);
}

describe("status rows from a Docker host", () => {
  const declared = [HOMEBREWS, PROJECTS];

  test("a healthy fleet: versions, pin, uptime, restarts, routes, backups, data size, nothing off", () => {
    const docker = fleetDocker();
    const [hb, pr] = statusRows(declared, "1.4.0", observeDocker(docker, "dev"), NOW);
    expect(hb).toEqual({
      instance: "homebrews",
      declared: "1.4.0",
      pinned: false,
      running: "1.4.0",
      container: `homebrews-app-${HB.slice(0, 7)}`,
      health: "healthy",
      lastProbe: null,
      uptimeSeconds: 2 * HOUR,
      restarts: 2,
      route: HB.slice(0, 12),
      routeHealthy: true,
      backup: {
        enabled: true,
        schedule: "0 * * * *",
        lastAt: "2026-11-29T11:00:00.000Z",
        ageSeconds: HOUR,
        ok: true,
        error: null,
        stale: false,
      },
      offsite: null,
      dataBytes: 5342208,
      problems: [],
    });
    // projects pins 1.3.0 and runs 1.4.0; its default daily schedule has had no backup for 2 h: not stale yet.
    expect(pr?.problems).toEqual(["runs 1.4.0, declared 1.3.0"]);
    expect([pr?.pinned, pr?.backup.lastAt, pr?.backup.stale, pr?.dataBytes]).toEqual([true, null, false, 4096]);
  });

  test("unhealthy with the last probe output, a route to a container that is not healthy, a failed backup", () => {
    const docker = fleetDocker({ projectsProbe: "HTTP/1.0 503\n", lastRunFailed: true });
    const rows = statusRows(declared, "1.3.0", observeDocker(docker, "dev"), NOW);
    expect(rows.map((r) => r.problems)).toEqual([
      [
        "runs 1.4.0, declared 1.3.0",
        "the last backup failed at 2026-11-29T11:00:00.000Z: SQLITE_FULL: database or disk is full",
      ],
      [
        "unhealthy: HTTP/1.0 503",
        "runs 1.4.0, declared 1.3.0",
        `the route points to projects-app-${PR.slice(0, 7)}, which is unhealthy`,
      ],
    ]);
    expect(rows[1]?.lastProbe).toBe("HTTP/1.0 503");
  });

  test("a backup older than twice its schedule is stale; an instance without containers is missing", () => {
    const obs: Observation = observeDocker(fleetDocker(), "dev");
    const late = new Date(NOW.getTime() + 2 * HOUR * 1000 + 1000);
    const third = spec("port: 5003\n", "notes");
    const rows = statusRows([HOMEBREWS, third], "1.4.0", obs, late);
    expect(rows.map((r) => [r.instance, r.backup.stale, r.problems])).toEqual([
      [
        "homebrews",
        true,
        [`the newest backup is ${3 * HOUR + 1} s old; twice the schedule "0 * * * *" is ${2 * HOUR} s`],
      ],
      [
        "notes",
        false,
        ["no app container: not deployed, or removed", "no route: the proxy does not send traffic to it"],
      ],
      ["projects", false, ["no instance file declares it (its data volume is kept)"]],
    ]);
  });

  test("a weekday schedule is measured by its longest gap, as the backup sidecar and the dashboard measure it", () => {
    const weekdays = spec('port: 5004\nbackup:\n  schedule: "0 3 * * 1-5"\n', "weekdays");
    // Monday 02:00, 71 h after Friday's backup: within twice the weekend's 3-day gap.
    const monday = new Date("2026-11-30T02:00:00Z");
    const id = "f".repeat(64);
    const obs: Observation = {
      containers: [
        {
          id,
          name: "weekdays-app-fffffff",
          instance: "weekdays",
          version: "1.4.0",
          state: "running",
          health: "healthy",
          lastProbe: "",
          startedAt: "2026-11-01T00:00:00Z",
          restarts: 0,
        },
      ],
      routes: new Map([["weekdays", id.slice(0, 12)]]),
      data: new Map([
        [
          "weekdays",
          {
            backups: [backupSummary("w-1", "2026-11-27T03:00:00.000Z", "scheduled", "1.4.0", null, null)],
            lastRun: null,
            dataBytes: 1,
            offsite: null,
          },
        ],
      ]),
    };
    const [row] = statusRows([weekdays], "1.4.0", obs, monday);
    expect([row?.backup.ageSeconds, row?.backup.stale, row?.problems]).toEqual([71 * HOUR, false, []]);
    expect(staleLimitSeconds("0 3 * * 1-5", monday)).toBe(6 * 86400);
  });

  test("the app printing another backup shape is a problem named by its field, not a blank", () => {
    const docker = fakeDocker([
      [stackContainersArgs("dev"), { stdout: `${HB}\tapp\thomebrews\n` }],
      [["inspect", HB], { stdout: JSON.stringify([inspected({ id: HB, instance: "homebrews", version: "1.4.0" })]) }],
      [instanceDataArgs(HB), { stdout: dataOut("1", null, [{ id: "x", created: "t" }]) }],
    ]);
    const [hb] = statusRows([HOMEBREWS], "1.4.0", observeDocker(docker, "dev"), NOW);
    expect(hb?.problems).toEqual([
      "no route: the proxy does not send traffic to it",
      "the backups could not be read: backup list --json printed JSON the app does not print: at 0.createdAt: Invalid input: expected string, received undefined",
    ]);
  });
});

describe("npm run status", () => {
  function deps(docker: DockerRunner) {
    const out: string[] = [];
    const err: string[] = [];
    const d: StatusDeps = {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      declared: () => ({ version: "1.4.0", instances: [HOMEBREWS, PROJECTS] }),
      observe: (stack) => observeDocker(docker, stack),
      now: () => NOW,
    };
    return { d, out, err };
  }

  test("prints the table and each problem, exits 1 when anything is off", async () => {
    const { d, out } = deps(fleetDocker());
    expect(await runStatus([], d)).toBe(1);
    expect(out.join("\n")).toBe(
      [
        "┌───────────┬─────────────┬─────────┬─────────┬───────────────┬─────────────────┬────────────┬──────────┬──────┬─────┐",
        "│ instance  │ declared    │ running │ health  │ up / restarts │ route           │ backup     │ off-site │ data │     │",
        `│ homebrews │ 1.4.0       │ 1.4.0   │ healthy │ 2h / 2        │ ${HB.slice(0, 12)} ok │ 60m ago ok │ -        │ 5.1M │ ok  │`,
        `│ projects  │ 1.3.0 (pin) │ 1.4.0   │ healthy │ 2h / 0        │ ${PR.slice(0, 12)} ok │ none yet   │ -        │ 4.0K │ OFF │`,
        "└───────────┴─────────────┴─────────┴─────────┴───────────────┴─────────────────┴────────────┴──────────┴──────┴─────┘",
        "projects: runs 1.4.0, declared 1.3.0",
      ].join("\n"),
    );
  });

  test("--json carries the row model; NAME selects rows and exits 0 when those are fine", async () => {
    const { d, out } = deps(fleetDocker());
    expect(await runStatus(["homebrews", "--json"], d)).toBe(0);
    const parsed = JSON.parse(out.join("\n")) as { stack: string; ok: boolean; rows: { instance: string }[] };
    expect([parsed.stack, parsed.ok, parsed.rows.map((r) => r.instance)]).toEqual(["dev", true, ["homebrews"]]);
  });

  test("an unknown name is an error listing the instances", async () => {
    const { d, err } = deps(fleetDocker());
    expect(await runStatus(["nope"], d)).toBe(1);
    expect(err).toEqual(["fleet status: no instance nope in stack dev; instances: homebrews, projects"]);
  });
});

describe("formatting", () => {
  test.each([
    [0, "0s"],
    [119, "119s"],
    [120, "2m"],
    [7199, "120m"],
    [7200, "2h"],
    [172800, "2d"],
  ])("age %i s -> %s", (s, shown) => expect(showAge(s)).toBe(shown));
  test.each([
    [512, "512B"],
    [1536, "1.5K"],
    [5342208, "5.1M"],
    [40 * 2 ** 30, "40G"],
  ])("%i bytes -> %s", (b, shown) => expect(showBytes(b)).toBe(shown));
  test("the schedule's interval is measured between two runs", () => {
    expect(scheduleIntervalSeconds("0 3 * * *", NOW)).toBe(86400);
    expect(scheduleIntervalSeconds("*/5 * * * *", NOW)).toBe(300);
  });
});
