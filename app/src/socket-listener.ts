/** The unix-socket listener of a server: the fleet proxy's upstream (an instance's, and the dashboard's). */
import { mkdirSync, unlinkSync } from "node:fs";
import http from "node:http";
import { hostname } from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";

/** Removes a file; a missing one is fine. */
export function unlinkIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/**
 * The second listener: `<dir>/<hostname>.sock`, served by the same Fastify routing as the TCP
 * port. It is the fleet proxy's upstream (a path that survives restarts, unlike a published port);
 * Docker sets the hostname to the container's short id, which stays the same across restarts, and
 * the route command links to exactly that path. A socket left by a killed process would make
 * listen fail with EADDRINUSE, so a stale file is removed first.
 */
export async function listenOnSocket(app: FastifyInstance, dir: string): Promise<{ server: http.Server; file: string }> {
  const file = path.join(dir, `${hostname()}.sock`);
  mkdirSync(dir, { recursive: true });
  unlinkIfPresent(file);
  const server = http.createServer(app.routing);
  server.keepAliveTimeout = app.server.keepAliveTimeout;
  server.headersTimeout = app.server.headersTimeout;
  server.requestTimeout = app.server.requestTimeout;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(file, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, file };
}
