import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "./config";

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

function sign(config: Config, expires: number): string {
  // The key derives from the admin token: rotating the token ends every session.
  return createHmac("sha256", `fleet-session:${config.adminToken ?? ""}`)
    .update(String(expires))
    .digest("base64url");
}

/** A session cookie value valid for {@link SESSION_TTL_SECONDS}. */
export function newSessionValue(config: Config, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + SESSION_TTL_SECONDS;
  return `${expires}.${sign(config, expires)}`;
}

/** True for an unexpired session cookie signed with the current admin token. */
export function sessionValid(config: Config, value: string | undefined, now = Date.now()): boolean {
  if (!value || !config.adminToken) return false;
  const [exp, mac] = value.split(".");
  const expires = Number(exp);
  if (!Number.isInteger(expires) || expires < now / 1000 || !mac) return false;
  const expected = Buffer.from(sign(config, expires));
  const got = Buffer.from(mac);
  return expected.length === got.length && timingSafeEqual(expected, got);
}

/** True when the request carries the admin token as `Authorization: Bearer` or a valid session cookie. */
export function isAdminRequest(config: Config, req: FastifyRequest): boolean {
  const h = req.headers.authorization;
  if (h?.startsWith("Bearer ") && tokenMatches(config, h.slice(7).trim())) return true;
  return sessionValid(config, req.cookies?.[sessionCookieName(config)]);
}

/** Sets the session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS). Used by POST /api/login and the login page. */
export function setSessionCookie(config: Config, reply: FastifyReply): void {
  reply.setCookie(sessionCookieName(config), newSessionValue(config), {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: "auto",
    maxAge: SESSION_TTL_SECONDS,
  });
}

/** Clears the session cookie. */
export function clearSessionCookie(config: Config, reply: FastifyReply): void {
  reply.clearCookie(sessionCookieName(config), { path: "/" });
}

/** Whether the route's access rule lets this request through. */
export function allowed(config: Config, access: Access, isAdmin: boolean): boolean {
  if (access === "public") return true;
  if (access === "read" && config.publicRead) return true;
  return isAdmin;
}
