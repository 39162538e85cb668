/**
 * Routes on the real engine: every app container is reached through its unix socket behind a
 * route symlink in the proxy (docs/architecture.md, "Proxy contract"). Proves that the routes
 * survive a container restart, a crash and a `docker kill` + `docker start` without `pulumi up`,
 * that a whole wave switching at once loses no route and reloads nothing, under load with new and
 * kept-alive connections, and that a slow request started before the switch completes on the old
 * container while it drains.
 */
import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  answersWithin,
  api,
  buildAppImage,
  cleanUp,
  phases,
  portBlock,
  render,
  ROOT,
  tierConfig,
  tierEngine,
  writeFleet,
} from "./engine";
import { startLoad } from "./load";
import { docker, Replayer, type Render } from "./replay";

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `routes${RUN_ID}`;
const REPO = `fleet-routes-${RUN_ID}/app`;
const PORT_BASE = portBlock(11000, 2000);
const NAMES = ["r1", "r2", "r3", "r4"] as const;
type Name = (typeof NAMES)[number];
const PORT: Record<Name, number> = { r1: PORT_BASE + 1, r2: PORT_BASE + 2, r3: PORT_BASE + 3, r4: PORT_BASE + 4 };
const PROXY = `fleet-${STACK}-proxy`;
/** The bound: every instance answers through the proxy again within 30 s, without `up`. */
const BACK_WITHIN_MS = 30_000;

const engine = tierEngine();

const phase = phases();
const replayer = new Replayer({ log: (l) => console.log(l) });
const config = tierConfig(REPO, PORT_BASE + 9);
let fleet = "";
const renderAt = (version: string): Promise<Render> => render({ instances: fleet, version, stack: STACK, config });

const app = (n: Name) => replayer.outputs(`${n}-app`).name as string;
const token = (n: Name) => replayer.outputs(`${n}-admin-token`).result as string;
const inProxy = (script: string) => docker(["exec", PROXY, "sh", "-c", script]);
/** A container's log, stdout and stderr (Caddy logs to stderr). */
function logsOf(container: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("docker", ["logs", container], { maxBuffer: 64 * 1024 * 1024 }, (e, out, err) =>
      e ? reject(e) : resolve(out + err),
    ),
  );
}

/** How many times the proxy's config was loaded through its admin API (once per `caddy reload`). */
const reloads = async () => (await logsOf(PROXY)).split('"uri":"/load"').length - 1;

async function version(n: Name): Promise<string> {
  const res = await api<{ version: string }>(PORT[n], "/api/version");
  expect(res.status).toBe(200);
  return res.body.version;
}

/** The container's short id: its hostname, and the name of its socket. */
async function shortId(n: Name): Promise<string> {
  return (await docker(["inspect", "--format", "{{.Id}}", app(n)])).slice(0, 12);
}

describe.runIf(engine)("routes: unix sockets behind symlinks", () => {
  beforeAll(async () => {
    console.log(`routes tier: stack ${STACK}, images ${REPO}, ports ${PORT_BASE}+`);
    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    await buildAppImage(`${REPO}:2.0.0`, join(ROOT, "app"), "2.0.0");
    phase("build v1, v2");
    fleet = await writeFleet(NAMES.map((name) => ({ name, port: PORT[name] })));
  });

  afterAll(async () => {
    await cleanUp(STACK, [REPO]);
    phase("clean up");
  });

  test("4 instances created at once: every route is there, no app publishes a port, each answers through the proxy", async () => {
    await replayer.apply(await renderAt("1.0.0"));
    phase("create 4 instances at once");
    for (const n of NAMES) {
      expect(await version(n)).toBe("1.0.0");
      const c = JSON.parse(await docker(["inspect", app(n)]))[0] as {
        // Docker 20.10 stores null for a container without port bindings; newer engines may store {}.
        HostConfig: { PortBindings: Record<string, unknown> | null };
        Config: { Hostname: string; StopTimeout: number };
      };
      expect([Object.keys(c.HostConfig.PortBindings ?? {}), c.Config.Hostname, c.Config.StopTimeout]).toEqual([
        [],
        await shortId(n),
        15,
      ]);
      expect(await inProxy(`readlink /data/routes/${n}.sock`)).toBe(`/sockets/${n}/${await shortId(n)}.sock`);
    }
    // Four concurrent route commands, each adding a site: serialized reloads, the last saw every file.
    expect((await inProxy("ls /data/sites")).split("\n")).toEqual(NAMES.map((n) => `${n}.caddy`));
    expect(await reloads()).toBe(4);
    // The proxy only connects: its view of the sockets is read-only.
    await expect(inProxy("touch /sockets/probe")).rejects.toThrow(/Read-only file system/);
  });

  test("docker restart of an app container: it answers through the proxy again within 30 s, on the same socket", async () => {
    const before = await shortId("r1");
    await docker(["restart", app("r1")]);
    const ms = await answersWithin(PORT.r1, "/api/health", BACK_WITHIN_MS);
    console.log(`after docker restart: r1 answered through the proxy ${ms} ms after the restart returned`);
    expect(await shortId("r1")).toBe(before);
    for (const n of NAMES) expect(await version(n)).toBe("1.0.0");
  });

  test("the app process crashes (SIGKILL, as the OOM killer does): restart unless-stopped brings it back on its route within 30 s", async () => {
    const restarts = async () => Number(await docker(["inspect", "--format", "{{.RestartCount}}", app("r2")]));
    const before = await restarts();
    // Every process of the app's uid but PID 1 (tini), which then exits with node's status.
    await docker(["exec", app("r2"), "bash", "-c", "kill -KILL -1"]).catch(() => undefined);
    const start = Date.now();
    while ((await restarts()) === before && Date.now() - start < BACK_WITHIN_MS)
      await new Promise((r) => setTimeout(r, 100));
    expect(await restarts()).toBe(before + 1);
    const ms = await answersWithin(PORT.r2, "/api/health", BACK_WITHIN_MS);
    console.log(
      `after a crash: r2 answered through the proxy ${Date.now() - start} ms after it died (${ms} ms polling)`,
    );
  });

  test("docker kill is a manual stop to Docker (no restart); docker start brings the instance back on its route", async () => {
    await docker(["kill", app("r3")]);
    // moby daemon/kill.go: killWithSignal marks the container to exit on next (ExitOnNext), like docker stop.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await docker(["inspect", "--format", "{{.State.Status}} {{.RestartCount}}", app("r3")])).toBe("exited 0");
    await expect(fetch(`http://127.0.0.1:${PORT.r3}/api/health`)).resolves.toMatchObject({ status: 502 });
    await docker(["start", app("r3")]);
    const ms = await answersWithin(PORT.r3, "/api/health", BACK_WITHIN_MS);
    console.log(`after docker kill + docker start: r3 answered through the proxy within ${ms} ms`);
  });

  test("the whole wave rolls at once under load: no route lost, no reload, no failed request (new and kept-alive connections)", async () => {
    const sites = await inProxy("cat /data/sites/*.caddy | sha256sum");
    const loadsBefore = await reloads();
    const loads = NAMES.flatMap((n) => [
      startLoad(`http://127.0.0.1:${PORT[n]}/api/health`, 15),
      startLoad(`http://127.0.0.1:${PORT[n]}/api/health`, 15, 3, { keepAlive: true }),
    ]);
    let failure: unknown;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      await replayer.apply(await renderAt("2.0.0"));
      await new Promise((r) => setTimeout(r, 1500));
    } catch (e) {
      failure = e;
    }
    const totals = await Promise.all(loads.map((l) => l.stop()));
    if (failure) throw failure;
    phase("roll 4 instances at once under load");
    for (const t of totals) {
      console.log(
        `load ${t.url}: ${t.requests} requests, status ${JSON.stringify(t.status)}, errors ${JSON.stringify(t.errors)}`,
      );
      expect(t.requests).toBeGreaterThan(0);
      expect({ status: Object.keys(t.status), errors: t.errors }).toEqual({ status: ["200"], errors: {} });
    }
    for (const n of NAMES) {
      expect(await version(n)).toBe("2.0.0");
      expect(await inProxy(`readlink /data/routes/${n}.sock`)).toBe(`/sockets/${n}/${await shortId(n)}.sock`);
    }
    expect(await inProxy("cat /data/sites/*.caddy | sha256sum")).toBe(sites);
    expect(await reloads()).toBe(loadsBefore);
  });

  test("a slow upload started before the switch completes with 201 on the old container, which drains and exits 0", async () => {
    const old = app("r4");
    const oldId = await docker(["inspect", "--format", "{{.Id}}", old]);
    const entry = await api<{ id: number }>(PORT.r4, "/api/entries", token("r4"), {
      method: "POST",
      body: JSON.stringify({ typeId: 1, title: "drain" }),
    });
    expect(entry.status).toBe(201);
    // The old container's exit code, from the engine's event stream (it is removed right after).
    const events = spawn("docker", [
      "events",
      "--filter",
      `container=${oldId}`,
      "--filter",
      "event=die",
      "--format",
      "{{.Actor.Attributes.exitCode}}",
    ]);
    const exitCode = new Promise<string>((resolve) =>
      events.stdout.once("data", (d: Buffer) => resolve(d.toString().trim())),
    );

    let draining = 0;
    const watch = setInterval(() => {
      logsOf(old)
        .then((out) => {
          if (!draining && out.includes("shutting down: draining requests")) draining = Date.now();
        })
        .catch(() => undefined);
    }, 200);
    const piece = randomBytes(4096);
    const sent: Buffer[] = [];
    const boundary = "----fleetdrain";
    const started = Date.now();
    const upload = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: PORT.r4,
          method: "POST",
          path: `/api/entries/${entry.body.id}/attachments`,
          headers: {
            authorization: `Bearer ${token("r4")}`,
            "content-type": `multipart/form-data; boundary=${boundary}`,
          },
        },
        (res) => {
          let text = "";
          res.on("data", (d: Buffer) => (text += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
        },
      );
      req.on("error", reject);
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n`);
      req.write("Content-Type: application/octet-stream\r\n\r\n");
      // A piece every 200 ms until the old container drains, then 3 s more.
      const send = () => {
        if (draining && Date.now() - draining > 3000) {
          req.end(`\r\n--${boundary}--\r\n`);
          return;
        }
        if (Date.now() - started > 120_000) {
          req.destroy(new Error("the old container never started draining"));
          return;
        }
        req.write(piece);
        sent.push(piece);
        setTimeout(send, 200);
      };
      send();
    });
    await new Promise((r) => setTimeout(r, 500));
    replayer.taint("r4-app");
    const rolled = replayer.apply(await renderAt("2.0.0")).then(() => Date.now());
    const done = await upload;
    const finished = Date.now();
    clearInterval(watch);
    const applied = await rolled;
    events.kill();
    console.log(
      `drain: upload ran ${((finished - started) / 1000).toFixed(1)} s, ${((finished - draining) / 1000).toFixed(1)} s of it after SIGTERM`,
    );
    expect(draining).toBeGreaterThan(started);
    expect(finished).toBeGreaterThan(draining + 3000);
    expect(applied).toBeGreaterThanOrEqual(finished);
    expect([done.status, JSON.parse(done.body).sha256]).toEqual([
      201,
      createHash("sha256").update(Buffer.concat(sent)).digest("hex"),
    ]);
    expect(await exitCode).toBe("0");
    expect(app("r4")).not.toBe(old);
    expect(await answersWithin(PORT.r4, "/api/health", 5000)).toBeLessThan(5000);
  });
});
