import { createHash, timingSafeEqual } from "node:crypto";
import { hostname } from "node:os";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { backupStatus } from "../backup";
import { errorBody } from "../http";
import { restartsOf, treeBytes } from "../status";

/** How long the data size is cached: walking the uploads on every poll of the dashboard is not needed. */
const SIZE_CACHE_MS = 60_000;

const digest = (s: string) => createHash("sha256").update(s).digest();

/** The Bearer token of a request, when it is the instance's STATUS_TOKEN. */
function statusTokenValid(token: string | undefined, req: FastifyRequest): boolean {
  const h = req.headers.authorization;
  if (!token || h?.startsWith("Bearer ") !== true) return false;
  return timingSafeEqual(digest(h.slice(7).trim()), digest(token));
}

/** GET /api/status: for the dashboard (STATUS_TOKEN) and the admin; read-only, no entry data. */
export async function statusRoutes(app: FastifyInstance): Promise<void> {
  const { ctx } = app;
  let size: { at: number; bytes: number } | undefined;
  // `public` lets the request past the admin check; the handler accepts the status token or the admin.
  app.get("/api/status", { config: { access: "public" }, logLevel: "warn" }, async (req, reply) => {
    if (!statusTokenValid(ctx.config.statusToken, req) && !req.isAdmin) {
      return reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="fleet"')
        .send(errorBody(401, "the status token or the admin token is required"));
    }
    const now = Date.now();
    if (!size || now - size.at > SIZE_CACHE_MS) size = { at: now, bytes: treeBytes(ctx.paths.dataDir) };
    const backup = backupStatus(ctx.paths.backupDir);
    return reply.header("cache-control", "no-store").send({
      instance: ctx.config.appName,
      version: ctx.config.version,
      container: hostname(),
      uptimeSeconds: Math.round(process.uptime()),
      restarts: restartsOf(ctx.paths.dataDir),
      backup: {
        lastRun: backup.lastRun,
        newest: backup.newest ? { id: backup.newest.id, createdAt: backup.newest.createdAt, reason: backup.newest.reason } : null,
      },
      dataBytes: size.bytes,
    });
  });
}
