/**
 * Two swarm nodes on one engine: the engine is the manager, and a second node is a container
 * running Debian's dockerd (./swarm-node/Dockerfile) joined as a worker. An instance placed on the
 * worker runs there, pulls its image by digest from the local registry, and its backups happen on
 * the worker: the backup service's task is on it, and `status` and `restore` reach the data there
 * with jobs on that node (ops/core/swarm-jobs.ts), never through the manager's own engine.
 *
 * The manager must be reachable from the worker's network, so the swarm is made on the bridge's
 * gateway address; an engine already in a swarm is not touched and the file is skipped. The
 * registry listens on the manager's loopback (Docker pulls plain HTTP only from 127.0.0.0/8): this
 * process forwards the gateway's port to it, and socat in the worker forwards its own loopback to
 * the gateway, so both nodes pull `127.0.0.1:<port>/...`.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runRestore } from "../../ops/commands/restore";
import { parseInstanceText } from "../../components/fleet";
import { endpointFor, realDocker } from "../../ops/core/docker";
import { statusRows } from "../../ops/core/status-model";
import { observeSwarm } from "../../ops/core/swarm-target";
import {
  BASE_IMAGE,
  buildAppImage,
  cleanUp,
  localRegistry,
  phases,
  portBlock,
  render,
  ROOT,
  TIER_LABEL,
  tierEngine,
} from "./engine";
import { docker, Replayer } from "./replay";

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `swnodes${RUN_ID}`;
const REPO = `fleet-swnodes-${RUN_ID}/app`;
const WORKER = `fleet-swnode-${RUN_ID}`;
const NODE_IMAGE = `fleet-swarm-node:${RUN_ID}`;
// The swarm tier's ports: 22000–22999 (engine.ts portBlock lists the other files' ranges).
const PORT = portBlock(22000, 1000);
const NAME = "w1";
const SERVICE = `fleet-${STACK}-${NAME}`;
const TOKEN = randomBytes(24).toString("hex");
const YAML = [
  `title: ${NAME}`,
  `port: ${PORT}`,
  "healthcheck: {interval: 1s, timeout: 3s, startPeriod: 10s, retries: 3}",
  'backup: {schedule: "*/1 * * * *", keep: 3}',
  "",
].join("\n");
const engine = tierEngine();
const phase = phases();
const cli = realDocker(endpointFor(""));
let made = false;
let registry = "";
let forwarder: Server | undefined;
let workerIp = "";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inWorker(...args: string[]): Promise<string> {
  return docker(["exec", WORKER, ...args]);
}

/** The app's answer on the worker's published port (host mode: on the instance's node only). */
async function onWorker(path: string): Promise<Response> {
  return fetch(`http://${workerIp}:${PORT}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
}

describe.runIf(engine)("a swarm of two nodes", () => {
  beforeAll(async () => {
    if ((await docker(["info", "--format", "{{.Swarm.LocalNodeState}}"])) !== "inactive") {
      throw new Error(
        "swarm nodes: the engine is already in a swarm; this file makes its own (docker swarm leave first)",
      );
    }
    const gateway = await docker(["network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"]);
    await docker([
      "build",
      "--quiet",
      "--build-arg",
      `BASE=${BASE_IMAGE}`,
      "--label",
      TIER_LABEL,
      "--tag",
      NODE_IMAGE,
      join(ROOT, "test/docker/swarm-node"),
    ]);
    phase("node image");
    await docker(["swarm", "init", "--advertise-addr", gateway, "--listen-addr", `${gateway}:2377`]);
    made = true;
    // Not --privileged: that asks for every capability, and an engine whose own set lacks one
    // (CAP_SYS_RESOURCE here) fails to start it ("unable to apply caps").
    await docker([
      "run",
      "--detach",
      "--name",
      WORKER,
      "--hostname",
      WORKER,
      "--label",
      TIER_LABEL,
      "--cap-add",
      "ALL",
      "--cap-drop",
      "SYS_RESOURCE",
      "--security-opt",
      "seccomp=unconfined",
      "--security-opt",
      "apparmor=unconfined",
      "--security-opt",
      "systempaths=unconfined",
      "--device-cgroup-rule",
      "a *:* rwm",
      "--volume",
      `${WORKER}-lib:/var/lib/docker`,
      NODE_IMAGE,
      "--bip",
      "10.199.0.1/24",
    ]);
    for (
      let i = 0;
      i < 60 &&
      (await inWorker("docker", "info").then(
        () => false,
        () => true,
      ));
      i++
    )
      await sleep(500);
    workerIp = await docker(["inspect", WORKER, "--format", "{{.NetworkSettings.IPAddress}}"]);
    const token = await docker(["swarm", "join-token", "worker", "-q"]);
    await inWorker("docker", "swarm", "join", "--token", token, `${gateway}:2377`);
    registry = await localRegistry();
    const port = Number(registry.split(":")[1]);
    forwarder = createServer((c) => {
      const up = connect(port, "127.0.0.1");
      c.pipe(up).pipe(c);
      c.on("error", () => up.destroy());
      up.on("error", () => c.destroy());
    }).listen(port, gateway);
    await docker([
      "exec",
      "--detach",
      WORKER,
      "socat",
      `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`,
      `TCP:${gateway}:${port}`,
    ]);
    console.log(`swarm nodes: manager on ${gateway}, worker ${WORKER} at ${workerIp}, registry ${registry}`);
    phase("swarm of two nodes");
    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    phase("build v1");
  });

  afterAll(async () => {
    const services = await docker(["service", "ls", "-q", "--filter", `label=fleet.stack=${STACK}`]).catch(() => "");
    if (services) await docker(["service", "rm", ...services.split("\n")]);
    const secrets = await docker(["secret", "ls", "-q", "--filter", `label=fleet.stack=${STACK}`]).catch(() => "");
    if (secrets) await docker(["secret", "rm", ...secrets.split("\n")]).catch(() => "");
    await docker(["rm", "--force", WORKER]).catch(() => "");
    await docker(["volume", "rm", "--force", `${WORKER}-lib`]).catch(() => "");
    if (made) await docker(["swarm", "leave", "--force"]);
    forwarder?.close();
    await cleanUp(STACK, [REPO, `${registry}/${REPO}`]);
    await docker(["rmi", "--force", NODE_IMAGE]).catch(() => "");
    phase("clean up");
  });

  test("an instance placed on the worker runs there, and its backups are taken there", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleet-swnodes-"));
    await writeFile(join(dir, `${NAME}.yaml`), YAML);
    const r = await render({
      instances: dir,
      version: "1.0.0",
      stack: STACK,
      config: {
        "fleet:image": `${registry}/${REPO}`,
        "fleet:target": "swarm",
        "fleet:publishMode": "host",
        "fleet:placement": JSON.stringify({ [NAME]: WORKER }),
        "fleet:secretEnv": JSON.stringify({ [NAME]: { ADMIN_TOKEN: TOKEN } }),
      },
    });
    await new Replayer({ log: (line) => console.log(line) }).apply(r);
    phase("deploy on the worker");
    expect((await onWorker("/api/health")).status).toBe(200);
    const nodes = await docker([
      "service",
      "ps",
      SERVICE,
      `${SERVICE}-backup`,
      "--filter",
      "desired-state=running",
      "--format",
      "{{.Name}} {{.Node}}",
    ]);
    expect(nodes.split("\n").sort()).toEqual([`${SERVICE}-backup.1 ${WORKER}`, `${SERVICE}.1 ${WORKER}`]);
    // The manager's engine holds no container of the stack: everything runs on the worker.
    expect(await docker(["ps", "-aq", "--filter", `label=fleet.stack=${STACK}`])).toBe("");
    expect(await inWorker("docker", "volume", "ls", "-q", "--filter", `name=fleet-${STACK}-${NAME}`)).toBe(
      `fleet-${STACK}-${NAME}-backups\nfleet-${STACK}-${NAME}-data`,
    );

    // The backup service's schedule runs every minute, on the worker's volumes; status reads them
    // there with a job.
    const spec = parseInstanceText(YAML, `${NAME}.yaml`, NAME).spec!;
    let row = statusRows([spec], "1.0.0", observeSwarm(cli, STACK), new Date())[0]!;
    for (let i = 0; i < 30 && row.backup.lastAt === null; i++) {
      await sleep(5000);
      row = statusRows([spec], "1.0.0", observeSwarm(cli, STACK), new Date())[0]!;
    }
    phase("a scheduled backup on the worker");
    expect(row).toMatchObject({ running: "1.0.0", container: `${SERVICE}.1@${WORKER}`, health: "healthy" });
    expect(row.backup.ok).toBe(true);
    expect(row.problems).toEqual([]);

    // Restore on the worker: a job there, with the service stopped and started again.
    const out: string[] = [];
    const err: string[] = [];
    const code = await runRestore([NAME, "--latest", "--yes", "--stack", STACK], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      target: "swarm",
      docker: cli,
      confirm: async () => false,
      interactive: false,
    });
    console.log(out.join("\n"));
    phase("restore on the worker");
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out.at(-1)).toBe(`${NAME} runs again on node ${WORKER}, healthy.`);
    expect((await onWorker("/api/health")).status).toBe(200);
  });
});
