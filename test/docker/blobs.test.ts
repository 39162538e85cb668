/**
 * The docker tier, attachment blobs on the engine: deleting entries frees their upload blobs on
 * disk (the app's blob collection, app/src/blobs.ts), measured as free bytes of a small
 * tmpfs-backed volume as the container sees them.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cleanUp, phases, tierEngine } from "./engine";
import { docker } from "./replay";
import { MB, startOnSmallVolume, type SmallVolumeApp } from "./small-volume";

const RUN_ID = randomBytes(3).toString("hex");
const STACK = `blobs${RUN_ID}`;
const REPO = `fleet-tier-${RUN_ID}/app`;

const engine = tierEngine();
const phase = phases();
let app: SmallVolumeApp;

describe.runIf(engine)("docker tier: attachment blobs", () => {
  beforeAll(async () => {
    app = await startOnSmallVolume(STACK, REPO, 16);
    phase("build, start on a 16 MB volume");
  });

  afterAll(async () => {
    await cleanUp(STACK, [REPO]);
  });

  test("deleting entries frees their upload blobs on disk", async () => {
    // Bytes allocated on the volume: the blob store, and the database with its WAL.
    const allocated = async (glob: string) =>
      Number(await docker(["exec", app.container, "sh", "-c", `du -c -B1 ${glob} | tail -n 1 | cut -f1`]));
    const uploads = () => allocated("/data/uploads");
    // Everything else on the volume: the database, its WAL, directories.
    const rest = async () => (await allocated("/data")) - (await uploads());
    const before = { free: await app.freeBytes(), uploads: await uploads() };
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      const e = await app.entry(`blob ${i}`);
      expect(e.status).toBe(201);
      expect((await app.upload(e.body.id, randomBytes(MB))).status).toBe(201);
      ids.push(e.body.id);
    }
    const full = { free: await app.freeBytes(), uploads: await uploads(), rest: await rest() };
    expect(full.uploads - before.uploads).toBeGreaterThanOrEqual(4 * MB);
    await new Promise((r) => setTimeout(r, 1500)); // older than BLOB_GRACE_SECONDS
    for (const id of ids) expect((await app.call("DELETE", `/api/entries/${id}`)).status).toBe(204);
    let now = full.uploads;
    for (let i = 0; i < 80 && full.uploads - now < 4 * MB; i++) {
      await new Promise((r) => setTimeout(r, 250));
      now = await uploads();
    }
    const after = { free: await app.freeBytes(), uploads: now, rest: await rest() };
    const blobsFreed = full.uploads - after.uploads;
    const otherGrowth = after.rest - full.rest;
    console.log(
      `blobs: 4 uploads of 1 MB took ${((full.uploads - before.uploads) / MB).toFixed(2)} MB in the blob store; ` +
        `deleting their entries freed ${(blobsFreed / MB).toFixed(2)} MB there and ` +
        `${((after.free - full.free) / MB).toFixed(2)} MB of the volume (the other files grew ${(otherGrowth / MB).toFixed(2)} MB)`,
    );
    // Every blob is gone from the store, and the volume got that space back, less what the
    // deletes themselves wrote elsewhere (the database and its WAL).
    expect(blobsFreed).toBeGreaterThanOrEqual(4 * MB);
    expect(after.free - full.free).toBeGreaterThanOrEqual(blobsFreed - otherGrowth);
    phase("blob collection");
  });
});
