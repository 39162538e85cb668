import { describe, expect, test } from "vitest";
import { createBackup } from "../src/backup";
import { AUTH, makeApp } from "./helpers";

describe("a request still running after the restore's drain window", () => {
  test("cannot write into the restored database: it gets 503 and the restored data is the backup's", async () => {
    const { app, ctx } = await makeApp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inHandler = new Promise<void>((r) => (started = r));
    // A slow request, like an upload that streams for longer than the drain window.
    app.post("/api/test-slow-write", async (_req, reply) => {
      started();
      await gate;
      return reply.code(201).send(ctx.repos.entries.create({ typeId: 1, title: "late write", description: "" }));
    });
    ctx.repos.entries.create({ typeId: 1, title: "in the backup", description: "" });
    const backup = createBackup({ paths: ctx.paths, instance: "test", appVersion: "1.0.0" });
    ctx.repos.entries.create({ typeId: 1, title: "after the backup", description: "" });

    const slow = app.inject({ method: "POST", url: "/api/test-slow-write", headers: AUTH, payload: {} });
    await inHandler;
    expect(ctx.inFlight).toBe(1);
    const restored = await ctx.restore(backup.id, 0, () => {}, { drainMs: 50 });
    expect(restored.restored).toBe(backup.id);
    release();
    const late = await slow;
    expect([late.statusCode, late.headers["retry-after"], late.json()]).toEqual([
      503,
      "1",
      {
        statusCode: 503,
        error: "Service Unavailable",
        message: "the database was restored while this request ran; nothing was written, retry it",
      },
    ]);
    const titles = (await app.inject({ url: "/api/entries", headers: AUTH })).json().items.map((e: { title: string }) => e.title);
    expect(titles).toEqual(["in the backup"]);
    const fresh = await app.inject({ method: "POST", url: "/api/test-slow-write", headers: AUTH, payload: {} });
    release();
    expect(fresh.statusCode).toBe(201);
  });
});
