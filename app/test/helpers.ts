import { createHash, createHmac } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterEach } from "vitest";
import { buildApp } from "../src/app";
import { type Config, loadConfig } from "../src/config";
import { AppContext } from "../src/context";
import { DEFAULT_MIGRATIONS_DIR } from "../src/migrations";

/** Admin token used by every test. */
export const TOKEN = "test-admin-token-0123456789abcdef";
/** Authorization header with {@link TOKEN}. */
export const AUTH = { authorization: `Bearer ${TOKEN}` };
/** Root of the app package (dist/ lives here after `npm run build`). */
export const APP_DIR = path.resolve(__dirname, "..");

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A fresh temporary directory, removed after the test. */
export function tempDir(prefix = "fleet-app-"): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Environment for a test instance with its own data and backup directories. */
export function testEnv(root: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: path.join(root, "data"),
    BACKUP_DIR: path.join(root, "backups"),
    APP_NAME: "test",
    APP_TITLE: "Test Instance",
    ADMIN_TOKEN: TOKEN,
    LOG_LEVEL: "silent",
    ...extra,
  };
}

/** A migrations directory holding only the first `n` shipped migrations (plus optional extra files). */
export function migrationsDir(n: number, extra: Record<string, string> = {}): string {
  const dir = path.join(tempDir("fleet-migrations-"), "migrations");
  mkdirSync(dir);
  for (const f of readdirSync(DEFAULT_MIGRATIONS_DIR).sort().slice(0, n)) {
    cpSync(path.join(DEFAULT_MIGRATIONS_DIR, f), path.join(dir, f));
  }
  for (const [name, sql] of Object.entries(extra)) {
    writeFileSync(path.join(dir, name), sql);
  }
  return dir;
}

/** A running in-process app (never listening) for `app.inject`. */
export interface TestApp {
  readonly app: FastifyInstance;
  readonly ctx: AppContext;
  readonly config: Config;
  readonly root: string;
}

/** Builds an app on a temp directory; closed after the test. */
export async function makeApp(opts: { env?: Record<string, string>; root?: string; migrationsDir?: string } = {}): Promise<TestApp> {
  const root = opts.root ?? tempDir();
  const config = loadConfig(testEnv(root, opts.env));
  const ctx = AppContext.open(config, opts.migrationsDir ? { migrationsDir: opts.migrationsDir } : {});
  const app = await buildApp(ctx, { logger: false });
  cleanups.push(() => {
    void app.close();
    ctx.close();
  });
  return { app, ctx, config, root };
}

/** Headers of a browser asking for a page. */
export const HTML = { accept: "text/html,application/xhtml+xml" };
/** Content type of an HTML form post. */
export const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** Logs in through POST /api/login and returns the session cookie and the pages' CSRF token. */
export async function session(app: FastifyInstance): Promise<{ cookie: string; csrf: string }> {
  const login = await app.inject({ method: "POST", url: "/api/login", payload: { token: TOKEN } });
  if (login.statusCode !== 204) throw new Error(`login: ${login.statusCode} ${login.body}`);
  const c = login.cookies.find((x) => x.name === "fleet_session_test")!;
  const cookie = `fleet_session_test=${c.value}`;
  const form = await app.inject({ url: "/entries/new", headers: { ...HTML, cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1];
  if (!csrf) throw new Error(`no CSRF token in ${form.body}`);
  return { cookie, csrf };
}

/** A multipart/form-data body with one file field. */
export function multipart(
  filename: string,
  content: Buffer | string,
  mime = "application/octet-stream",
  field = "file",
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----fleet${Math.random().toString(16).slice(2)}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${mime}\r\n\r\n`;
  const payload = Buffer.concat([Buffer.from(head), Buffer.from(content), Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { payload, headers: { ...AUTH, "content-type": `multipart/form-data; boundary=${boundary}` } };
}

/** sha256 hex of a buffer. */
export function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Creates an entry through the API and returns its JSON. */
export async function createEntry(app: FastifyInstance, title: string, description = ""): Promise<{ id: number }> {
  const res = await app.inject({ method: "POST", url: "/api/entries", headers: AUTH, payload: { typeId: 1, title, description } });
  if (res.statusCode !== 201) throw new Error(`create entry: ${res.statusCode} ${res.body}`);
  return res.json();
}

/**
 * A copy of the built app (dist/, package.json) shipped with the given migrations directory,
 * as an image would ship it; node_modules is linked. Needs `npm run build` first.
 */
export function installedApp(migrations: string): string {
  const dir = path.join(tempDir("fleet-installed-"), "app");
  mkdirSync(dir);
  cpSync(path.join(APP_DIR, "dist"), path.join(dir, "dist"), { recursive: true });
  cpSync(path.join(APP_DIR, "package.json"), path.join(dir, "package.json"));
  cpSync(migrations, path.join(dir, "migrations"), { recursive: true });
  symlinkSync(path.join(APP_DIR, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

/** The CSRF token of a session cookie value (as GET /api/session and the pages give it). */
export function csrfOf(sessionCookie: string): string {
  return createHmac("sha256", `fleet-csrf:${TOKEN}`).update(sessionCookie).digest("base64url");
}
