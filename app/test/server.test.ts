import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { listBackups } from "../src/backup";
import { integrityCheck, openDatabase, stmt } from "../src/db";
import { APP_DIR, AUTH, tempDir, testEnv } from "./helpers";
import { freePort, startServer } from "./process";

describe("the server process", () => {
  test("kill -9 in the middle of writes, 20 times: the database opens, passes integrity_check and keeps every committed entry", async () => {
    const root = tempDir();
    const committed = new Map<number, string>();
    for (let round = 0; round < 20; round++) {
      const server = await startServer(root);
      let stop = false;
      const writer = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const title = `r${round}-w${w}-${i}`;
          try {
            const res = await fetch(`${server.url}/api/entries`, {
              method: "POST",
              headers: { ...AUTH, "content-type": "application/json" },
              body: JSON.stringify({ typeId: 1, title, description: "x".repeat(200) }),
            });
            if (res.status !== 201) throw new Error(`unexpected ${res.status}`);
            committed.set(((await res.json()) as { id: number }).id, title);
          } catch (err) {
            if (!stop) throw err;
          }
        }
      };
      const writers = [0, 1, 2, 3].map(writer);
      await new Promise((r) => setTimeout(r, 80 + ((round * 37) % 200)));
      stop = true;
      server.child.kill("SIGKILL");
      await Promise.all(writers);
      expect(await server.exited).toBe("SIGKILL");
    }
    const db = openDatabase(path.join(root, "data", "app.db"));
    expect(integrityCheck(db)).toBe("ok");
    const rows = new Map((stmt(db, "SELECT id, title FROM entries").all() as { id: number; title: string }[]).map((r) => [r.id, r.title]));
    const lost = [...committed].filter(([id, title]) => rows.get(id) !== title);
    expect(lost).toEqual([]);
    expect(committed.size).toBeGreaterThan(100);
    db.close();
  });

  test("SIGTERM drains and exits 0 well within 10 s", async () => {
    const server = await startServer(tempDir());
    const keepAlive = await fetch(`${server.url}/api/health`);
    expect(keepAlive.status).toBe(200);
    const t0 = Date.now();
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  test("dist/healthcheck.js exits 0 iff /api/health is 200", async () => {
    const root = tempDir();
    const server = await startServer(root);
    const hc = (port: number) =>
      spawnSync(process.execPath, [path.join(APP_DIR, "dist/healthcheck.js")], { env: { PORT: String(port) } }).status;
    expect(hc(server.port)).toBe(0);
    server.child.kill("SIGTERM");
    await server.exited;
    expect(hc(server.port)).toBe(1);
    expect(hc(await freePort())).toBe(1);
  });

  test("backup restore --live goes through the running server", async () => {
    const root = tempDir();
    const server = await startServer(root);
    const post = (title: string) =>
      fetch(`${server.url}/api/entries`, {
        method: "POST",
        headers: { ...AUTH, "content-type": "application/json" },
        body: JSON.stringify({ typeId: 1, title }),
      });
    await post("before");
    const env = { ...process.env, ...testEnv(root), PORT: String(server.port) };
    const cli = (...args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, [path.join(APP_DIR, "dist/cli.js"), ...args], { env });
        let out = "";
        p.stdout.on("data", (d: Buffer) => (out += d.toString()));
        p.stderr.on("data", (d: Buffer) => (out += d.toString()));
        p.on("close", (code) => resolve({ code, out }));
      });
    const created = await cli("backup", "create");
    expect(created.code).toBe(0);
    const { id } = JSON.parse(created.out);
    await post("after");
    const restored = await cli("backup", "restore", id, "--live");
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.out).restored).toBe(id);
    const titles = (
      (await (await fetch(`${server.url}/api/entries`, { headers: AUTH })).json()) as { items: { title: string }[] }
    ).items.map((e) => e.title);
    expect(titles).toEqual(["before"]);
    const unknown = await cli("backup", "restore", "no-such-backup", "--live");
    expect([unknown.code, JSON.parse(unknown.out)]).toEqual([
      1,
      { statusCode: 404, error: "Not Found", message: 'no backup "no-such-backup" in BACKUP_DIR (see backup list)' },
    ]);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  test("backup schedule runs on the cron schedule in the foreground and prunes to --keep", async () => {
    const root = tempDir();
    const server = await startServer(root);
    const p = spawn(process.execPath, [path.join(APP_DIR, "dist/cli.js"), "backup", "schedule", "--cron", "* * * * * *", "--keep", "2"], {
      env: { ...process.env, ...testEnv(root) },
    });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => p.on("close", resolve));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && out.split("\n").filter((l) => l.includes('"id"')).length < 3) {
      await new Promise((r) => setTimeout(r, 100));
    }
    p.kill("SIGTERM");
    expect(await exited).toBe(0);
    const lines = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(Object.keys(lines[0])).toEqual(["scheduled", "keep", "next"]);
    expect(lines.slice(1, 4).map((l) => Object.keys(l))).toEqual([
      ["at", "id", "pruned"],
      ["at", "id", "pruned"],
      ["at", "id", "pruned"],
    ]);
    expect(listBackups(path.join(root, "backups")).length).toBe(2);
    const bad = spawnSync(
      process.execPath,
      [path.join(APP_DIR, "dist/cli.js"), "backup", "schedule", "--cron", "every day", "--keep", "2"],
      {
        env: { ...process.env, ...testEnv(root) },
        encoding: "utf8",
      },
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe(
      "error: --cron \"every day\": CronPattern: invalid configuration format ('every day'), exactly five, six, or seven space separated parts are required.",
    );
    server.child.kill("SIGTERM");
    await server.exited;
  });
});
