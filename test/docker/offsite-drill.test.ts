/**
 * The docker tier, disaster-recovery drill: an instance deployed by the program with fleet:offsite
 * writes entries and attachments; its backups are copied by the off-site container to two restic
 * repositories, a local path and `sftp:` to an OpenSSH server (Debian's openssh-server) in a
 * container on the engine's bridge network, where the program's containers run. Then the host
 * is lost: every container, the data volume, the backups volume (the local backup files) and the
 * off-site cache are deleted. From each repository in turn, a fresh deploy of the same stack
 * and `npm run restore -- <name> --from-offsite` bring every entry and every attachment back,
 * checked by sha256.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  api,
  BASE_IMAGE,
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
import { docker, Replayer, type Render } from "./replay";
import {
  backupListArgs,
  BackupSummary,
  LABEL,
  labelFilter,
  labelFilters,
  offsiteSnapshotsArgs,
  OffsiteSnapshot,
  offsiteSyncArgs,
  parseAppJson,
} from "../../components/app-contract";

const run = promisify(execFile);

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `drill${RUN_ID}`;
const REPO = `fleet-tier-${RUN_ID}/app`;
const OFFSITE_REPO = `${REPO}-offsite`;
const SSHD_IMAGE = process.env.FLEET_SSHD_IMAGE ?? "fleet-tier-sshd:bookworm";
const SSHD = `fleet-${STACK}-sshd`;
const OFFSITE = `fleet-${STACK}-offsite`;
const INSTANCE = "drill";
const PORT = portBlock(24000, 1000);
const PASSWORD = randomBytes(18).toString("hex");
const ENTRIES = 5;

const engine = tierEngine();
const phase = phases();
const config = tierConfig(REPO, portBlock(25000, 1000));
const work = mkdtempSync(join(tmpdir(), "fleet-drill-"));
const LOCAL_REPO = join(work, "restic-local");
const FLEET = join(work, "fleet");
const STACK_FILE = join(ROOT, `Pulumi.${STACK}.yaml`);

/** What was written, to compare after each restore: entry titles, attachment id -> sha256. */
const written = { titles: [] as string[], attachments: new Map<number, string>() };
let sftp: { repository: string; sshKey: string; knownHosts: string };

async function renderWith(offsite: Record<string, unknown>): Promise<Render> {
  return render({
    instances: FLEET,
    version: "1.0.0",
    stack: STACK,
    config: { ...config, "fleet:offsite": JSON.stringify({ password: PASSWORD, intervalSeconds: 10, ...offsite }) },
  });
}

function token(replayer: Replayer): string {
  return replayer.outputs(`${INSTANCE}-admin-token`).result as string;
}

/** The off-site container's snapshots of the instance (`offsite snapshots --json`). */
async function snapshots(): Promise<OffsiteSnapshot[]> {
  const out = await docker(["exec", OFFSITE, ...offsiteSnapshotsArgs(INSTANCE)]);
  return parseAppJson("offsite snapshots --json", OffsiteSnapshot.array(), out);
}

/** Waits until the repository holds a snapshot of every given backup id (the copier runs every 10 s). */
async function copied(ids: readonly string[]): Promise<string[]> {
  let have: string[] = [];
  for (let i = 0; i < 90; i++) {
    have = (await snapshots().catch(() => [])).flatMap((s) => (s.id === null ? [] : [s.id]));
    if (ids.every((id) => have.includes(id))) return have;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the off-site copy of ${ids.join(", ")} did not appear within 90 s (have ${have.join(", ")})`);
}

/** Everything a dead host takes with it: containers, data and backups volumes, the off-site cache. */
async function loseTheHost(): Promise<void> {
  const ids = await docker(["ps", "-aq", ...labelFilters({ stack: STACK })]);
  if (ids) await docker(["rm", "--force", ...ids.split("\n")]);
  const vols = (await docker(["volume", "ls", "-q", ...labelFilter("stack", STACK)])).split("\n");
  const precious = [
    `fleet-${STACK}-${INSTANCE}-data`,
    `fleet-${STACK}-${INSTANCE}-backups`,
    `fleet-${STACK}-offsite-cache`,
  ];
  expect(precious.filter((v) => vols.includes(v))).toEqual(precious);
  await docker(["volume", "rm", ...vols]);
}

/** Deploys the stack afresh on the "new host" and restores the instance with the one restore command. */
async function restoreFrom(offsite: Record<string, unknown>): Promise<{ replayer: Replayer; output: string }> {
  const replayer = new Replayer({ log: (l) => console.log(l) });
  await replayer.apply(await renderWith(offsite));
  const empty = await api<{ total: number }>(PORT, "/api/entries?archived=all&limit=1", token(replayer));
  expect([empty.status, empty.body.total]).toEqual([200, 0]);
  const { stdout, stderr } = await run(
    "npm",
    ["run", "--silent", "restore", "--", INSTANCE, "--from-offsite", "--stack", STACK, "--yes", "--trust"],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  return { replayer, output: `${stdout}\n${stderr}` };
}

/** Every entry and every attachment's sha256, as written. */
async function checkEverything(t: string): Promise<void> {
  const list = await api<{ total: number; items: { title: string }[] }>(PORT, "/api/entries?archived=all&limit=100", t);
  expect(list.status).toBe(200);
  expect(list.body.items.map((e) => e.title).sort()).toEqual([...written.titles].sort());
  for (const [id, sha] of written.attachments) {
    const res = await fetch(`http://127.0.0.1:${PORT}/api/attachments/${id}/download`, {
      headers: { authorization: `Bearer ${t}` },
    });
    expect(res.status).toBe(200);
    expect(
      createHash("sha256")
        .update(Buffer.from(await res.arrayBuffer()))
        .digest("hex"),
    ).toBe(sha);
  }
}

describe.runIf(engine)("docker tier: disaster-recovery drill (off-site to a local path and to sftp:)", () => {
  beforeAll(async () => {
    console.log(`drill: stack ${STACK}, images ${REPO}, base ${BASE_IMAGE}, sshd ${SSHD_IMAGE}`);
    mkdirSync(FLEET);
    writeFileSync(join(FLEET, `${INSTANCE}.yaml`), `title: Drill\nport: ${PORT}\nbackup:\n  enabled: false\n`);
    // The local repository: a directory the container's user (uid 10001) can write, as docs/backups.md says.
    mkdirSync(LOCAL_REPO);
    chmodSync(LOCAL_REPO, 0o777);
    // What a user's stack file holds: the restore command reads the stack's config through the one reader.
    writeFileSync(STACK_FILE, "config:\n  fleet:version: 1.0.0\n");

    await buildAppImage(`${REPO}:1.0.0`, join(ROOT, "app"), "1.0.0");
    phase("build the app image");
    await buildOffsiteImage(`${REPO}:1.0.0`, `${OFFSITE_REPO}:1.0.0`);
    phase("build the off-site image (restic, ssh)");

    // The SFTP server: Debian's openssh-server, a user `restic` that logs in with a key only.
    await docker([
      "run",
      "-d",
      "--name",
      SSHD,
      "--label",
      `${LABEL.stack}=${STACK}`,
      "--entrypoint",
      "sh",
      SSHD_IMAGE,
      "-c",
      [
        "set -e",
        "ssh-keygen -A -q",
        "useradd --create-home --shell /bin/sh restic",
        "install -d -o restic -m 700 /home/restic/.ssh /srv/restic",
        "mkdir -p /run/sshd",
        "ssh-keygen -t ed25519 -N '' -q -f /tmp/client",
        "install -o restic -m 600 /tmp/client.pub /home/restic/.ssh/authorized_keys",
        "exec /usr/sbin/sshd -D -e -o PasswordAuthentication=no",
      ].join("; "),
    ]);
    let ip = "";
    for (
      let i = 0;
      i < 50 &&
      !(
        ip &&
        (await docker(["exec", SSHD, "test", "-s", "/tmp/client"]).then(
          () => true,
          () => false,
        ))
      );
      i++
    ) {
      ip = await docker(["inspect", "--format", "{{.NetworkSettings.IPAddress}}", SSHD]);
      await new Promise((r) => setTimeout(r, 200));
    }
    const hostKey = await docker(["exec", SSHD, "cut", "-d", " ", "-f", "1,2", "/etc/ssh/ssh_host_ed25519_key.pub"]);
    sftp = {
      repository: `sftp:restic@${ip}:/srv/restic/fleet`,
      sshKey: `${await docker(["exec", SSHD, "cat", "/tmp/client"])}\n`,
      knownHosts: `${ip} ${hostKey}`,
    };
    phase("start the SFTP server");
  });

  afterAll(async () => {
    // The off-site image first: an image with a child image cannot be removed.
    await cleanUp(STACK, [OFFSITE_REPO, REPO]);
    rmSync(STACK_FILE, { force: true });
    rmSync(work, { recursive: true, force: true });
  });

  test("back up, copy to a local and an sftp: repository, lose the host, restore from each", async () => {
    // 1. Deploy with the local repository; entries and attachments.
    const first = new Replayer({ log: (l) => console.log(l) });
    await first.apply(await renderWith({ repository: LOCAL_REPO }));
    const t = token(first);
    const types = await api<{ items: { id: number }[] }>(PORT, "/api/types", t);
    for (let i = 0; i < ENTRIES; i++) {
      const title = `drill entry ${i}`;
      const created = await api<{ id: number }>(PORT, "/api/entries", t, {
        method: "POST",
        body: JSON.stringify({ typeId: types.body.items[0]!.id, title }),
      });
      expect(created.status).toBe(201);
      written.titles.push(title);
      const bytes = randomBytes(4096 + i * 1000);
      const form = new FormData();
      form.append("file", new Blob([bytes], { type: "application/octet-stream" }), `file-${i}.bin`);
      const up = await api<{ id: number }>(PORT, `/api/entries/${created.body.id}/attachments`, t, {
        method: "POST",
        body: form,
      });
      expect(up.status).toBe(201);
      written.attachments.set(up.body.id, createHash("sha256").update(bytes).digest("hex"));
    }
    phase("deploy, write entries and attachments");

    // 2a. A manual backup and a pre-update backup (`pulumi up --replace` of the command runs it again).
    const manual = await api<{ id: string }>(PORT, "/api/backups", t, {
      method: "POST",
      body: JSON.stringify({ reason: "manual" }),
    });
    expect(manual.status).toBe(201);
    first.taint(`${INSTANCE}-pre-update-backup`);
    await first.apply(await renderWith({ repository: LOCAL_REPO }));
    const app = first.outputs(`${INSTANCE}-app`).name as string;
    const local = parseAppJson(
      "backup list --json",
      BackupSummary.array(),
      await docker(["exec", app, ...backupListArgs()]),
    );
    const ids = local.map((b) => b.id).sort();
    expect(local.map((b) => b.reason).sort()).toEqual(["manual", "pre-update"]);
    await copied(ids);
    const tagged = (await snapshots()).map((s) => [s.reason, s.versions]).sort();
    expect(tagged).toEqual([
      ["manual", null],
      ["pre-update", "1.0.0->1.0.0"],
    ]);
    const metrics = await (
      await fetch(`http://127.0.0.1:${PORT}/metrics`, { headers: { authorization: `Bearer ${t}` } })
    ).text();
    expect(metrics).toMatch(/^fleet_offsite_last_success 1$/m);
    phase("copy to the local repository");

    // 2b. The same stack switched to the sftp: repository: the new copier copies every local backup.
    await first.apply(await renderWith(sftp));
    await copied(ids);
    // A round now: it exits 0 only when every copy succeeded (docker() rejects on another status).
    await docker(["exec", OFFSITE, ...offsiteSyncArgs()]);
    phase("copy to the sftp: repository");

    // 3. The host is lost.
    await loseTheHost();
    phase("lose the host");

    // 4. Restore from each repository, onto a fresh deploy each time.
    for (const [what, offsite] of [
      ["local path", { repository: LOCAL_REPO }],
      ["sftp:", sftp],
    ] as const) {
      const { replayer, output } = await restoreFrom(offsite);
      console.log(output);
      await checkEverything(token(replayer));
      phase(`restore from the ${what} repository`);
      await loseTheHost();
    }
  });
});
