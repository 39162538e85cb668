import { afterEach, describe, expect, test } from "vitest";
import {
  backupFailed,
  backupStale,
  notifyRequest,
  notifyTarget,
  offsiteFailed,
  rollCompleted,
  rollFailed,
  sendNotification,
} from "../src/notify";
import { type Receiver, startReceiver } from "./receiver";

const AT = new Date("2026-11-29T03:00:00.000Z");
const receivers: Receiver[] = [];
afterEach(async () => {
  while (receivers.length) await receivers.pop()!.close();
});
async function receiver(opts?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(opts);
  receivers.push(r);
  return r;
}

describe("notifyTarget", () => {
  test.each([
    ["https://ntfy.sh/fleet-alerts-x1", { kind: "ntfy", url: "https://ntfy.sh/fleet-alerts-x1" }],
    ["ntfy+https://ntfy.example.org/ops", { kind: "ntfy", url: "https://ntfy.example.org/ops" }],
    ["ntfy+http://127.0.0.1:8080/ops?auth=tk_abc", { kind: "ntfy", url: "http://127.0.0.1:8080/ops?auth=tk_abc" }],
    ["https://hooks.example.org/fleet/T0k3n", { kind: "webhook", url: "https://hooks.example.org/fleet/T0k3n" }],
  ])("%s", (url, expected) => {
    expect(notifyTarget(url)).toEqual(expected);
  });

  test.each([
    [
      "ntfy.sh/topic",
      "not a URL; expected an http(s) URL: an ntfy topic (https://ntfy.sh/<topic> or ntfy+https://<host>/<topic>) or a webhook receiving JSON",
    ],
    [
      "ftp://example.org/x",
      "the scheme ftp: is not http(s); expected an http(s) URL: an ntfy topic (https://ntfy.sh/<topic> or ntfy+https://<host>/<topic>) or a webhook receiving JSON",
    ],
    [
      "https://user:secret@hooks.example.org/x",
      "a user or password in the URL is not supported; put an ntfy access token in ?auth=, or use a webhook URL with a token in its path",
    ],
    ["https://ntfy.sh/", "an ntfy URL names one topic: https://<host>/<topic>"],
    ["ntfy+https://ntfy.example.org/a/b", "an ntfy URL names one topic: https://<host>/<topic>"],
  ])("%s is refused, without quoting the URL", (url, problem) => {
    expect(notifyTarget(url)).toEqual({ problem });
    expect(problem).not.toContain(url);
  });
});

describe("the events", () => {
  test("roll.failed names the instance, the container and the last probe output", () => {
    expect(
      rollFailed(
        {
          stack: "dev",
          instance: "homebrews",
          container: "homebrews-app-1a2b3c4",
          version: "1.1.0",
          health: "unhealthy",
          lastOutput: "GET /api/health: 503",
        },
        AT,
      ),
    ).toEqual({
      source: "fleet",
      event: "roll.failed",
      severity: "error",
      stack: "dev",
      instance: "homebrews",
      title: "fleet dev: roll of homebrews to 1.1.0 failed",
      message:
        "homebrews: container homebrews-app-1a2b3c4 (version 1.1.0) is unhealthy. Last healthcheck: GET /api/health: 503. The route still points at the previous container.",
      at: "2026-11-29T03:00:00.000Z",
      details: { container: "homebrews-app-1a2b3c4", version: "1.1.0", health: "unhealthy", lastOutput: "GET /api/health: 503" },
    });
  });

  test("roll.completed lists every instance that moved", () => {
    const p = rollCompleted(
      {
        stack: "dev",
        instances: [
          { name: "homebrews", from: "1.0.0", to: "1.1.0" },
          { name: "recipes", from: null, to: "1.1.0" },
        ],
      },
      AT,
    );
    expect(p).toEqual({
      source: "fleet",
      event: "roll.completed",
      severity: "info",
      stack: "dev",
      instance: null,
      title: "fleet dev: roll completed (2 instances)",
      message: "homebrews 1.0.0 -> 1.1.0\nrecipes (new) -> 1.1.0",
      at: "2026-11-29T03:00:00.000Z",
      details: {
        instances: [
          { name: "homebrews", from: "1.0.0", to: "1.1.0" },
          { name: "recipes", from: null, to: "1.1.0" },
        ],
      },
    });
  });

  test("backup.stale says how old the newest backup is", () => {
    const p = backupStale(
      {
        stack: null,
        instance: "projects",
        schedule: "0 3 * * *",
        newest: { id: "b1", createdAt: "2026-11-26T03:00:00.000Z" },
        ageSeconds: 259200,
        limitSeconds: 172800,
      },
      AT,
    );
    expect(p.title).toBe("fleet: backups of projects are stale");
    expect(p.message).toBe("projects: the newest scheduled backup (b1) is 3 d 0 h old, more than twice its schedule (0 3 * * *).");
    expect(p.severity).toBe("warning");
  });

  test("backup.stale of a schedule of minutes says minutes (it said 0 h)", () => {
    const p = backupStale({ stack: "dev", instance: "n1", schedule: "* * * * *", newest: null, ageSeconds: 150, limitSeconds: 120 }, AT);
    expect(p.message).toBe("n1: no scheduled backup for 2 min, more than twice its schedule (* * * * *).");
  });
});

describe("notifyRequest", () => {
  const event = backupFailed(
    { stack: "dev", instance: "homebrews", schedule: "0 3 * * *", error: "SQLITE_FULL: database or disk is full" },
    AT,
  );

  test("a webhook gets the payload as JSON", () => {
    expect(notifyRequest({ kind: "webhook", url: "http://h/x" }, event)).toEqual({
      url: "http://h/x",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(event),
    });
  });

  test("ntfy gets the message as the body, with Title, Tags and Priority headers", () => {
    expect(notifyRequest({ kind: "ntfy", url: "http://h/topic" }, event)).toEqual({
      url: "http://h/topic",
      method: "POST",
      headers: {
        "content-type": "text/plain; charset=utf-8",
        title: "fleet dev: scheduled backup of homebrews failed",
        tags: "rotating_light,fleet,backup.failed",
        priority: "5",
      },
      body: "homebrews: the scheduled backup (0 3 * * *) failed: SQLITE_FULL: database or disk is full",
    });
  });
});

describe("sendNotification against a local receiver", () => {
  test("a webhook receives exactly the JSON payload", async () => {
    const r = await receiver();
    const event = offsiteFailed({ stack: "dev", instance: "homebrews", error: "Fatal: unable to open repository" }, AT);
    expect(await sendNotification(`${r.url}/hook/abc`, event, { log: () => {} })).toEqual({ sent: true, status: 200 });
    const [got] = r.received;
    expect(got!.method).toBe("POST");
    expect(got!.path).toBe("/hook/abc");
    expect(got!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(got!.body)).toEqual({
      source: "fleet",
      event: "offsite.failed",
      severity: "error",
      stack: "dev",
      instance: "homebrews",
      title: "fleet dev: off-site copy of homebrews failed",
      message: "homebrews: the off-site copy failed: Fatal: unable to open repository",
      at: "2026-11-29T03:00:00.000Z",
      details: { error: "Fatal: unable to open repository" },
    });
  });

  test("ntfy+http receives the ntfy form", async () => {
    const r = await receiver();
    const event = rollCompleted({ stack: "dev", instances: [{ name: "homebrews", from: "1.0.0", to: "1.1.0" }] }, AT);
    expect(await sendNotification(`ntfy+${r.url}/fleet-ops`, event, { log: () => {} })).toEqual({ sent: true, status: 200 });
    const [got] = r.received;
    expect([got!.path, got!.headers["title"], got!.headers["tags"], got!.headers["priority"], got!.body]).toEqual([
      "/fleet-ops",
      "fleet dev: roll completed (1 instance)",
      "white_check_mark,fleet,roll.completed",
      "3",
      "homebrews 1.0.0 -> 1.1.0",
    ]);
  });

  test("an error answer is reported, not thrown, and the log line holds no URL", async () => {
    const r = await receiver({ status: 500 });
    const lines: string[] = [];
    const url = `${r.url}/secret-topic-name`;
    const event = rollFailed({ stack: "dev", instance: "a", container: "c", version: "2.0.0", health: "unhealthy", lastOutput: "" }, AT);
    expect(await sendNotification(url, event, { log: (l) => lines.push(l) })).toEqual({
      sent: false,
      reason: "the notification target answered 500",
    });
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { at: expect.any(String), notify: "roll.failed", instance: "a", error: "the notification target answered 500" },
    ]);
    expect(lines.join("\n")).not.toContain("secret-topic-name");
  });

  test("a receiver that never answers costs the timeout and no more", async () => {
    const r = await receiver({ hang: true });
    const started = Date.now();
    const result = await sendNotification(`${r.url}/x`, offsiteFailed({ stack: null, instance: "a", error: "e" }, AT), {
      timeoutMs: 300,
      log: () => {},
    });
    expect(result).toEqual({ sent: false, reason: "the notification could not be delivered: no answer within 300 ms" });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("nothing listening: refused, reported by its code", async () => {
    const r = await receiver();
    const url = `${r.url}/x`;
    await r.close();
    receivers.pop();
    const result = await sendNotification(url, offsiteFailed({ stack: null, instance: "a", error: "e" }, AT), { log: () => {} });
    expect(result).toEqual({ sent: false, reason: "the notification could not be delivered: ECONNREFUSED" });
  });

  test("no URL sends nothing and logs nothing", async () => {
    const lines: string[] = [];
    expect(
      await sendNotification("", offsiteFailed({ stack: null, instance: "a", error: "e" }, AT), { log: (l) => lines.push(l) }),
    ).toEqual({
      sent: false,
      reason: "not configured",
    });
    expect(lines).toEqual([]);
  });
});
