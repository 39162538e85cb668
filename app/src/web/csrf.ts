import { createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { bearerValid, sessionCookieName } from "../auth";
import type { Config } from "../config";
import { originProblem } from "../cross-site";

/** Name of the hidden form field that carries the CSRF token. */
export const CSRF_FIELD = "_csrf";

/**
 * The CSRF token of the request's session: an HMAC of the session cookie value under a key derived
 * from the admin token. It changes with every login and dies with the session (and with the token).
 */
export function csrfToken(config: Config, req: FastifyRequest): string {
  const session = req.cookies?.[sessionCookieName(config)] ?? "";
  return createHmac("sha256", `fleet-csrf:${config.adminToken ?? ""}`)
    .update(session)
    .digest("base64url");
}

/**
 * Why a form post must be refused, or null when it may proceed.
 *
 * Two independent checks (OWASP CSRF cheat sheet: synchronizer token plus verifying the origin,
 * https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html):
 * - the request must come from this origin when the browser says where it comes from
 *   ({@link originProblem}; the app's onRequest hook already refuses the others);
 * - the posted token must match the session's. SameSite=Lax alone is not enough here: other
 *   instances of the fleet on other ports of the same host are the *same site*.
 * A request authenticated by a Bearer header needs no token: a browser never adds that header by itself.
 */
export function csrfProblem(config: Config, req: FastifyRequest, posted: unknown): string | null {
  const foreign = originProblem(req);
  if (foreign) return foreign;
  if (bearerValid(config, req)) return null;
  if (typeof posted !== "string" || posted === "") return "the form has no CSRF token; reload the page and try again";
  const expected = Buffer.from(csrfToken(config, req));
  const got = Buffer.from(posted);
  if (expected.length !== got.length || !timingSafeEqual(expected, got)) {
    return "the form's CSRF token does not match your session; reload the page and try again";
  }
  return null;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** A page route whose form sends a file (multipart): it checks the CSRF field itself, read before the file. */
    filesInForm?: boolean;
  }
}
