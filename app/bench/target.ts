import Fastify from "fastify";
import { buildApp } from "../src/app";
import { loadConfigOrExit } from "../src/config";
import { AppContext } from "../src/context";

/**
 * The benchmark's target process: the real app (as server.ts builds it, on the seeded DATA_DIR)
 * and a bare Fastify route, in one process, so /api/health and the bare route are measured under
 * the same conditions. Prints one JSON line with both ports.
 */
async function main(): Promise<void> {
  const ctx = AppContext.open(loadConfigOrExit(process.env));
  const app = await buildApp(ctx);
  const bare = Fastify();
  bare.get("/bare", async () => ({ status: "ok" }));
  const appUrl = await app.listen({ port: 0, host: "127.0.0.1" });
  const bareUrl = await bare.listen({ port: 0, host: "127.0.0.1" });
  process.stdout.write(`${JSON.stringify({ appUrl, bareUrl })}\n`);
  process.on("SIGTERM", () => {
    void Promise.all([app.close(), bare.close()]).then(() => {
      ctx.close();
      process.exit(0);
    });
  });
}

void main();
