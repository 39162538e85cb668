import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { clearSessionCookie, setSessionCookie, tokenMatches } from "../auth";
import { errorBody, parse } from "../http";

const loginBody = z.strictObject({ token: z.string({ error: "is required" }).min(1, { error: "is required" }) });

/** POST /api/login sets the session cookie; POST /api/logout clears it; GET /api/session tells who you are. */
export async function authRoutes(app: FastifyInstance): Promise<void> {
  const { config } = app.ctx;
  app.post("/api/login", { config: { access: "public" } }, async (req, reply) => {
    const { token } = parse(loginBody, req.body, "body");
    if (!tokenMatches(config, token)) return reply.code(401).send(errorBody(401, "token: wrong admin token", "token"));
    setSessionCookie(config, reply);
    return reply.code(204).send();
  });
  app.post("/api/logout", { config: { access: "public" } }, async (_req, reply) => {
    clearSessionCookie(config, reply);
    return reply.code(204).send();
  });
  app.get("/api/session", { config: { access: "public" } }, async (req) => ({
    admin: req.isAdmin,
    publicRead: config.publicRead,
  }));
}
