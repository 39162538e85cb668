import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "./config";
import type { SessionRepository } from "./domain/sessions";

/**
 * Who may call a route, set as route `config.access`:
 * - `admin` (the default for every route): the admin token as Bearer header or session cookie;
 * - `read`: anyone when PUBLIC_READ=true, else as `admin`;
 * - `public`: anyone (health, login).
 */
export type Access = "public" | "read" | "admin";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Who may call this route; default `admin`. */
    access?: Access;
    /** What an unauthenticated caller gets: a 401 JSON (default) or a redirect to the login page. */
    onDenied?: "json" | "redirect";
  }
  interface FastifyRequest {
    /** True when the request carries the admin token (header or session cookie). Read-only, computed on first use. */
    readonly isAdmin: boolean;
  }
}

/**
 * Name of the session cookie set by the login endpoint (and by the login page): `fleet_session_<APP_NAME>`.
 * Cookies ignore ports (RFC 6265 §8.5), so instances on one host need distinct names, or logging into
 * one would overwrite the session of another. APP_NAME's pattern keeps the name a valid cookie token.
 */
export function sessionCookieName(config: Config): string {
  return `fleet_session_${config.appName}`;
}
/** Lifetime of a session. */
export const SESSION_TTL_SECONDS = 12 * 3600;
/** Where pages redirect to when a session is missing. */
export const LOGIN_PATH = "/login";

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Constant-time comparison of a presented token with the admin token. */
export function tokenMatches(config: Config, presented: string | undefined): boolean {
  if (!config.adminToken || !presented) return false;
  return timingSafeEqual(digest(presented), digest(config.adminToken));
}

function sign(config: Config, payload: string): string {
  // The key derives from the admin token: rotating the token ends every session.
  return createHmac("sha256", `fleet-session:${config.adminToken ?? ""}`)
    .update(payload)
    .digest("base64url");
}

/** What the session functions need: the configuration and the stored sessions. */
export interface SessionStore {
  readonly config: Config;
  readonly sessions: SessionRepository;
}

/**
 * A new session, valid for {@link SESSION_TTL_SECONDS} and stored server-side.
 * The cookie value is `<expires>.<id>.<hmac>`: the HMAC keeps forged ids from reaching the database.
 */
export function newSessionValue(store: SessionStore, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + SESSION_TTL_SECONDS;
  const id = store.sessions.create(expires, now);
  return `${expires}.${id}.${sign(store.config, `${expires}.${id}`)}`;
}

/** The session id of a well-formed cookie value with a valid signature and expiry, else null. Never touches the database. */
function signedSessionId(config: Config, value: string | undefined, now: number): string | null {
  if (!value || !config.adminToken) return null;
  const parts = value.split(".");
  if (parts.length !== 3) return null;
  const [exp, id, mac] = parts as [string, string, string];
  const expires = Number(exp);
  if (!/^\d{1,12}$/.test(exp) || expires < now / 1000 || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return null;
  const expected = Buffer.from(sign(config, `${exp}.${id}`));
  const got = Buffer.from(mac);
  return expected.length === got.length && timingSafeEqual(expected, got) ? id : null;
}

/** True for an unexpired, correctly signed session cookie whose session has not ended (logout). */
export function sessionValid(store: SessionStore, value: string | undefined, now = Date.now()): boolean {
  const id = signedSessionId(store.config, value, now);
  return id !== null && store.sessions.isActive(id, now);
}

/** True when the request carries the admin token as `Authorization: Bearer`. */
export function bearerValid(config: Config, req: FastifyRequest): boolean {
  const h = req.headers.authorization;
  return h?.startsWith("Bearer ") === true && tokenMatches(config, h.slice(7).trim());
}

/** True when the request carries the admin token as `Authorization: Bearer` or a valid session cookie. */
export function isAdminRequest(store: SessionStore, req: FastifyRequest): boolean {
  if (bearerValid(store.config, req)) return true;
  return sessionValid(store, req.cookies?.[sessionCookieName(store.config)]);
}

/** Starts a session and sets its cookie (HttpOnly, SameSite=Lax, Secure over HTTPS). Used by POST /api/login. */
export function setSessionCookie(store: SessionStore, reply: FastifyReply): void {
  reply.setCookie(sessionCookieName(store.config), newSessionValue(store), {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: "auto",
    maxAge: SESSION_TTL_SECONDS,
  });
}

/** Ends the request's session server-side (a kept copy of the cookie stops working) and clears the cookie. */
export function endSession(store: SessionStore, req: FastifyRequest, reply: FastifyReply): void {
  const id = signedSessionId(store.config, req.cookies?.[sessionCookieName(store.config)], Date.now());
  if (id !== null) store.sessions.revoke(id);
  reply.clearCookie(sessionCookieName(store.config), { path: "/" });
}

/** Whether the route's access rule lets this request through. */
export function allowed(config: Config, access: Access, isAdmin: boolean): boolean {
  if (access === "public") return true;
  if (access === "read" && config.publicRead) return true;
  return isAdmin;
}
