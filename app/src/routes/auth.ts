import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { endSession, setSessionCookie, tokenMatches } from "../auth";
import { errorBody, parse } from "../http";
import { csrfToken } from "../web/csrf";

/** Login attempts per client (IP address) and minute; more get 429 with Retry-After. */
export const LOGIN_ATTEMPTS_PER_MINUTE = 10;
const LOGIN_RATE_LIMIT = {
  max: LOGIN_ATTEMPTS_PER_MINUTE,
  timeWindow: 60_000,
  errorResponseBuilder: (_req: unknown, context: { after: string }) =>
    Object.assign(new Error(`too many login attempts from this client; retry in ${context.after}`), { statusCode: 429 }),
};

const loginBody = z.strictObject({ token: z.string({ error: "is required" }).min(1, { error: "is required" }) });

/** POST /api/login sets the session cookie; POST /api/logout clears it; GET /api/session tells who you are. */
export async function authRoutes(app: FastifyInstance): Promise<void> {
  const { config } = app.ctx;
  const store = { config, sessions: app.ctx.repos.sessions };
  app.post("/api/login", { config: { access: "public", rateLimit: LOGIN_RATE_LIMIT } }, async (req, reply) => {
    const { token } = parse(loginBody, req.body, "body");
    if (!tokenMatches(config, token)) return reply.code(401).send(errorBody(401, "token: wrong admin token", "token"));
    setSessionCookie(store, reply);
    return reply.code(204).send();
  });
  app.post("/api/logout", { config: { access: "public" } }, async (req, reply) => {
    endSession(store, req, reply);
    return reply.code(204).send();
  });
  // csrfToken: what a page sends in the x-csrf-token header on a cookie-authenticated write that is not JSON.
  app.get("/api/session", { config: { access: "public" } }, async (req) => ({
    admin: req.isAdmin,
    publicRead: config.publicRead,
    csrfToken: req.isAdmin ? csrfToken(config, req) : null,
  }));
}
