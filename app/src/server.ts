import type http from "node:http";
import { buildApp } from "./app";
import { loadConfigOrExit } from "./config";
import { AppContext } from "./context";
import { MigrationError } from "./migrations";
import { listenOnSocket, unlinkIfPresent } from "./socket-listener";
import { recordStart } from "./status";

/**
 * How long a graceful shutdown may take before the process exits anyway. The container's stop
 * grace period is longer (components/app-instance.ts, STOP_GRACE_SECONDS), so Docker's SIGKILL
 * never cuts a drain short.
 */
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** While draining, connections that became idle are closed this often. */
const IDLE_SWEEP_MS = 100;

function closed(server: http.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  let ctx: AppContext;
  try {
    ctx = AppContext.open(config, { log: (msg) => process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), msg })}\n`) });
  } catch (err) {
    if (err instanceof MigrationError) {
      process.stderr.write(`refusing to start: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  // Counted for the dashboard's restarts column (src/status.ts); best effort.
  recordStart(config.dataDir);
  const app = await buildApp(ctx);

  // Responses still being worked on when SIGTERM arrives get `Connection: close`, so the client
  // does not reuse a connection that is about to go away (Node answers them keep-alive otherwise).
  const inFlight = new Set<http.ServerResponse>();
  const track = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight.add(res);
    res.once("close", () => inFlight.delete(res));
  };

  let socket: { server: http.Server; file: string } | undefined;
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal, inFlight: inFlight.size }, "shutting down: draining requests");
    const timer = setTimeout(() => {
      app.log.error({ inFlight: inFlight.size }, "shutdown took longer than 10 s, exiting");
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
    // server.close() stops accepting and closes the connections idle right now; a keep-alive
    // connection whose response finishes later becomes idle later, so sweep until both are closed.
    const sweep = setInterval(() => {
      socket?.server.closeIdleConnections();
      app.server.closeIdleConnections();
    }, IDLE_SWEEP_MS);
    Promise.all([socket ? closed(socket.server) : undefined, app.close()])
      .then(() => {
        clearInterval(sweep);
        if (socket) unlinkIfPresent(socket.file);
        ctx.close();
        app.log.info("closed");
        process.exit(0);
      })
      .catch((err: unknown) => {
        app.log.error({ err }, "error while closing");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  await app.ready();
  app.server.prependListener("request", track);
  // The socket first: once the TCP port answers (the healthcheck), the proxy's upstream exists.
  if (config.socketDir !== undefined) {
    socket = await listenOnSocket(app, config.socketDir);
    socket.server.prependListener("request", track);
  }
  await app.listen({ port: config.port, host: config.host });
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error).message}\n`);
  process.exit(1);
});
