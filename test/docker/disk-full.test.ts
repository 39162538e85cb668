/**
 * The docker tier, a full disk: the app image on an 8 MB tmpfs-backed volume holding its data and
 * its backups, filled to the last byte. Reads keep working; writes, uploads and backups fail with
 * 507 and a message; the database stays intact (`integrity_check`); once space is freed,
 * everything works again in the same process, without a restart.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { backupCreateArgs } from "../../components/app-contract";
import { cleanUp, phases, tierEngine } from "./engine";
import { docker } from "./replay";
import { MB, startOnSmallVolume, type SmallVolumeApp } from "./small-volume";

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `full${RUN_ID}`;
const REPO = `fleet-tier-${RUN_ID}/app`;
const DISK_FULL =
  "the disk is full (no space left on the instance's volume): nothing was written, reads still work; free space and retry, no restart is needed";

const engine = tierEngine();
const phase = phases();
let app: SmallVolumeApp;

describe.runIf(engine)("docker tier: a full disk", () => {
  beforeAll(async () => {
    app = await startOnSmallVolume(STACK, REPO, 8);
    phase("build, start on an 8 MB volume");
  });

  afterAll(async () => {
    await cleanUp(STACK, [REPO]);
  });

  test("reads work, writes/uploads/backups fail with 507 and a message, nothing is corrupt; freeing space heals it without a restart", async () => {
    const kept = await app.entry("written before the disk filled");
    expect(kept.status).toBe(201);
    const keptBytes = randomBytes(256 * 1024);
    const keptUpload = await app.upload(kept.body.id, keptBytes);
    expect(keptUpload.status).toBe(201);
    const startedAt = await docker(["inspect", "--format", "{{.State.StartedAt}}", app.container]);

    // Fill the volume: uploads to a filler entry until one is refused, then a ballast file for the last bytes.
    const filler = await app.entry("filler");
    expect(filler.status).toBe(201);
    let refused: { status: number; body: { message?: string } } | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const r = await app.upload(filler.body.id, randomBytes(512 * 1024));
      if (r.status !== 201) refused = { status: r.status, body: r.body };
    }
    expect(refused).toEqual({
      status: 507,
      body: { statusCode: 507, error: "Insufficient Storage", message: DISK_FULL },
    });
    await docker(["exec", app.container, "sh", "-c", "cat /dev/zero > /data/ballast 2>/dev/null; true"]);
    expect(await app.freeBytes()).toBe(0);
    phase("fill the disk");

    // Reads keep working.
    const list = await app.call<{ total: number }>("GET", "/api/entries?archived=all&limit=1");
    expect([list.status, list.body.total]).toEqual([200, 2]);
    const download = await app.call("GET", `/api/attachments/${keptUpload.body.id!}/download`);
    expect(download.status).toBe(200);
    expect(createHash("sha256").update(download.bytes).digest("hex")).toBe(
      createHash("sha256").update(keptBytes).digest("hex"),
    );
    expect((await app.call("GET", "/api/health")).status).toBe(200);

    // Writes, uploads and backups fail with 507 and the reason; so does the CLI's backup.
    const write = await app.entry("one too many");
    expect([write.status, write.body.message]).toEqual([507, DISK_FULL]);
    const upload = await app.upload(kept.body.id, randomBytes(1024));
    expect([upload.status, upload.body.message]).toEqual([507, DISK_FULL]);
    const backup = await app.call<{ message: string }>("POST", "/api/backups", "{}");
    expect([backup.status, backup.body.message]).toEqual([507, DISK_FULL]);
    const cli = await docker(["exec", app.container, ...backupCreateArgs()]).then(
      (out) => `exit 0: ${out}`,
      (e: Error) => e.message,
    );
    expect(cli).toMatch(/database or disk is full|no space left on device/i);
    expect(await app.integrity()).toBe("ok");
    phase("full disk");

    // Free space (the ballast, and the filler entry, whose blobs the app collects): everything works
    // again in the same process.
    await docker(["exec", app.container, "rm", "/data/ballast"]);
    expect((await app.call("DELETE", `/api/entries/${filler.body.id}`)).status).toBe(204);
    for (let i = 0; i < 80 && (await app.freeBytes()) < 4 * MB; i++) await new Promise((r) => setTimeout(r, 250));
    expect(await app.freeBytes()).toBeGreaterThanOrEqual(4 * MB);
    const after = await app.entry("written after space was freed");
    expect(after.status).toBe(201);
    expect((await app.upload(after.body.id, randomBytes(1024))).status).toBe(201);
    const ok = await app.call<{ id: string }>("POST", "/api/backups", "{}");
    expect(ok.status).toBe(201);
    const verified = await app.call<{ ok: boolean }>("POST", `/api/backups/${ok.body.id}/verify`);
    expect([verified.status, verified.body.ok]).toEqual([200, true]);
    expect(await app.integrity()).toBe("ok");
    expect(await docker(["inspect", "--format", "{{.State.StartedAt}} {{.RestartCount}}", app.container])).toBe(
      `${startedAt} 0`,
    );
    phase("space freed");
  });
});
