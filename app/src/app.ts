import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import multipart from "@fastify/multipart";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions, type HTTPMethods } from "fastify";
import { type Access, allowed, bearerValid, isAdminRequest, LOGIN_PATH } from "./auth";
import type { AppContext } from "./context";
import { originProblem, SAFE_METHODS, simpleRequestProblem } from "./cross-site";
import { errorBody, installErrorHandling } from "./http";
import { createMetrics, type Metrics } from "./metrics";
import { authRoutes } from "./routes/auth";
import { backupRoutes } from "./routes/backups";
import { entryRoutes } from "./routes/entries";
import { settingsRoutes } from "./routes/settings";
import { statusRoutes } from "./routes/status";
import { systemRoutes } from "./routes/system";
import { typeRoutes } from "./routes/types";
import { csrfToken } from "./web/csrf";
import { webRoutes } from "./web/routes";

/** A registered route and its access rule (for the auth test and for documentation). */
export interface RouteInfo {
  readonly method: string;
  readonly url: string;
  readonly access: Access;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Configuration, live database, repositories, maintenance flag. */
    ctx: AppContext;
    metrics: Metrics;
    /** Every route registered, with its access rule. */
    routeList: RouteInfo[];
  }
}

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** Fastify logger option; defaults to JSON logs at LOG_LEVEL. */
  readonly logger?: FastifyServerOptions["logger"];
}

/**
 * Builds the app around an opened context; never listens. Every route requires the admin token
 * unless its `config.access` says `read` or `public` (default deny), so a route added later is
 * protected unless it opts out.
 */
export async function buildApp(ctx: AppContext, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = ctx;
  const app = Fastify({
    logger: opts.logger ?? { level: config.logLevel, redact: ["req.headers.authorization", "req.headers.cookie"] },
    // Containers publish only on 127.0.0.1 behind the fleet proxy, which sets X-Forwarded-*.
    trustProxy: true,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  });
  app.decorate("ctx", ctx);
  app.decorate("metrics", createMetrics(ctx));
  // Computed on first use: public routes such as /api/health never pay for it.
  const adminCache = new WeakMap<object, boolean>();
  const sessions = { config, sessions: ctx.repos.sessions };
  app.decorateRequest("isAdmin", {
    getter(this: FastifyRequest) {
      let v = adminCache.get(this);
      if (v === undefined) {
        // While a restore runs the database is closed: only the Bearer token counts.
        v = ctx.maintenance ? bearerValid(config, this) : isAdminRequest(sessions, this);
        adminCache.set(this, v);
      }
      return v;
    },
  });
  const routeList: RouteInfo[] = [];
  app.decorate("routeList", routeList);
  app.addHook("onRoute", (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]) as HTTPMethods[];
    for (const method of methods) {
      if (method === "HEAD") continue;
      routeList.push({ method, url: route.url, access: route.config?.access ?? "admin" });
    }
  });

  await app.register(cookie);
  // Per-client limits on the routes that set `config.rateLimit` (login); the client is req.ip, which
  // the fleet proxy sets through X-Forwarded-For.
  await app.register(rateLimit, { global: false });
  // HTML forms of the server-rendered pages post application/x-www-form-urlencoded.
  await app.register(formbody);
  await app.register(multipart, {
    limits: { fileSize: config.maxUploadBytes, files: 1, fields: 5, parts: 6 },
    // Keep the client's name as sent, so a name with a path in it is refused instead of silently cut.
    preservePath: true,
    // The size limit is checked on the stream (file.truncated) so the partial file can be removed.
    throwFileSizeLimit: false,
  });
  installErrorHandling(app);

  // First hook: everything after it runs bound to the database generation (AppContext.runRequest),
  // in the callback form so that the later hooks and the handler inherit the async context.
  app.addHook("onRequest", (_req, _reply, done) => ctx.runRequest(done));

  // A request is counted once and released once (an aborted request may also get onResponse).
  const counted = new WeakSet<object>();
  const release = (req: object) => {
    if (counted.delete(req)) ctx.inFlight--;
  };
  app.addHook("onRequest", async (req, reply) => {
    counted.add(req);
    ctx.inFlight++;
    // Every response, JSON included: browsers never sniff a body into another type.
    reply.header("x-content-type-options", "nosniff");
    const route = req.routeOptions;
    if (ctx.maintenance && route.url !== "/api/health") {
      return reply.code(503).header("retry-after", "5").send(errorBody(503, "maintenance: a restore is running, retry shortly"));
    }
    if (route.url === undefined) return; // unknown route: the JSON 404 handler answers
    const access = route.config.access ?? "admin";
    if (access !== "public" && !allowed(config, access, req.isAdmin)) {
      if (route.config.onDenied === "redirect") {
        return reply.redirect(`${LOGIN_PATH}?next=${encodeURIComponent(req.url)}`, 303);
      }
      return reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="fleet"')
        .send(errorBody(401, "authentication required: send the admin token as Authorization: Bearer <token> or log in"));
    }
    // Cross-site writes (src/cross-site.ts). Every write, on every route, public ones included
    // (login, logout), must come from this origin; one that the session cookie authenticates must
    // also be a request that no other page can send. A valid Bearer header, which no other page
    // can add, skips both.
    if (SAFE_METHODS.has(req.method) || bearerValid(config, req)) return;
    const problem =
      originProblem(req) ?? (route.config.csrf !== "form" && req.isAdmin ? simpleRequestProblem(req, () => csrfToken(config, req)) : null);
    if (problem) return reply.code(403).send(errorBody(403, `cross-site request refused: ${problem}`));
  });
  ctx.blobs.log = (msg, err) => (err === undefined ? app.log.info(msg) : app.log.error({ err }, msg));
  app.addHook("onResponse", async (req, reply) => {
    release(req);
    // A delete may have released the last reference to an upload blob (cascades included).
    if (req.method === "DELETE" && reply.statusCode < 300) ctx.blobs.soon();
    app.metrics.requestDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? "unmatched", status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.addHook("onRequestAbort", async (req) => {
    release(req);
  });

  await app.register(systemRoutes);
  await app.register(statusRoutes);
  await app.register(authRoutes);
  await app.register(settingsRoutes);
  await app.register(typeRoutes);
  await app.register(entryRoutes);
  await app.register(backupRoutes);
  await app.register(webRoutes);
  return app;
}
