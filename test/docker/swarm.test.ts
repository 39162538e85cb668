/**
 * The swarm target on a real engine: the program rendered with `fleet:target swarm`, applied by
 * the replayer (Service and Secret as the provider creates, updates, waits and reads them) to a
 * single-node swarm, with images pulled by digest from a local registry (Debian's docker-registry).
 *
 * The swarm: ./swarm-setup.ts.
 *
 * Publishing: the routing mesh needs IPVS, which some sandboxes lack; FLEET_SWARM_MESH=1 (set on
 * GitHub's runners) publishes through the mesh and requires an update with no failed request;
 * otherwise the port is published on the node (host mode, stop-first) and the test reports the
 * requests the gap failed.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  answersWithin,
  api,
  appWithExtraMigration,
  buildAppImage,
  cleanUp,
  localRegistry,
  phases,
  portBlock,
  render,
  ROOT,
  tierEngine,
} from "./engine";
import { startLoad } from "./load";
import { docker, Replayer, type Render } from "./replay";
import { leaveTierSwarm, tierSwarm, type TierSwarm } from "./swarm-setup";

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `swarm${RUN_ID}`;
const REPO = `fleet-swarm-${RUN_ID}/app`;
// The swarm tier's ports: 22000–22999 (engine.ts portBlock lists the other files' ranges).
const PORT = portBlock(22000, 1000);
const NAME = "s1";
const MESH = process.env.FLEET_SWARM_MESH === "1";
const engine = tierEngine();
const phase = phases();
const replayer = new Replayer({ log: (line) => console.log(line) });

let swarm: TierSwarm | undefined;
let node = "";
let registry = "";
let fleetDir = "";
let emptyDir = "";
const written: { title: string; sha: string; attachment: number }[] = [];
/**
 * The admin token, given in fleet:secretEnv: a render shows a generated token only as a
 * placeholder, and the Swarm secret holds the value itself, so the tier gives one.
 */
const TOKEN = randomBytes(24).toString("hex");

async function renderAt(version: string, instances = fleetDir): Promise<Render> {
  return render({
    instances,
    version,
    stack: STACK,
    config: {
      "fleet:image": `${registry}/${REPO}`,
      "fleet:target": "swarm",
      "fleet:publishMode": MESH ? "ingress" : "host",
      "fleet:placement": JSON.stringify({ "*": node }),
      "fleet:allowEmptyFleet": "true",
      "fleet:secretEnv": JSON.stringify(instances === emptyDir ? {} : { [NAME]: { ADMIN_TOKEN: TOKEN } }),
    },
  });
}

const token = () => TOKEN;

/** The running task's container of a service (on this node). */
async function taskContainer(service: string): Promise<string> {
  const ids = await docker([
    "ps",
    "-q",
    "--filter",
    `label=com.docker.swarm.service.name=${service}`,
    "--filter",
    "health=healthy",
  ]);
  const id = ids.split("\n")[0];
  if (!id) throw new Error(`no healthy task container of ${service}`);
  return id;
}

async function backups(): Promise<{ id: string; reason: string; fromVersion?: string; toVersion?: string }[]> {
  const out = await docker([
    "exec",
    await taskContainer(`fleet-${STACK}-${NAME}`),
    "node",
    "dist/cli.js",
    "backup",
    "list",
    "--json",
  ]);
  const parsed = JSON.parse(out) as { items?: unknown[] } | unknown[];
  return (Array.isArray(parsed) ? parsed : (parsed.items ?? [])) as {
    id: string;
    reason: string;
    fromVersion?: string;
    toVersion?: string;
  }[];
}

async function writeEntry(title: string): Promise<void> {
  const types = await api<{ items: { id: number }[] }>(PORT, "/api/types", token());
  const created = await api<{ id: number }>(PORT, "/api/entries", token(), {
    method: "POST",
    body: JSON.stringify({ typeId: types.body.items[0]!.id, title, description: "kept across updates" }),
  });
  expect(created.status).toBe(201);
  const bytes = randomBytes(4096);
  const form = new FormData();
  form.append("file", new Blob([bytes], { type: "application/octet-stream" }), "notes.bin");
  const up = await api<{ id: number; sha256: string }>(PORT, `/api/entries/${created.body.id}/attachments`, token(), {
    method: "POST",
    body: form,
  });
  expect(up.status).toBe(201);
  written.push({ title, sha: createHash("sha256").update(bytes).digest("hex"), attachment: up.body.id });
}

async function checkData(): Promise<void> {
  const list = await api<{ total: number }>(PORT, "/api/entries?archived=all&limit=1", token());
  expect(list.body.total).toBe(written.length);
  for (const w of written) {
    const res = await fetch(`http://127.0.0.1:${PORT}/api/attachments/${w.attachment}/download`, {
      headers: { authorization: `Bearer ${token()}` },
    });
    expect(res.status).toBe(200);
    expect(
      createHash("sha256")
        .update(Buffer.from(await res.arrayBuffer()))
        .digest("hex"),
    ).toBe(w.sha);
  }
}

async function version(): Promise<string> {
  return (await api<{ version: string }>(PORT, "/api/version")).body.version;
}

describe.runIf(engine)("swarm tier", () => {
  beforeAll(async () => {
    swarm = await tierSwarm();
    node = swarm.node;
    registry = await localRegistry();
    console.log(`swarm tier: stack ${STACK}, node ${node} (swarm made here: ${swarm.joined}), registry ${registry}`);
    phase("swarm");
    const migrations = (await readdir(join(ROOT, "app/migrations"))).filter((f) => /^\d{4}_.*\.sql$/.test(f));
    const next = String(migrations.length + 1).padStart(4, "0");
    // buildAppImage pushes each image to the registry: services pull it from there by digest.
    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    const sql = "CREATE TABLE swarm_tier_v2 (id INTEGER PRIMARY KEY);\n";
    await buildAppImage(`${REPO}:1.1.0`, await appWithExtraMigration(`${next}_swarm_tier_v2.sql`, sql), "1.1.0");
    const v3 = await appWithExtraMigration(`${next}_swarm_tier_v2.sql`, sql);
    const { writeFile, mkdtemp } = await import("node:fs/promises");
    // A server that answers every request, the health probe's included, with a 503.
    await writeFile(
      join(v3, "src/server.ts"),
      'import http from "node:http";\n' +
        "http.createServer((_req, res) => res.writeHead(503).end()).listen(Number(process.env.PORT));\n",
    );
    await buildAppImage(`${REPO}:1.2.0`, v3, "1.2.0");
    phase("build v1, v2, broken v3");
    fleetDir = await mkdtemp(join(tmpdir(), "fleet-swarm-fleet-"));
    await writeFile(
      join(fleetDir, `${NAME}.yaml`),
      [
        `title: ${NAME}`,
        `port: ${PORT}`,
        "healthcheck: {interval: 1s, timeout: 3s, startPeriod: 10s, retries: 3}",
        'backup: {schedule: "*/1 * * * *", keep: 3}',
        "",
      ].join("\n"),
    );
    emptyDir = await mkdtemp(join(tmpdir(), "fleet-swarm-empty-"));
  });

  afterAll(async () => {
    if (swarm) await leaveTierSwarm(STACK, swarm);
    await cleanUp(STACK, [REPO, `${registry}/${REPO}`]);
    phase("clean up");
  });

  test("v1: the service converges on its node, pulled by digest, and answers on its port", async () => {
    const r = await renderAt("1.0.0");
    await replayer.apply(r);
    phase("replay v1");
    expect(await answersWithin(PORT, "/api/health", 30_000)).toBeGreaterThanOrEqual(0);
    expect(await version()).toBe("1.0.0");
    const spec = JSON.parse(
      await docker(["service", "inspect", `fleet-${STACK}-${NAME}`, "--format", "{{json .Spec}}"]),
    ) as {
      TaskTemplate: { ContainerSpec: { Image: string; Secrets: { SecretName: string }[] }; Placement: unknown };
      Mode: unknown;
    };
    expect(spec.TaskTemplate.ContainerSpec.Image).toMatch(new RegExp(`^${registry}/${REPO}@sha256:[0-9a-f]{64}$`));
    expect(spec.TaskTemplate.Placement).toEqual({ Constraints: [`node.hostname==${node}`] });
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 1 } });
    // The admin token reaches the app only as a file, in a secret named by its content.
    const hash = createHash("sha256").update(TOKEN).digest("hex").slice(0, 12);
    expect(spec.TaskTemplate.ContainerSpec.Secrets.map((s) => s.SecretName)).toEqual([
      `fleet-${STACK}-${NAME}-admin-token-${hash}`,
    ]);
    const names = await docker([
      "exec",
      await taskContainer(`fleet-${STACK}-${NAME}`),
      "sh",
      "-c",
      "printenv | cut -d= -f1",
    ]);
    expect(names.split("\n")).toContain("ADMIN_TOKEN_FILE");
    expect(names.split("\n")).not.toContain("ADMIN_TOKEN");
    await writeEntry("before v2");
    // The backup service runs on the same node, on the same volumes.
    const sidecar = await docker([
      "service",
      "ps",
      `fleet-${STACK}-${NAME}-backup`,
      "--filter",
      "desired-state=running",
      "--format",
      "{{.Node}} {{.CurrentState}}",
    ]);
    // Starting until its first healthcheck (a minute apart) passes; placed on the instance's node.
    expect(sidecar).toMatch(new RegExp(`^${node} (Starting|Running)`));
  });

  test("day 2: applying the same render again changes nothing and reads back without drift", async () => {
    const before = replayer.events.length;
    await replayer.apply(await renderAt("1.0.0"));
    const steps = replayer.events.slice(before).map((e) => `${e.step} ${e.name}`);
    expect(steps.filter((s) => !s.startsWith("same "))).toEqual([]);
    phase("day 2");
  });

  test("v1 -> v2 under load: a verified pre-update backup first, the data kept, the new version serving", async () => {
    const load = startLoad(`http://127.0.0.1:${PORT}/api/health`, 40);
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    await replayer.apply(await renderAt("1.1.0"));
    const rollMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 1500));
    const result = await load.stop();
    const failed = result.requests - (result.status["200"] ?? 0);
    console.log(
      `swarm roll v1 -> v2 (${MESH ? "mesh, start-first" : "host port, stop-first"}): apply ${rollMs} ms, ` +
        `${result.requests} requests, ${failed} failed, status ${JSON.stringify(result.status)}, ` +
        `${Object.values(result.errors).reduce((a, b) => a + b, 0)} connection errors`,
    );
    phase("roll v1 -> v2 under load");
    if (MESH) expect(failed).toBe(0);
    expect(await version()).toBe("1.1.0");
    await checkData();
    const pre = (await backups()).filter((b) => b.reason === "pre-update");
    expect(pre.map((b) => [b.fromVersion, b.toVersion])).toEqual([["1.0.0", "1.1.0"]]);
    const verified = await docker([
      "exec",
      await taskContainer(`fleet-${STACK}-${NAME}`),
      "node",
      "dist/cli.js",
      "backup",
      "verify",
      pre[0]!.id,
    ]);
    expect(JSON.parse(verified)).toMatchObject({ ok: true });
    // The job that took it is gone.
    expect(await docker(["service", "ls", "-q", "--filter", `name=fleet-${STACK}-${NAME}-pre-update`])).toBe("");
  });

  test("a broken v3: Swarm rolls it back, the apply fails naming the instance, v2 serves again; the next apply fails again", async () => {
    const failure = await replayer.apply(await renderAt("1.2.0")).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    phase("broken v3");
    expect(failure?.message).toMatch(new RegExp(`^${NAME}-service: service rollback completed: `));
    // Host publishing updates stop-first (docs/swarm.md), so the rollback starts the v2 task again
    // after the v3 one stopped: Swarm reports the rollback complete once that task runs, which can
    // be before the app listens. The mesh (the default) rolls start-first, without this gap.
    expect(await answersWithin(PORT, "/api/health", 30_000)).toBeGreaterThanOrEqual(0);
    expect(await version()).toBe("1.1.0");
    await checkData();
    // The state now holds the v3 spec (the SDK keeps a failed update's plan): the service shows no
    // diff, and the convergence check fails, naming the instance and what runs.
    const again = await replayer.apply(await renderAt("1.2.0")).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(again?.message).toMatch(
      new RegExp(
        `^${NAME}-converged: .*instance ${NAME} runs version 1\\.1\\.0, not 1\\.2\\.0: Swarm rolled the update back`,
      ),
    );
    // Setting the running version back converges again.
    await replayer.apply(await renderAt("1.1.0"));
    expect(await answersWithin(PORT, "/api/health", 30_000)).toBeGreaterThanOrEqual(0);
    expect(await version()).toBe("1.1.0");
    phase("back to v2");
  });

  test("removing the instance removes its services and secrets and keeps its data volume", async () => {
    await replayer.apply(await renderAt("1.1.0", emptyDir));
    expect(await docker(["service", "ls", "-q", "--filter", `label=fleet.stack=${STACK}`])).toBe("");
    expect(await docker(["secret", "ls", "-q", "--filter", `label=fleet.stack=${STACK}`])).toBe("");
    expect(await docker(["volume", "ls", "-q", "--filter", `name=fleet-${STACK}-${NAME}-data`])).toBe(
      `fleet-${STACK}-${NAME}-data`,
    );
    phase("remove the instance");
  });
});
