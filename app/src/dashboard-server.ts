/**
 * `node dist/dashboard-server.js`: the fleet dashboard mode of the app image (src/dashboard.ts).
 * Listens on PORT (the container's healthcheck) and on `<APP_SOCKET_DIR>/<hostname>.sock`, the
 * proxy's upstream, like an instance. SIGTERM closes it.
 */
import { buildDashboard, dashboardConfig } from "./dashboard";
import { listenOnSocket } from "./socket-listener";

async function main(): Promise<void> {
  let config;
  try {
    config = dashboardConfig(process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  const app = await buildDashboard(config);
  await app.ready();
  const socket = config.socketDir !== undefined ? await listenOnSocket(app, config.socketDir) : undefined;
  await app.listen({ port: config.port, host: config.host });
  const stop = () => {
    socket?.server.close();
    void app.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error).message}\n`);
  process.exit(1);
});
