/**
 * The notifications of the backup sidecar and of the off-site copier on the real engine, to a
 * local HTTP receiver on the Docker bridge's gateway (where containers reach the host). One
 * instance, n1, deployed by the program with `fleet:backupDir` on the host; once it runs, its backup
 * directory turns read-only for the app user (mode 0555, owned by another user), so every scheduled
 * backup (each minute) fails for a real reason. (Not before: the app refuses to start on a backup
 * directory it cannot write, app/src/lifecycle.ts ensureDir.) `fleet:offsite` names an sftp: repository where no SSH server
 * answers. The receiver sees `backup.failed` at each run and `backup.stale` once no scheduled
 * backup succeeded for twice the schedule's interval, with their exact payloads, and one
 * `offsite.failed` in three and a half minutes of copy rounds every 10 s. While the receiver hangs, the sidecar's runs keep their
 * schedule and time: delivery is best-effort.
 *
 * About three and a half minutes: the shortest schedule the program accepts is once a minute, and
 * staleness takes two intervals.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startReceiver, type Receiver } from "../../app/test/receiver";
import {
  buildAppImage,
  buildOffsiteImage,
  cleanUp,
  phases,
  portBlock,
  render,
  ROOT,
  tierConfig,
  tierEngine,
} from "./engine";
import { docker, Replayer } from "./replay";

const run = promisify(execFile);

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `nbak${RUN_ID}`;
const REPO = `fleet-nbak-${RUN_ID}/app`;
const PORT_BASE = portBlock(23000, 1000);
const SCHEDULE = "* * * * *";
/** Twice the schedule's interval: the sidecar's staleness limit. */
const LIMIT_SECONDS = 120;
/** Seconds past its minute by which a failing run has logged its error and sent its notifications (it takes well under one). */
const RUN_SECONDS = 5;

const engine = tierEngine();
const phase = phases();
const replayer = new Replayer({ log: (l) => console.log(l) });
const work = mkdtempSync(join(tmpdir(), "fleet-nbak-"));
const backupDir = join(work, "backups");
const n1Dir = join(backupDir, "n1");
/** Read at each request: the receiver answers, or hangs while `hang` is true. */
const mode: { host: string; hang: boolean } = { host: "", hang: false };
let receiver: Receiver;
let sidecar = "";

/** The payloads that arrived, parsed. */
const payloads = (event?: string) =>
  receiver.received
    .map((r): Record<string, unknown> & { receivedAt: number } => ({
      ...(JSON.parse(r.body) as Record<string, unknown>),
      receivedAt: r.at,
    }))
    .filter((p) => event === undefined || p.event === event);

/** Waits until `count` payloads of `event` arrived; returns them. */
async function arrived(event: string, count: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (payloads(event).length < count) {
    if (Date.now() > deadline)
      throw new Error(`${count} ${event} did not arrive within ${timeoutMs} ms (got ${JSON.stringify(payloads())})`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return payloads(event);
}

/** The sidecar's JSON log lines with Docker's timestamp of each. */
async function sidecarLog(): Promise<{ t: number; line: Record<string, unknown> }[]> {
  return (await jsonLines(sidecar, true)).sort((a, b) => a.t - b.t);
}

/** A container's JSON log lines (stdout and stderr), with Docker's timestamp of each when asked. */
async function jsonLines(
  container: string,
  timestamps = false,
): Promise<{ t: number; line: Record<string, unknown> }[]> {
  const { stdout, stderr } = await run("docker", ["logs", ...(timestamps ? ["--timestamps"] : []), container]);
  return `${stdout}\n${stderr}`.split("\n").flatMap((l) => {
    const brace = l.indexOf("{");
    if (brace === -1) return [];
    try {
      const line = JSON.parse(l.slice(brace)) as Record<string, unknown>;
      return [{ t: timestamps ? Date.parse(l.slice(0, l.indexOf(" "))) : 0, line }];
    } catch {
      return [];
    }
  });
}

/** Seconds past the minute of a time (the schedule fires on the minute). */
const pastMinute = (ms: number) => (ms % 60_000) / 1000;

const withoutTimes = ({ at: _at, receivedAt: _r, ...rest }: Record<string, unknown>) => rest;

describe.runIf(engine)("notifications of the backup sidecar and the off-site copier", () => {
  beforeAll(async () => {
    mode.host = await docker(["network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"]);
    receiver = await startReceiver(mode);
    console.log(`notify-backup tier: stack ${STACK}, images ${REPO}, receiver ${receiver.url}`);
    mkdirSync(n1Dir, { recursive: true });
    chmodSync(n1Dir, 0o777);

    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    await buildOffsiteImage(`${REPO}:1.0.0`, `${REPO}-offsite:1.0.0`);
    phase("build the app and off-site images");

    // An sftp: repository where nothing answers: the container's own loopback, port 22.
    // A key pair in the forms the config takes (no SSH server will ever see it).
    const keys = generateKeyPairSync("ed25519");
    const raw = keys.publicKey.export({ format: "der", type: "spki" }).subarray(-32);
    const sshString = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const publicKey = `ssh-ed25519 ${Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(raw)]).toString("base64")}`;
    const offsite = {
      repository: "sftp:restic@127.0.0.1:/srv/restic/fleet",
      password: randomBytes(18).toString("hex"),
      intervalSeconds: 10,
      sshKey: keys.privateKey.export({ format: "pem", type: "pkcs8" }) as string,
      knownHosts: `127.0.0.1 ${publicKey}`,
    };
    const fleet = join(work, "fleet");
    mkdirSync(fleet);
    writeFileSync(
      join(fleet, "n1.yaml"),
      [
        `port: ${PORT_BASE + 1}`,
        "healthcheck:",
        "  interval: 1s",
        "  timeout: 3s",
        "  startPeriod: 10s",
        "  retries: 3",
        "backup:",
        `  schedule: "${SCHEDULE}"`,
        "  keep: 3",
        "",
      ].join("\n"),
    );
    const config = {
      ...tierConfig(REPO, PORT_BASE + 9),
      "fleet:backupDir": backupDir,
      "fleet:notify": `${receiver.url}/hook/${STACK}`,
      "fleet:offsite": JSON.stringify(offsite),
    };
    await replayer.apply(await render({ instances: fleet, version: "1.0.0", stack: STACK, config }));
    sidecar = replayer.outputs("n1-backup").name as string;
    // Read-only for the app user from now on (a disk remounted read-only, a wrong owner).
    chmodSync(n1Dir, 0o555);
    phase("deploy, n1's backup directory read-only");
  });

  afterAll(async () => {
    mode.hang = false;
    await receiver?.close();
    // What the app user wrote there, removed as root in a container (the test may run as another user).
    await docker([
      "run",
      "--rm",
      "--user",
      "0",
      "-v",
      `${backupDir}:/b`,
      `${REPO}:1.0.0`,
      "sh",
      "-c",
      "rm -rf /b/n1/* /b/n1/.[!.]*",
    ]).catch(() => undefined);
    await cleanUp(STACK, [`${REPO}-offsite`, REPO]);
    rmSync(work, { recursive: true, force: true });
    phase("clean up");
  });

  test("a scheduled backup to a read-only directory: backup.failed with n1, its schedule and the sidecar's error, on the minute", async () => {
    const [first] = await arrived("backup.failed", 1, 75_000);
    const failures = (await sidecarLog()).filter((l) => typeof l.line.error === "string");
    expect(failures.length).toBe(1);
    const error = failures[0]!.line.error as string;
    expect(error).toMatch(/EACCES|permission denied/i);
    expect(withoutTimes(first!)).toEqual({
      source: "fleet",
      event: "backup.failed",
      severity: "error",
      stack: STACK,
      instance: "n1",
      title: `fleet ${STACK}: scheduled backup of n1 failed`,
      message: `n1: the scheduled backup (${SCHEDULE}) failed: ${error}`,
      details: { schedule: SCHEDULE, error },
    });
    console.log(`first backup.failed: ${pastMinute(first!.receivedAt as number)} s past the minute`);
    expect(pastMinute(first!.receivedAt as number)).toBeLessThan(RUN_SECONDS);
  });

  test("best-effort: while the receiver hangs the next run keeps its time; after it, backup.failed and backup.stale arrive on the minute", async () => {
    mode.hang = true;
    const [, hung] = await arrived("backup.failed", 2, 75_000);
    const hungAt = hung!.receivedAt as number;
    // The sender gives up after its 5 s timeout and logs it (without the URL); the sidecar goes on.
    await new Promise((r) => setTimeout(r, 6_000));
    mode.hang = false;
    const log = await sidecarLog();
    const notifyFailure = log.filter((l) => l.line.notify === "backup.failed");
    expect(notifyFailure.map((l) => [l.line.instance, l.line.error])).toEqual([
      ["n1", "the notification could not be delivered: no answer within 5000 ms"],
    ]);
    expect(JSON.stringify(log)).not.toContain(receiver.url);
    console.log(
      `hung delivery: arrived ${pastMinute(hungAt)} s past the minute, reported failed ${((notifyFailure[0]!.t - hungAt) / 1000).toFixed(1)} s later`,
    );

    // The run after it: on its minute; two intervals without a scheduled backup make it stale too.
    const [, , third] = await arrived("backup.failed", 3, 75_000);
    const [stale] = await arrived("backup.stale", 1, 15_000);
    const thirdAt = third!.receivedAt as number;
    expect(Math.round((thirdAt - hungAt) / 60_000)).toBe(1);
    expect(pastMinute(thirdAt)).toBeLessThan(RUN_SECONDS);
    const age = (stale!.details as { ageSeconds: number }).ageSeconds;
    expect(age).toBeGreaterThan(LIMIT_SECONDS);
    expect(age).toBeLessThan(LIMIT_SECONDS + 90);
    // A run on a minute between the sidecar's start and the chmod made a scheduled backup: then the
    // age counts from it, else from the sidecar's start.
    const app = replayer.outputs("n1-app").name as string;
    const listed = JSON.parse(await docker(["exec", app, "node", "dist/cli.js", "backup", "list", "--json"])) as {
      id: string;
      createdAt: string;
      reason: string;
    }[];
    const scheduled = listed.filter((b) => b.reason === "scheduled");
    expect(scheduled.length).toBeLessThanOrEqual(1);
    const newest = scheduled[0] ? { id: scheduled[0].id, createdAt: scheduled[0].createdAt } : null;
    const minutes = `${Math.floor(age / 60)} min`;
    expect(withoutTimes(stale!)).toEqual({
      source: "fleet",
      event: "backup.stale",
      severity: "warning",
      stack: STACK,
      instance: "n1",
      title: `fleet ${STACK}: backups of n1 are stale`,
      message: newest
        ? `n1: the newest scheduled backup (${newest.id}) is ${minutes} old, more than twice its schedule (${SCHEDULE}).`
        : `n1: no scheduled backup for ${minutes}, more than twice its schedule (${SCHEDULE}).`,
      details: { schedule: SCHEDULE, newest, ageSeconds: age, limitSeconds: LIMIT_SECONDS },
    });
    // Each run logged its error within seconds of its minute, the one whose delivery hung included,
    // and the run after it fired on its minute: nothing waited for the receiver.
    const runs = (await sidecarLog()).filter((l) => typeof l.line.error === "string" && !l.line.notify);
    console.log(`the sidecar's failed runs, seconds past the minute: ${runs.map((r) => pastMinute(r.t)).join(", ")}`);
    expect(runs.length).toBe(3);
    for (const r of runs) expect(pastMinute(r.t)).toBeLessThan(RUN_SECONDS);
    // The third run's two deliveries leave together: their order of arrival is not fixed.
    expect(
      payloads()
        .map((p) => p.event)
        .sort(),
    ).toEqual(["backup.failed", "backup.failed", "backup.failed", "backup.stale", "offsite.failed"]);
  });
});
