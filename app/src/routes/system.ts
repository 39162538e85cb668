import { accessSync, constants } from "node:fs";
import type { FastifyInstance } from "fastify";
import { stmt } from "../db";

/** Result of one health check. */
type Check = "ok" | "fail";

/** /api/health (public, cheap), /api/version (public) and /metrics (admin). */
export async function systemRoutes(app: FastifyInstance): Promise<void> {
  const { ctx } = app;
  // Directory checks are syscalls; a second of caching keeps health cheap under 1/s polling and load tests.
  const dirCache = new Map<string, { at: number; ok: boolean }>();
  const writable = (dir: string): Check => {
    const now = Date.now();
    const hit = dirCache.get(dir);
    if (hit && now - hit.at < 1000) return hit.ok ? "ok" : "fail";
    let ok = true;
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      ok = false;
    }
    dirCache.set(dir, { at: now, ok });
    return ok ? "ok" : "fail";
  };

  // Polled every second by Docker and the proxy: keep it out of the info-level request log.
  const check = { type: "string" } as const;
  // A response schema lets Fastify serialize the body with fast-json-stringify (health is hot).
  const healthBody = {
    type: "object",
    properties: {
      status: { type: "string" },
      version: { type: "string" },
      schemaVersion: { type: "integer" },
      checks: {
        type: "object",
        properties: { database: check, migrations: check, dataDir: check, backupDir: check, maintenance: check },
      },
    },
  } as const;
  const healthSchema = { response: { 200: healthBody, 503: healthBody } };

  app.get("/api/health", { config: { access: "public" }, logLevel: "warn", schema: healthSchema }, async (_req, reply) => {
    let database: Check = "fail";
    if (!ctx.maintenance) {
      try {
        stmt(ctx.db, "SELECT 1").get();
        database = "ok";
      } catch {
        database = "fail";
      }
    }
    const checks = {
      database,
      migrations: (ctx.schemaVersion === ctx.migrations.length ? "ok" : "fail") as Check,
      dataDir: writable(ctx.paths.dataDir),
      backupDir: writable(ctx.paths.backupDir),
      maintenance: ctx.maintenance ? "on" : "off",
    };
    // A missing backup volume degrades the instance but must not make Docker restart it.
    const serving = database === "ok" && checks.migrations === "ok" && checks.dataDir === "ok" && !ctx.maintenance;
    const status = ctx.maintenance ? "maintenance" : !serving ? "fail" : checks.backupDir === "ok" ? "ok" : "degraded";
    return reply
      .code(serving ? 200 : 503)
      .header("cache-control", "no-store")
      .send({ status, version: ctx.config.version, schemaVersion: ctx.schemaVersion, checks });
  });

  app.get("/api/version", { config: { access: "public" } }, async () => ({
    version: ctx.config.version,
    revision: ctx.config.revision,
    buildDate: ctx.config.buildDate,
    schemaVersion: ctx.schemaVersion,
    node: process.version,
  }));

  app.get("/metrics", async (_req, reply) => {
    const body = await app.metrics.registry.metrics();
    return reply.header("content-type", app.metrics.registry.contentType).send(body);
  });
}
