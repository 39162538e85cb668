/**
 * The roll notifications of `npm run up` (ops/core/roll-notify.ts) from real rolls: a two-instance
 * fleet applied by the replayer, then r2 pinned to a release whose health route answers 503. The
 * roll fails on the real engine; what `npm run up` does next runs as it is (reportFailedRoll asks
 * Docker for the app containers and their last probe output), and roll-notify's payloads go
 * through the real sender to a local HTTP receiver, as a JSON webhook and in ntfy's form. Then a
 * good roll (r2 pinned to a healthy release) sends `roll.completed`. Delivery is best-effort: a
 * receiver that hangs or is down costs at most the sender's timeout and is reported, not thrown.
 */
import { randomBytes } from "node:crypto";
import { appendFile, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type NotificationPayload, sendNotification } from "../../app/src/notify";
import { startReceiver, type Receiver } from "../../app/test/receiver";
import { realUpDeps } from "../../ops/commands/up";
import { reportFailedRoll } from "../../ops/core/failed-roll";
import { movedInstances, rollNotifications } from "../../ops/core/roll-notify";
import {
  buildAppImage,
  cleanUp,
  phases,
  portBlock,
  pushForDigest,
  render,
  ROOT,
  TIER_LABEL,
  tierConfig,
  tierEngine,
  writeFleet,
} from "./engine";
import { docker, Replayer, ReplayError, type Render } from "./replay";

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `nroll${RUN_ID}`;
const REPO = `fleet-nroll-${RUN_ID}/app`;
const PORT_BASE = portBlock(22000, 1000);
const ADMIN_PORT = PORT_BASE + 9;
const AT = new Date("2026-11-29T03:00:00.000Z");

const engine = tierEngine();
const phase = phases();
const replayer = new Replayer({ log: (l) => console.log(l) });
let receiver: Receiver;
/** The instances' versions after the first apply, as `pulumi stack output instances` would give them. */
let before: Record<string, string> = {};

/** A release derived from the 1.0.0 build: its own version, and optionally its own command. */
async function release(version: string, cmd?: readonly string[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "fleet-nroll-image-"));
  const lines = [
    `FROM ${REPO}:1.0.0`,
    `LABEL org.opencontainers.image.version=${version}`,
    `ENV APP_VERSION=${version}`,
  ];
  if (cmd) lines.push(`CMD ${JSON.stringify(cmd)}`);
  await writeFile(join(dir, "Dockerfile"), `${lines.join("\n")}\n`);
  await docker(["build", "--quiet", "--label", TIER_LABEL, "--tag", `${REPO}:${version}`, dir]);
  await pushForDigest(`${REPO}:${version}`);
}

/** The fleet with r2 pinned to `pin` (or on fleet:version). */
async function renderWith(pin?: string): Promise<Render> {
  const dir = await writeFleet([
    { name: "r1", port: PORT_BASE + 1 },
    { name: "r2", port: PORT_BASE + 2 },
  ]);
  if (pin) await appendFile(join(dir, "r2.yaml"), `version: ${pin}\n`);
  return render({ instances: dir, version: "1.0.0", stack: STACK, config: tierConfig(REPO, ADMIN_PORT) });
}

const versions = (r: Render) =>
  Object.fromEntries(
    Object.entries(r.outputs["instances"] as Record<string, { version: string }>).map(([k, v]) => [k, v.version]),
  );

/** Sends each payload as `npm run up` does, to the webhook and to the ntfy form; returns what arrived. */
async function deliver(payloads: readonly NotificationPayload[]) {
  receiver.received.length = 0;
  for (const p of payloads) {
    expect(await sendNotification(`${receiver.url}/hook/${STACK}`, p)).toEqual({ sent: true, status: 200 });
    expect(await sendNotification(`ntfy+${receiver.url}/fleet-${STACK}`, p)).toEqual({ sent: true, status: 200 });
  }
  return receiver.received.map((r) => ({
    path: r.path,
    headers: {
      "content-type": r.headers["content-type"],
      title: r.headers["title"],
      tags: r.headers["tags"],
      priority: r.headers["priority"],
    },
    body: r.path.startsWith("/hook/") ? (JSON.parse(r.body) as unknown) : r.body,
  }));
}

describe.runIf(engine)("roll notifications from real rolls", () => {
  beforeAll(async () => {
    console.log(`notify-roll tier: stack ${STACK}, images ${REPO}, ports ${PORT_BASE}+`);
    receiver = await startReceiver();
    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    // 1.1.0: a release whose server answers 503 on every route, /api/health included.
    await release("1.1.0", [
      "node",
      "-e",
      "require('node:http').createServer((q, s) => { s.statusCode = 503; s.end('{\"status\":\"fail\"}'); }).listen(process.env.PORT)",
    ]);
    await release("1.0.1");
    phase("build");
    const first = await renderWith();
    await replayer.apply(first);
    before = versions(first);
    expect(before).toEqual({ r1: "1.0.0", r2: "1.0.0" });
    phase("apply 1.0.0");
  });

  afterAll(async () => {
    await receiver?.close();
    await cleanUp(STACK, [REPO]);
    phase("clean up");
  });

  test("a roll to a release whose healthcheck fails: roll.failed with r2, its container and Docker's last probe output", async () => {
    const failed = await replayer.apply(await renderWith("1.1.0")).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(ReplayError);
    expect((failed as ReplayError).resource).toBe("r2-app");
    phase("failed roll");
    const container = replayer.outputs("r2-app").name as string;
    const health = JSON.parse(await docker(["inspect", "--format", "{{json .State.Health}}", container])) as {
      Status: string;
      Log: { Output: string }[];
    };
    expect([health.Status, health.Log.at(-1)!.Output]).toEqual(["unhealthy", "GET /api/health: 503\n"]);

    // What `npm run up` does after a failed `pulumi up`: Docker's view of the stack's app containers.
    const errors: string[] = [];
    const containers = reportFailedRoll(
      { run: realUpDeps(ROOT).run, err: (l) => errors.push(l) },
      STACK,
      255,
      process.env,
    );
    expect(containers.filter((c) => c.status !== "healthy")).toEqual([
      {
        id: expect.any(String),
        name: container,
        instance: "r2",
        version: "1.1.0",
        status: "unhealthy",
        lastOutput: "GET /api/health: 503",
      },
    ]);
    expect(errors.join("\n")).toContain(
      `r2: container ${container}, version 1.1.0, health unhealthy, last healthcheck: GET /api/health: 503`,
    );

    const message =
      `r2: container ${container} (version 1.1.0) is unhealthy. Last healthcheck: GET /api/health: 503. ` +
      "The route still points at the previous container.";
    expect(await deliver(rollNotifications(STACK, 255, { containers, moved: [] }, AT))).toEqual([
      {
        path: `/hook/${STACK}`,
        headers: { "content-type": "application/json" },
        body: {
          source: "fleet",
          event: "roll.failed",
          severity: "error",
          stack: STACK,
          instance: "r2",
          title: `fleet ${STACK}: roll of r2 to 1.1.0 failed`,
          message,
          at: AT.toISOString(),
          details: { container, version: "1.1.0", health: "unhealthy", lastOutput: "GET /api/health: 503" },
        },
      },
      {
        path: `/fleet-${STACK}`,
        headers: {
          "content-type": "text/plain; charset=utf-8",
          title: `fleet ${STACK}: roll of r2 to 1.1.0 failed`,
          tags: "rotating_light,fleet,roll.failed",
          priority: "5",
        },
        body: message,
      },
    ]);
  });

  test("a good roll after it: roll.completed names r2 1.0.0 -> 1.0.1 (r1 did not move)", async () => {
    const good = await renderWith("1.0.1");
    await replayer.apply(good);
    phase("good roll");
    const moved = movedInstances(before, versions(good));
    expect(moved).toEqual([{ name: "r2", from: "1.0.0", to: "1.0.1" }]);
    const title = `fleet ${STACK}: roll completed (1 instance)`;
    expect(await deliver(rollNotifications(STACK, 0, { containers: [], moved }, AT))).toEqual([
      {
        path: `/hook/${STACK}`,
        headers: { "content-type": "application/json" },
        body: {
          source: "fleet",
          event: "roll.completed",
          severity: "info",
          stack: STACK,
          instance: null,
          title,
          message: "r2 1.0.0 -> 1.0.1",
          at: AT.toISOString(),
          details: { instances: [{ name: "r2", from: "1.0.0", to: "1.0.1" }] },
        },
      },
      {
        path: `/fleet-${STACK}`,
        headers: {
          "content-type": "text/plain; charset=utf-8",
          title,
          tags: "white_check_mark,fleet,roll.completed",
          priority: "3",
        },
        body: "r2 1.0.0 -> 1.0.1",
      },
    ]);
  });

  test("best-effort: a receiver that hangs costs the 5 s timeout, one that is down fails at once; both are reported, never thrown", async () => {
    const payload = rollNotifications(STACK, 0, {
      containers: [],
      moved: [{ name: "r2", from: "1.0.0", to: "1.0.1" }],
    })[0]!;
    const hanging = await startReceiver({ hang: true });
    const logged: string[] = [];
    let start = Date.now();
    const hung = await sendNotification(`${hanging.url}/hook`, payload, { log: (l) => logged.push(l) });
    const hungMs = Date.now() - start;
    expect([hung, hanging.received.length]).toEqual([
      { sent: false, reason: "the notification could not be delivered: no answer within 5000 ms" },
      1,
    ]);
    expect(hungMs).toBeGreaterThanOrEqual(4900);
    expect(hungMs).toBeLessThan(8000);
    await hanging.close();
    start = Date.now();
    const down = await sendNotification(`${hanging.url}/hook`, payload, { log: (l) => logged.push(l) });
    const downMs = Date.now() - start;
    expect(down).toEqual({ sent: false, reason: "the notification could not be delivered: ECONNREFUSED" });
    console.log(`hanging receiver: ${hungMs} ms; receiver down: ${downMs} ms`);
    expect(logged.map((l) => (JSON.parse(l) as { error: string }).error)).toEqual([
      "the notification could not be delivered: no answer within 5000 ms",
      "the notification could not be delivered: ECONNREFUSED",
    ]);
    expect(logged.join("\n")).not.toContain(hanging.url);
  });
});
