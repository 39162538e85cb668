import { timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";

/**
 * Cross-site request forgery, by design rather than per route (OWASP CSRF cheat sheet,
 * https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html).
 * A browser attaches the session cookie to requests that another page starts: a form post, or a
 * `fetch` that needs no CORS preflight (method GET, HEAD or POST, only safelisted headers, and a
 * body of type `application/x-www-form-urlencoded`, `multipart/form-data` or `text/plain`;
 * https://fetch.spec.whatwg.org/#cors-safelisted-request-header). SameSite=Lax does not help here:
 * every instance on the same host is the *same site*. So every write that is not authenticated by
 * a Bearer header must
 * 1. come from this origin, when the browser says where it comes from ({@link originProblem}); and
 * 2. be a request no other page can make without a preflight, which this app never grants: JSON,
 *    or the session's CSRF token in the {@link CSRF_HEADER} header ({@link simpleRequestProblem}).
 *    Routes of the server-rendered forms check a token in the form instead (src/web/csrf.ts).
 */

/** Methods that never change anything. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/** Header that carries the session's CSRF token on a cookie-authenticated write that is not JSON. */
export const CSRF_HEADER = "x-csrf-token";

/** This server's origin as the browser sees it (through the proxy's X-Forwarded-* headers). */
export function ownOrigin(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

/** A header value shortened for an error message. */
function shown(v: string): string {
  return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
}

/**
 * Why a write may have been started by a page of another origin, or null. The `Origin` header
 * decides when present (every current browser sends it on POST, PUT, PATCH and DELETE; the value
 * `null` of sandboxed and opaque origins never matches); without it `Sec-Fetch-Site`, then the
 * `Referer`. A request with none of them does not come from a browser page.
 */
export function originProblem(req: FastifyRequest): string | null {
  const own = ownOrigin(req);
  const origin = req.headers.origin;
  if (origin !== undefined) return origin === own ? null : `the request came from another origin (${shown(origin)}), not ${own}`;
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined) {
    return site === "same-origin" || site === "none" ? null : `the request came from another site (Sec-Fetch-Site: ${shown(site)})`;
  }
  const referer = req.headers.referer;
  if (referer !== undefined) {
    let from = "null";
    try {
      from = new URL(referer).origin;
    } catch {
      // an unparsable Referer counts as a foreign one
    }
    if (from !== own) return `the request came from another origin (Referer ${shown(from)}), not ${own}`;
  }
  return null;
}

/**
 * True for exactly `application/json` (parameters allowed). A list such as
 * `application/json, text/plain` is refused: a browser reads it as the safelisted `text/plain`.
 */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined || value.includes(",")) return false;
  return value.split(";")[0]!.trim().toLowerCase() === "application/json";
}

/**
 * Why a cookie-authenticated write could have been sent by another page without a preflight, or
 * null: it must be JSON, or carry `expectedToken` in the {@link CSRF_HEADER} header. This holds for
 * every write method, not only POST, so nothing depends on which methods browsers preflight.
 */
export function simpleRequestProblem(req: FastifyRequest, expectedToken: () => string): string | null {
  if (isJsonContentType(req.headers["content-type"])) return null;
  const presented = req.headers[CSRF_HEADER];
  if (typeof presented === "string" && presented !== "") {
    const expected = Buffer.from(expectedToken());
    const got = Buffer.from(presented);
    if (expected.length === got.length && timingSafeEqual(expected, got)) return null;
    return `the ${CSRF_HEADER} header does not match your session; read it again from GET /api/session`;
  }
  return `a write with a session cookie must send Content-Type: application/json, or the session's token in the ${CSRF_HEADER} header (from GET /api/session)`;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * `form`: the route checks a CSRF token posted in the form itself (the server-rendered pages),
     * so a form-encoded or multipart body is allowed; the origin check still applies.
     */
    csrf?: "form";
  }
}
