import { existsSync, writeFileSync } from "node:fs";
import http from "node:http";
import { hostname } from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { AUTH, sha256, tempDir } from "./helpers";
import { startServer } from "./process";

/** One request over a unix socket; resolves with the status, the headers and the body. */
function viaSocket(
  socketPath: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; agent?: http.Agent },
  body?: (req: http.ClientRequest) => void,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, ...opts }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    if (body) body(req);
    else req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the proxy's unix socket and the drain on SIGTERM", () => {
  test("APP_SOCKET_DIR: answers on <dir>/<hostname>.sock, replaces a stale file there, removes it on exit", async () => {
    const dir = path.join(tempDir(), "sockets", "test");
    const file = path.join(dir, `${hostname()}.sock`);
    const server = await startServer(tempDir(), { APP_SOCKET_DIR: dir });
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(existsSync(file)).toBe(false);
    // What a killed process leaves behind: listen() would fail with EADDRINUSE on it.
    writeFileSync(file, "");
    const again = await startServer(tempDir(), { APP_SOCKET_DIR: dir });
    const health = await viaSocket(file, { path: "/api/health" });
    expect([health.status, JSON.parse(health.body).status]).toEqual([200, "ok"]);
    again.child.kill("SIGTERM");
    expect(await again.exited).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  test("SIGTERM during a slow upload: it completes with 201 and Connection: close, idle connections close, new ones are refused, exit 0", async () => {
    const dir = tempDir();
    const file = path.join(dir, `${hostname()}.sock`);
    const server = await startServer(tempDir(), { APP_SOCKET_DIR: dir, LOG_LEVEL: "info" });
    const entry = await viaSocket(
      file,
      { method: "POST", path: "/api/entries", headers: { ...AUTH, "content-type": "application/json" } },
      (req) => req.end(JSON.stringify({ typeId: 1, title: "drain" })),
    );
    expect(entry.status).toBe(201);

    // An idle keep-alive connection, as a proxy's pool would hold.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const idle = await viaSocket(file, { path: "/api/health", agent });
    expect([idle.status, idle.headers.connection]).toEqual([200, "keep-alive"]);
    const idleSocket = Object.values(agent.freeSockets).flat()[0]!;
    const idleClosed = new Promise<number>((resolve) => idleSocket.once("close", () => resolve(Date.now())));

    // A multipart upload sent in 20 pieces over 2 s; SIGTERM arrives after the fifth.
    const boundary = "----fleetdrain";
    const content = Buffer.alloc(20 * 4096, "fleet drain ");
    let sigterm = 0;
    const upload = viaSocket(
      file,
      {
        method: "POST",
        path: `/api/entries/${JSON.parse(entry.body).id}/attachments`,
        headers: { ...AUTH, "content-type": `multipart/form-data; boundary=${boundary}` },
      },
      (req) => {
        void (async () => {
          req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n`);
          req.write("Content-Type: application/octet-stream\r\n\r\n");
          for (let i = 0; i < 20; i++) {
            req.write(content.subarray(i * 4096, (i + 1) * 4096));
            if (i === 4) {
              server.child.kill("SIGTERM");
              sigterm = Date.now();
            }
            await sleep(100);
          }
          req.end(`\r\n--${boundary}--\r\n`);
        })();
      },
    );
    await sleep(700);
    expect(sigterm).toBeGreaterThan(0);
    await expect(viaSocket(file, { path: "/api/health" })).rejects.toThrow(/ECONNREFUSED|ENOENT/);
    const done = await upload;
    const finished = Date.now();
    expect([done.status, done.headers.connection, JSON.parse(done.body).sha256]).toEqual([201, "close", sha256(content)]);
    expect(finished - sigterm).toBeGreaterThan(1000);
    expect((await idleClosed) - sigterm).toBeLessThan(500);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('"inFlight":1,"msg":"shutting down: draining requests"');
    agent.destroy();
  });
});
