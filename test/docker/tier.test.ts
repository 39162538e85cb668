/**
 * The docker tier: renders a test fleet through the real program, replays it on a real Docker
 * engine, and proves what mocks cannot: the image builds, the declared healthcheck passes, the
 * hardening holds, data survives replacements and upgrades, backups verify and restore, a
 * broken version never takes traffic, rolls drop no request, and removing an instance keeps
 * its data.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  api,
  appWithExtraMigration,
  BASE_IMAGE,
  buildAppImage,
  cleanUp,
  phases,
  PROXY_IMAGE,
  render,
  ROOT,
  tierConfig,
  tierEngine,
} from "./engine";
import { startLoad, type LoadResult } from "./load";
import { docker, Replayer, type Render } from "./replay";
import {
  BACKUP_DIR,
  backupListArgs,
  backupRestoreArgs,
  BackupSummary,
  backupVerifyArgs,
  DATA_DIR,
  ENV,
  envEntry,
  LABEL,
  labelFilter,
  parseAppJson,
} from "../../components/app-contract";
import { HEALTH_PROBE } from "../../components/app-instance";

const FIXTURE = join(ROOT, "test/docker/fleet");
const RUN_ID = randomBytes(3).toString("hex");
const STACK = `tier${RUN_ID}`;
const REPO = `fleet-tier-${RUN_ID}/app`;
// Ports per run: two runs on one host would otherwise share the fixture's ports silently (the
// proxy's listeners use SO_REUSEPORT), and each would see the other's instances.
const PORT_BASE = 19000 + 10 * Math.floor(Math.random() * 90);
const PORTS = { alpha: PORT_BASE + 1, beta: PORT_BASE + 2, gamma: PORT_BASE + 3 };
type Instance = keyof typeof PORTS;
const INSTANCES = Object.keys(PORTS) as Instance[];

const engine = tierEngine();

const phase = phases();
const replayer = new Replayer({ log: (l) => console.log(l) });
const config = tierConfig(REPO, 20000 + Math.floor(Math.random() * 9000));
/** The fixture fleet with this run's ports. */
const FLEET = mkdtempSync(join(tmpdir(), "fleet-tier-fleet-"));
for (const [i, port] of Object.entries(PORTS)) {
  const text = readFileSync(join(FIXTURE, `${i}.yaml`), "utf8");
  writeFileSync(join(FLEET, `${i}.yaml`), text.replace(/^port: \d+$/m, `port: ${port}`));
}

/**
 * The program refuses backup schedules that fire more than once a minute (components/spec.ts), so
 * the fixture says every minute; the tier cannot wait minutes for the sidecar, so it speeds up only
 * the rendered sidecar command to every 2 seconds (the app's scheduler takes a seconds field).
 */
const TIER_CRON = "*/2 * * * * *";
function fastSidecars(r: Render): Render {
  for (const res of r.resources) {
    const command = (res.inputs as { command?: unknown }).command;
    if (!Array.isArray(command)) continue;
    const at = command.indexOf("--cron");
    if (at >= 0) command[at + 1] = TIER_CRON;
  }
  return r;
}

const renderAt = async (version: string, instances = FLEET): Promise<Render> =>
  fastSidecars(await render({ instances, version, stack: STACK, config }));

/** What each instance holds before an upgrade, to compare after it. */
const written: Record<Instance, { entries: number; attachments: Map<number, string> }> = {
  alpha: { entries: 0, attachments: new Map() },
  beta: { entries: 0, attachments: new Map() },
  gamma: { entries: 0, attachments: new Map() },
};
let schemaV1 = 0;

function token(instance: Instance): string {
  return replayer.outputs(`${instance}-admin-token`).result as string;
}

function appContainer(instance: Instance): string {
  return replayer.outputs(`${instance}-app`).name as string;
}

/** The parts of `docker inspect` the tier asserts on. */
interface Inspect {
  State: { Health: { Status: string } };
  Config: { User: string; Image: string; Labels: Record<string, string>; Healthcheck: { Test: string[] } };
  HostConfig: {
    ReadonlyRootfs: boolean;
    CapDrop: string[];
    SecurityOpt: string[];
    Memory: number;
    LogConfig: { Type: string; Config: Record<string, string> };
    // Docker 20.10 stores null for a container without port bindings; newer engines may store {}.
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null;
  };
  Mounts: { Destination: string; Name: string }[];
}

async function inspect(name: string): Promise<Inspect> {
  return (JSON.parse(await docker(["inspect", name])) as Inspect[])[0]!;
}

async function writeData(instance: Instance, n: number): Promise<void> {
  const t = token(instance);
  const types = await api<{ items: { id: number }[] }>(PORTS[instance], "/api/types", t);
  const typeId = types.body.items[0]!.id;
  for (let i = 0; i < n; i++) {
    const created = await api<{ id: number }>(PORTS[instance], "/api/entries", t, {
      method: "POST",
      body: JSON.stringify({ typeId, title: `${instance} entry ${i}`, description: `written before the upgrade ${i}` }),
    });
    expect(created.status).toBe(201);
    const bytes = randomBytes(2048 + i);
    const form = new FormData();
    form.append("file", new Blob([bytes], { type: "application/octet-stream" }), `notes-${i}.bin`);
    const up = await api<{ id: number; sha256: string }>(
      PORTS[instance],
      `/api/entries/${created.body.id}/attachments`,
      t,
      {
        method: "POST",
        body: form,
      },
    );
    expect(up.status).toBe(201);
    const sha = createHash("sha256").update(bytes).digest("hex");
    expect(up.body.sha256).toBe(sha);
    written[instance].attachments.set(up.body.id, sha);
  }
  written[instance].entries += n;
}

async function checkData(instance: Instance, port: number = PORTS[instance], t = token(instance)): Promise<void> {
  const list = await api<{ total: number }>(port, "/api/entries?archived=all&limit=1", t);
  expect(list.status).toBe(200);
  expect(list.body.total).toBe(written[instance].entries);
  for (const [id, sha] of written[instance].attachments) {
    const res = await fetch(`http://127.0.0.1:${port}/api/attachments/${id}/download`, {
      headers: { authorization: `Bearer ${t}` },
    });
    expect(res.status).toBe(200);
    const got = createHash("sha256")
      .update(Buffer.from(await res.arrayBuffer()))
      .digest("hex");
    expect(got).toBe(sha);
  }
}

/** Steady load (60 requests/s per instance) through the proxy while `during` runs. */
async function underLoad<T>(during: () => Promise<T>): Promise<{ result: T; loads: LoadResult[] }> {
  const loads = INSTANCES.map((i) => startLoad(`http://127.0.0.1:${PORTS[i]}/api/health`, 60));
  let outcome: { result: T } | { error: unknown };
  try {
    await new Promise((r) => setTimeout(r, 1000));
    outcome = { result: await during() };
    // Keep loading while the old containers are deleted.
    await new Promise((r) => setTimeout(r, 1500));
  } catch (error) {
    outcome = { error };
  }
  const totals = await Promise.all(loads.map((l) => l.stop()));
  if ("error" in outcome) throw outcome.error;
  return { result: outcome.result, loads: totals };
}

function expectNoFailures(loads: LoadResult[]): void {
  for (const l of loads) {
    console.log(
      `load ${l.url}: ${l.requests} requests at ${l.rps.toFixed(1)}/s, status ${JSON.stringify(l.status)}, errors ${JSON.stringify(l.errors)}`,
    );
    expect(l.rps).toBeGreaterThanOrEqual(50);
    expect({ status: Object.keys(l.status), errors: l.errors }).toEqual({ status: ["200"], errors: {} });
  }
}

async function backupsOf(instance: Instance): Promise<BackupSummary[]> {
  const out = await docker(["exec", appContainer(instance), ...backupListArgs()]);
  // Exactly what the app prints (components/app-contract.ts), no other spelling guessed.
  return parseAppJson("backup list --json", BackupSummary.array(), out);
}

describe.runIf(engine)("docker tier", () => {
  beforeAll(async () => {
    console.log(`docker tier: stack ${STACK}, images ${REPO}, base ${BASE_IMAGE}, proxy ${PROXY_IMAGE}`);
    const migrations = (await readdir(join(ROOT, "app/migrations"))).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
    schemaV1 = migrations.length;
    const next = String(schemaV1 + 1).padStart(4, "0");
    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    phase("build v1");
    const v2 = await appWithExtraMigration(
      `${next}_docker_tier_v2.sql`,
      "CREATE TABLE docker_tier_v2 (id INTEGER PRIMARY KEY);\n",
    );
    await buildAppImage(`${REPO}:2.0.0`, v2, "2.0.0");
    phase("build v2");
    const v3 = await appWithExtraMigration(
      `${next}_docker_tier_v2.sql`,
      "CREATE TABLE docker_tier_v2 (id INTEGER PRIMARY KEY);\n",
    );
    const { writeFile } = await import("node:fs/promises");
    // A server that answers every request, the health probe's included, with a 503.
    await writeFile(
      join(v3, "src/server.ts"),
      'import http from "node:http";\n' +
        "http.createServer((_req, res) => res.writeHead(503).end()).listen(Number(process.env.PORT));\n",
    );
    await buildAppImage(`${REPO}:3.0.0`, v3, "3.0.0");
    phase("build v3 (broken healthcheck)");
    const sizes = await docker(["image", "inspect", "--format", "{{.Size}}", `${REPO}:1.0.0`, BASE_IMAGE]);
    const [app, base] = sizes.split("\n").map(Number) as [number, number];
    console.log(
      `image report: framework image ${(app / 1e6).toFixed(1)} MB, base ${(base / 1e6).toFixed(1)} MB, added ${((app - base) / 1e6).toFixed(1)} MB`,
    );
  });

  afterAll(async () => {
    await cleanUp(STACK, [REPO]);
    phase("clean up");
  });

  test("v1: every container becomes healthy through the declared healthcheck and answers through the proxy", async () => {
    const r = await renderAt("1.0.0");
    await replayer.apply(r);
    phase("replay v1");
    for (const i of INSTANCES) {
      const c = await inspect(appContainer(i));
      expect(c.State.Health.Status).toBe("healthy");
      expect(c.Config.Healthcheck.Test).toEqual(HEALTH_PROBE);
      const health = await api<{ status: string; schemaVersion: number }>(PORTS[i], "/api/health");
      expect(health.status).toBe(200);
      expect(health.body.status).toBe("ok");
      expect(health.body.schemaVersion).toBe(schemaV1);
      const version = await api<{ version: string }>(PORTS[i], "/api/version");
      expect(version.body.version).toBe("1.0.0");
    }
  });

  test("containers are hardened: non-root, read-only root, no capabilities, no-new-privileges, limits, log rotation, labels", async () => {
    for (const i of INSTANCES) {
      const c = await inspect(appContainer(i));
      expect(c.Config.User).toBe("10001:10001");
      expect(c.HostConfig.ReadonlyRootfs).toBe(true);
      expect(c.HostConfig.CapDrop).toEqual(["ALL"]);
      expect(c.HostConfig.SecurityOpt).toEqual(["no-new-privileges:true"]);
      expect(c.HostConfig.Memory).toBe(256 * 1024 * 1024);
      expect(c.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { "max-file": "3", "max-size": "10m" } });
      // No published port: the proxy reaches the app through its unix socket.
      expect(Object.keys(c.HostConfig.PortBindings ?? {})).toEqual([]);
      expect(c.Config.Labels).toMatchObject({
        "fleet.managed": "true",
        "fleet.stack": STACK,
        "fleet.instance": i,
        "fleet.role": "app",
        "fleet.version": "1.0.0",
      });
      const id = await docker(["exec", appContainer(i), "id", "-u"]);
      expect(id).toBe("10001");
      await expect(
        docker(["exec", appContainer(i), "node", "-e", "require('fs').writeFileSync('/probe', 'x')"]),
      ).rejects.toThrow(/EROFS|read-only/);
      await docker(["exec", appContainer(i), "node", "-e", "require('fs').writeFileSync('/data/probe', 'x')"]);
    }
  });

  test("entries and attachments written through the API survive replacing the container", async () => {
    for (const i of INSTANCES) await writeData(i, 3);
    const before = appContainer("beta");
    // As `pulumi up --replace`: the engine creates the new container first, then deletes the old.
    replayer.taint("beta-app");
    await replayer.apply(await renderAt("1.0.0"));
    expect(appContainer("beta")).not.toBe(before);
    await expect(docker(["inspect", before])).rejects.toThrow(/No such object/);
    for (const i of INSTANCES) await checkData(i);
    phase("data survives replacement");
  });

  test("v1 -> v2 rolls with zero failed requests: backup first, migration applied, data intact, pin kept", async () => {
    const r = await renderAt("2.0.0");
    const from = replayer.events.length;
    const v1 = { alpha: appContainer("alpha"), beta: appContainer("beta") };
    const { loads } = await underLoad(() => replayer.apply(r));
    phase("roll v1 -> v2 under load");
    expectNoFailures(loads);
    const steps = replayer.events
      .slice(from)
      .filter((e) => e.step !== "same")
      .map((e) => `${e.step} ${e.name}`);
    // Canary wave (alpha) then wave 1 (beta); gamma is pinned to 1.0.0 and untouched.
    expect(steps.indexOf("replace alpha-pre-update-backup")).toBeLessThan(steps.indexOf("replace alpha-app"));
    expect(steps.indexOf("replace beta-pre-update-backup")).toBeLessThan(steps.indexOf("replace beta-app"));
    expect(steps.indexOf("replace alpha-app")).toBeLessThan(steps.indexOf("replace beta-app"));
    expect(steps.indexOf("replace alpha-app")).toBeLessThan(steps.indexOf("update alpha-route"));
    // The engine only forgets the old container (retainOnDelete); its route retired it after the switch.
    expect(steps.indexOf("update alpha-route")).toBeLessThan(steps.indexOf("forget alpha-app"));
    expect(steps.filter((s) => s === "delete alpha-app" || s === "delete beta-app")).toEqual([]);
    for (const old of [v1.alpha, v1.beta]) {
      expect(await docker(["ps", "-aq", "--filter", `name=^${old}$`])).toBe("");
    }
    expect(steps.filter((s) => s.includes("gamma"))).toEqual([]);
    for (const i of ["alpha", "beta"] as const) {
      const version = await api<{ version: string; schemaVersion: number }>(PORTS[i], "/api/version");
      expect(version.body).toMatchObject({ version: "2.0.0", schemaVersion: schemaV1 + 1 });
      await checkData(i);
      const pre = (await backupsOf(i)).filter(
        (b) => b.reason === "pre-update" && b.fromVersion === "1.0.0" && b.toVersion === "2.0.0",
      );
      expect(pre).toHaveLength(1);
      await docker(["exec", appContainer(i), ...backupVerifyArgs(pre[0]!.id)]);
    }
    const gamma = await api<{ version: string; schemaVersion: number }>(PORTS.gamma, "/api/version");
    expect(gamma.body).toMatchObject({ version: "1.0.0", schemaVersion: schemaV1 });
    await checkData("gamma");
  });

  test("the scheduled-backup sidecar backs up on its schedule and prunes to keep", async () => {
    const seen = new Set<string>();
    let current: string[] = [];
    for (let t = 0; t < 12; t++) {
      current = (await backupsOf("alpha")).filter((b) => b.reason === "scheduled").map((b) => b.id);
      for (const id of current) seen.add(id);
      await new Promise((r) => setTimeout(r, 1000));
    }
    current = (await backupsOf("alpha")).filter((b) => b.reason === "scheduled").map((b) => b.id);
    expect(current).toHaveLength(2);
    expect(seen.size).toBeGreaterThan(2);
    // Pre-update backups are not the sidecar's to prune.
    expect((await backupsOf("alpha")).filter((b) => b.reason === "pre-update")).toHaveLength(1);
    phase("scheduled backups");
  });

  test("restoring a backup into a fresh volume reproduces row counts and every attachment's sha256", async () => {
    const created = await api<{ id: string }>(PORTS.alpha, "/api/backups", token("alpha"), {
      method: "POST",
      body: JSON.stringify({ reason: "manual" }),
    });
    expect(created.status).toBe(201);
    const fresh = `fleet-${STACK}-restore-probe`;
    await docker(["volume", "create", "--label", `${LABEL.stack}=${STACK}`, fresh]);
    const app = await inspect(appContainer("alpha"));
    const backups = app.Mounts.find((m) => m.Destination === BACKUP_DIR)!.Name;
    const image = app.Config.Image;
    const common = [
      "--label",
      `${LABEL.stack}=${STACK}`,
      "--user",
      "10001:10001",
      "-v",
      `${fresh}:${DATA_DIR}`,
      "-v",
      `${backups}:${BACKUP_DIR}`,
      "-e",
      envEntry(ENV.appName, "restore-probe"),
      "-e",
      envEntry(ENV.dataDir, DATA_DIR),
      "-e",
      envEntry(ENV.backupDir, BACKUP_DIR),
    ];
    // A fresh volume has no signing key, and the backup names another instance: the documented
    // trust path (--trust) skips only the origin check; every content check still runs.
    await docker([
      "run",
      "--rm",
      ...common,
      image,
      ...backupRestoreArgs(created.body.id, { live: false, trust: true }),
    ]);
    const probeToken = randomBytes(18).toString("hex");
    const probe = await docker([
      "run",
      "-d",
      ...common,
      "-e",
      envEntry(ENV.adminToken, probeToken),
      "-p",
      "127.0.0.1::8080",
      image,
    ]);
    const port = Number((await docker(["port", probe, "8080/tcp"])).split(":").at(-1));
    await replayer.waitHealthy(probe, 60);
    await checkData("alpha", port, probeToken);
    phase("restore into a fresh volume");
  });

  test("a broken v3 never becomes healthy, the roll stops at the canary, and v2 keeps serving without an error", async () => {
    const r = await renderAt("3.0.0");
    const { result } = await underLoad(async () => {
      let failure: unknown;
      await replayer.apply(r).catch((e: unknown) => (failure = e));
      return failure;
    }).then(({ result, loads }) => {
      expectNoFailures(loads);
      return { result };
    });
    phase("roll to broken v3 under load");
    expect(String(result)).toMatch(
      /alpha-app: container alpha-app-\w+ did not become healthy within \d+s .*GET \/api\/health: 503/,
    );
    for (const i of ["alpha", "beta"] as const) {
      const version = await api<{ version: string }>(PORTS[i], "/api/version");
      expect(version.body.version).toBe("2.0.0");
    }
    // Wave 1 was never touched: no v3 container exists for beta.
    const betaV3 = await docker([
      "ps",
      "-aq",
      ...labelFilter("stack", STACK),
      ...labelFilter("instance", "beta"),
      ...labelFilter("version", "3.0.0"),
    ]);
    expect(betaV3).toBe("");
  });

  test("the apply after that failed roll keeps v2 serving under load: the old container is retired by its route after the switch, nothing is left", async () => {
    // State after the failed roll: alpha's failed v3 container, and the v2 one it replaced pending-delete.
    expect(replayer.initError("alpha-app")).toMatch(/did not become healthy/);
    // alpha's pre-update backup command was replaced too; the one pending container is alpha's v2.
    const pending = replayer.pendingDeleteNames().filter((n) => n !== undefined);
    expect(pending).toHaveLength(1);
    const failedV3 = replayer.outputs("alpha-app").name as string;
    const before = replayer.events.length;
    const r = await renderAt("2.0.0");
    const { loads } = await underLoad(() => replayer.apply(r));
    phase("apply v2 after the failed roll, under load");
    expectNoFailures(loads);
    // The engine only forgets the pending delete (a retainOnDelete container); the route retires it.
    expect(
      replayer.events
        .slice(before)
        .filter((e) => e.name === "alpha-app")
        .map((e) => `${e.step}${e.detail ? ` (${e.detail})` : ""}`),
    ).toEqual(["forget (pending delete of a failed apply)", "replace", "forget"]);
    const alpha = await docker([
      "ps",
      "-a",
      "--format",
      '{{.Names}} {{.Label "fleet.version"}}',
      "--filter",
      `label=fleet.stack=${STACK}`,
      "--filter",
      "label=fleet.instance=alpha",
      "--filter",
      "label=fleet.role=app",
    ]);
    expect(alpha).toBe(`${appContainer("alpha")} 2.0.0`);
    expect([failedV3, ...pending]).not.toContain(appContainer("alpha"));
    const version = await api<{ version: string }>(PORTS.alpha, "/api/version");
    expect(version.body.version).toBe("2.0.0");
  });

  test("removing an instance removes its containers and route but keeps its data volume", async () => {
    const { cp, mkdtemp } = await import("node:fs/promises");
    const dir = await mkdtemp(join(tmpdir(), "fleet-tier-fleet-"));
    for (const i of ["alpha", "beta"]) await cp(join(FLEET, `${i}.yaml`), join(dir, `${i}.yaml`));
    await replayer.apply(await renderAt("2.0.0", dir));
    const left = await docker(["ps", "-aq", ...labelFilter("stack", STACK), ...labelFilter("instance", "gamma")]);
    expect(left).toBe("");
    const vol = await docker(["volume", "ls", "-q", "--filter", `name=fleet-${STACK}-gamma-data`]);
    expect(vol).toBe(`fleet-${STACK}-gamma-data`);
    await expect(fetch(`http://127.0.0.1:${PORTS.gamma}/api/health`)).rejects.toThrow();
    phase("remove an instance");
  });
});
