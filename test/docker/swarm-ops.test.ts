/**
 * The operator commands on a swarm (`fleet:target swarm`), on the real engine: `status` reads the
 * instance from its service and task, `logs` through `docker service logs`, and `restore` takes a
 * verified backup, stops the service, restores on the instance's node and starts it again. The
 * instance is deployed by the replayer from a real render, its image pulled by digest from the
 * local registry, on the single-node swarm of ./swarm-setup.ts.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runLogs } from "../../ops/commands/logs";
import { runRestore } from "../../ops/commands/restore";
import { BackupSummary } from "../../components/app-contract";
import { endpointFor, realDocker } from "../../ops/core/docker";
import { statusRows } from "../../ops/core/status-model";
import { observeSwarm } from "../../ops/core/swarm-target";
import { parseInstanceText } from "../../components/fleet";
import {
  answersWithin,
  api,
  buildAppImage,
  cleanUp,
  localRegistry,
  phases,
  portBlock,
  render,
  ROOT,
  tierEngine,
} from "./engine";
import { docker, Replayer } from "./replay";
import { leaveTierSwarm, tierSwarm, type TierSwarm } from "./swarm-setup";

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `swops${RUN_ID}`;
const REPO = `fleet-swops-${RUN_ID}/app`;
// The swarm tier's ports: 22000–22999 (engine.ts portBlock lists the other files' ranges).
const PORT = portBlock(22000, 1000);
const NAME = "o1";
const SERVICE = `fleet-${STACK}-${NAME}`;
const TOKEN = randomBytes(24).toString("hex");
const YAML = [
  `title: ${NAME}`,
  `port: ${PORT}`,
  "healthcheck: {interval: 1s, timeout: 3s, startPeriod: 10s, retries: 3}",
  // Daily: no scheduled backup runs during the test.
  'backup: {schedule: "0 3 * * *", keep: 3}',
  "",
].join("\n");
const engine = tierEngine();
const phase = phases();
const cli = realDocker(endpointFor(""));
const output = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, o: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
};
let swarm: TierSwarm | undefined;
let registry = "";

async function entries(): Promise<string[]> {
  const r = await api<{ items: { title: string }[] }>(PORT, "/api/entries?archived=all&limit=50", TOKEN);
  return r.body.items.map((i) => i.title).sort();
}

async function writeEntry(title: string): Promise<void> {
  const types = await api<{ items: { id: number }[] }>(PORT, "/api/types", TOKEN);
  const created = await api(PORT, "/api/entries", TOKEN, {
    method: "POST",
    body: JSON.stringify({ typeId: types.body.items[0]!.id, title, description: "swarm ops" }),
  });
  expect(created.status).toBe(201);
}

/** The app's CLI in the service's running task (on this node). */
async function inTask(...args: string[]): Promise<string> {
  const id = await docker([
    "ps",
    "-q",
    "--filter",
    `label=com.docker.swarm.service.name=${SERVICE}`,
    "--filter",
    "health=healthy",
  ]);
  return docker(["exec", id.split("\n")[0]!, "node", "dist/cli.js", ...args]);
}

describe.runIf(engine)("operator commands on a swarm", () => {
  beforeAll(async () => {
    swarm = await tierSwarm();
    registry = await localRegistry();
    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    phase("swarm, registry, build v1");
    const dir = await mkdtemp(join(tmpdir(), "fleet-swops-"));
    await writeFile(join(dir, `${NAME}.yaml`), YAML);
    const r = await render({
      instances: dir,
      version: "1.0.0",
      stack: STACK,
      config: {
        "fleet:image": `${registry}/${REPO}`,
        "fleet:target": "swarm",
        "fleet:publishMode": "host",
        "fleet:placement": JSON.stringify({ "*": swarm.node }),
        "fleet:secretEnv": JSON.stringify({ [NAME]: { ADMIN_TOKEN: TOKEN } }),
      },
    });
    await new Replayer({ log: (line) => console.log(line) }).apply(r);
    expect(await answersWithin(PORT, "/api/health", 30_000)).toBeGreaterThanOrEqual(0);
    await writeEntry("kept");
    phase("deploy v1");
  });

  afterAll(async () => {
    if (swarm) await leaveTierSwarm(STACK, swarm);
    await cleanUp(STACK, [REPO, `${registry}/${REPO}`]);
    phase("clean up");
  });

  test("status: the service's task is the instance, healthy on its node, its data read in the task", () => {
    const parsed = parseInstanceText(YAML, `${NAME}.yaml`, NAME);
    const [row] = statusRows([parsed.spec!], "1.0.0", observeSwarm(cli, STACK), new Date());
    phase("status");
    expect(row).toMatchObject({
      instance: NAME,
      declared: "1.0.0",
      running: "1.0.0",
      container: `${SERVICE}.1@${swarm!.node}`,
      health: "healthy",
      restarts: 0,
      routeHealthy: true,
      backup: { enabled: true, schedule: "0 3 * * *", lastAt: null, ok: null, stale: false },
      problems: [],
    });
    expect(row!.dataBytes).toBeGreaterThan(0);
  });

  test("logs: the app service's lines through docker service logs", async () => {
    const { out, o } = output();
    expect(
      await runLogs([NAME, "--json", "--stack", STACK], { ...o, target: "swarm", docker: cli, stream: async () => 1 }),
    ).toBe(0);
    const lines = JSON.parse(out[0]!) as { container: string; time: string; line: string }[];
    expect(new Set(lines.map((l) => l.container))).toEqual(new Set([SERVICE]));
    expect(lines.every((l) => !Number.isNaN(Date.parse(l.time)))).toBe(true);
    expect(lines.some((l) => l.line.includes("listening"))).toBe(true);
  });

  test("restore: one command; a verified backup first, the service stopped and back, the data as it was", async () => {
    const { id } = JSON.parse(await inTask("backup", "create", "--reason", "manual")) as { id: string };
    await writeEntry("after the backup");
    expect(await entries()).toEqual(["after the backup", "kept"]);
    const { out, err, o } = output();
    const started = Date.now();
    const code = await runRestore([NAME, id, "--yes", "--stack", STACK], {
      ...o,
      target: "swarm",
      docker: cli,
      confirm: async () => false,
      interactive: false,
    });
    console.log(`swarm restore: ${Date.now() - started} ms\n${out.join("\n")}\n${err.join("\n")}`);
    phase("restore");
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(await answersWithin(PORT, "/api/health", 30_000)).toBeGreaterThanOrEqual(0);
    expect(await entries()).toEqual(["kept"]);
    // Two pre-restore backups hold the data the restore replaced: fleet's, verified before the
    // service stopped, and the app's own, taken under its lock right before the swap.
    const backups = BackupSummary.array().parse(JSON.parse(await inTask("backup", "list", "--json")));
    const safety = backups.filter((b) => b.reason === "pre-restore");
    expect(safety.map((b) => b.entries)).toEqual([2, 2]);
    expect(out).toContain(`Safety backup ${safety[1]!.id} of ${NAME} taken and verified on node ${swarm!.node}.`);
    // The service is back at one replica, the backup service too.
    for (const s of [SERVICE, `${SERVICE}-backup`]) {
      expect(await docker(["service", "inspect", s, "--format", "{{.Spec.Mode.Replicated.Replicas}}"])).toBe("1");
    }
    // No job is left behind.
    expect(
      await docker([
        "service",
        "ls",
        "-q",
        "--filter",
        `label=fleet.stack=${STACK}`,
        "--filter",
        "label=fleet.role=job",
      ]),
    ).toBe("");
  });
});
