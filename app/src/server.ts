import { buildApp } from "./app";
import { loadConfigOrExit } from "./config";
import { AppContext } from "./context";
import { MigrationError } from "./migrations";

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

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
  const app = await buildApp(ctx);

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, "shutting down: draining requests");
    const timer = setTimeout(() => {
      app.log.error("shutdown took longer than 10 s, exiting");
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    app
      .close()
      .then(() => {
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

  await app.listen({ port: config.port, host: config.host });
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error).message}\n`);
  process.exit(1);
});
