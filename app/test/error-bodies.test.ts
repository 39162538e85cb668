import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { hidePaths } from "../src/http";
import { AUTH, makeApp } from "./helpers";

describe("error bodies and headers", () => {
  test("a JSON 404 does not echo the path; every JSON response says nosniff", async () => {
    const { app } = await makeApp();
    const res = await app.inject({ url: "/api/<script>alert(1)</script>", headers: AUTH });
    expect([res.statusCode, res.json(), res.headers["x-content-type-options"]]).toEqual([
      404,
      { statusCode: 404, error: "Not Found", message: "no such route (GET); see the API list in the README" },
      "nosniff",
    ]);
    for (const url of ["/api/health", "/api/version", "/api/session", "/api/entries"]) {
      const r = await app.inject({ url, headers: AUTH });
      expect([url, r.headers["content-type"], r.headers["x-content-type-options"]]).toEqual([
        url,
        "application/json; charset=utf-8",
        "nosniff",
      ]);
    }
    const denied = await app.inject({ url: "/api/entries" });
    expect([denied.statusCode, denied.headers["x-content-type-options"]]).toEqual([401, "nosniff"]);
  });

  test("no BACKUP_DIR or DATA_DIR path in an error body", async () => {
    const { app, ctx } = await makeApp();
    const missing = await app.inject({ method: "POST", url: "/api/backups/test-none/verify", headers: AUTH });
    expect(missing.json()).toEqual({
      statusCode: 404,
      error: "Not Found",
      message: 'no backup "test-none" in BACKUP_DIR (see backup list)',
    });
    mkdirSync(path.join(ctx.paths.backupDir, "test-broken"), { recursive: true });
    writeFileSync(path.join(ctx.paths.backupDir, "test-broken", "manifest.json"), "{");
    const broken = await app.inject({ method: "POST", url: "/api/backups/test-broken/verify", headers: AUTH });
    expect([broken.statusCode, broken.json().problems[0].split(":")[0]]).toEqual([422, "BACKUP_DIR/test-broken/manifest.json"]);
    for (const body of [missing.body, broken.body]) {
      expect([body.includes(ctx.paths.backupDir), body.includes(ctx.paths.dataDir)]).toEqual([false, false]);
    }
  });

  test.each([
    ["/b/x: nope", { BACKUP_DIR: "/b" }, "BACKUP_DIR/x: nope"],
    ['{"m":"/d/app.db and /b"}', { DATA_DIR: "/d", BACKUP_DIR: "/b" }, '{"m":"DATA_DIR/app.db and BACKUP_DIR"}'],
    ["/data/backups/x", { DATA_DIR: "/data", BACKUP_DIR: "/data/backups" }, "BACKUP_DIR/x"],
    ["C:\\\\x", { DATA_DIR: "C:\\x" }, "DATA_DIR"],
  ])("hidePaths(%j)", (text, dirs, want) => {
    expect(hidePaths(text, dirs)).toBe(want);
  });
});
