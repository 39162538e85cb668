import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { endSession } from "../auth";
import { backupStatus, type LastRun } from "../backup";
import { checkFilename, normalizeMime, storeUpload, TooLargeError } from "../domain/attachments";
import { ValidationError } from "../domain/errors";
import { defaultSettings } from "../domain/settings";
import { entryCreate, entryQuery, entryUpdate, idParams, noteInput } from "../domain/schemas";
import { parse } from "../http";
import { adminPages } from "./admin-routes";
import { linkChoices } from "./admin-views";
import { CSRF_FIELD, csrfProblem, csrfToken } from "./csrf";
import type { SafeHtml } from "./html";
import type { Frame } from "./layout";
import { entryFormPage, type EntryFormValues, entryPage, errorPage, listPage, loginPage, PAGE_SIZE } from "./views";

const listQuery = z.strictObject({
  q: entryQuery.shape.q,
  type: entryQuery.shape.type,
  state: entryQuery.shape.state,
  archived: entryQuery.shape.archived,
  page: z.coerce
    .number({ error: "must be a page number from 1" })
    .int({ error: "must be a page number from 1" })
    .min(1, { error: "must be a page number from 1" })
    .default(1),
});

const archiveForm = z.strictObject({ archived: z.enum(["true", "false"], { error: "must be true or false" }) });

/** A form or query value as one string (empty and missing are both undefined). */
export function one(v: unknown): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" && s !== "" ? s : undefined;
}

/** The non-empty string values of a parsed query or urlencoded body, without the CSRF field. */
export function fields(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (body && typeof body === "object") {
    for (const [k, v] of Object.entries(body)) {
      const s = one(v);
      if (k !== CSRF_FIELD && s !== undefined) out[k] = s;
    }
  }
  return out;
}

const NEXT_BASE = new URL("http://fleet.invalid/");

/**
 * Where to go after login: a path of this server, never another host. The value is parsed as a URL
 * against a placeholder origin, as a browser would resolve it (browsers drop tabs and newlines, and
 * read `\` as `/`: `/%09/evil.example` arrives as `/\t/evil.example`, which is `//evil.example`),
 * and only a same-origin, path-only target is kept. Controls, invisible characters and backslashes
 * are refused outright; the result is the parser's serialization, so it is ASCII and always a
 * valid Location header.
 */
export function safeNext(next: unknown): string {
  const s = one(next);
  if (!s || !s.startsWith("/") || /[\\\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u.test(s)) return "/";
  let url: URL;
  try {
    url = new URL(s, NEXT_BASE);
  } catch {
    return "/";
  }
  if (url.origin !== NEXT_BASE.origin || url.username || url.password || url.pathname.startsWith("/login")) return "/";
  return `${url.pathname}${url.search}${url.hash}`;
}

const wantsHtml = (req: FastifyRequest) => (req.headers.accept ?? "").includes("text/html");

/**
 * Server-rendered pages: list/search/filter, create, edit, archive, notes, attachments, login.
 *
 * Access works as for the API (the hook in app.ts): list and entry pages are `read`, forms and
 * every POST are `admin`. No page is `public`: an unauthenticated browser gets the 401 that the
 * API gives, with the login form as its HTML body (see the onSend hook), so there is one rule.
 * Every POST checks the Origin header and a per-session CSRF token (src/web/csrf.ts).
 */
export async function webRoutes(app: FastifyInstance): Promise<void> {
  const { ctx } = app;
  const { config, repos } = ctx;
  const read = { config: { access: "read" as const } };
  // Every form post of the pages checks the form's CSRF token (the preHandler below and the
  // multipart route), so the app-wide cross-site check lets their form bodies through.
  app.addHook("onRoute", (route) => {
    if (route.method === "POST") route.config = { ...route.config, csrf: "form" };
  });

  function frame(req: FastifyRequest, reply: FastifyReply, opts: { db?: boolean } = {}): Frame {
    const nonce = randomBytes(16).toString("base64");
    reply
      .header(
        "content-security-policy",
        `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
      )
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "same-origin")
      // Pages carry the CSRF token and private data.
      .header("cache-control", "no-store");
    let lastBackup: LastRun | null = null;
    if (req.isAdmin) {
      const b = backupStatus(ctx.paths.backupDir);
      lastBackup =
        b.lastRun ?? (b.newest ? { at: b.newest.createdAt, ok: true, reason: b.newest.reason, id: b.newest.id, error: null } : null);
    }
    const useDb = opts.db !== false && !ctx.maintenance;
    return {
      settings: useDb ? ctx.settings() : defaultSettings(config.appTitle),
      types: useDb ? repos.types.list() : [],
      nonce,
      isAdmin: req.isAdmin,
      csrf: csrfToken(config, req),
      version: config.version,
      lastBackup,
    };
  }

  const send = (reply: FastifyReply, body: SafeHtml, status = 200) => reply.code(status).type("text/html; charset=utf-8").send(body.value);
  const idOf = (req: FastifyRequest) => parse(idParams, req.params, "params").id;
  const showEntry = (req: FastifyRequest, reply: FastifyReply, id: number, status = 200, errors: Parameters<typeof entryPage>[5] = {}) => {
    const e = repos.entries.get(id);
    const links = { ...repos.relationships.listFor(id), choices: linkChoices(repos.relationshipTypes.listForType(e.typeId), e.typeId) };
    return send(reply, entryPage(frame(req, reply), e, repos.notes.listFor(id), repos.attachments.listFor(id), links, errors), status);
  };

  // The API's JSON errors (401 from the auth hook, 404, 503 in maintenance) become pages for browsers.
  app.addHook("onSend", async (req, reply, payload) => {
    if (reply.statusCode < 400 || !wantsHtml(req)) return payload;
    if (!String(reply.getHeader("content-type") ?? "").startsWith("application/json")) return payload;
    let message = `HTTP ${reply.statusCode}`;
    try {
      message = (JSON.parse(String(payload)) as { message?: string }).message ?? message;
    } catch {
      // keep the generic message
    }
    const f = frame(req, reply, { db: reply.statusCode !== 503 });
    reply.type("text/html; charset=utf-8");
    if (reply.statusCode === 401) {
      const next =
        req.routeOptions.url === "/login"
          ? safeNext((req.query as { next?: unknown }).next)
          : req.method === "GET"
            ? safeNext(req.url)
            : "/";
      return loginPage(f, next, "Log in with the instance's admin token to continue.").value;
    }
    return errorPage(f, reply.statusCode, message).value;
  });

  // Every form post proves it came from our own page. A multipart post is checked in its handler,
  // which reads the token from the stream before the file; only routes marked `filesInForm` take one.
  app.addHook("preHandler", async (req, reply) => {
    if (req.method !== "POST" || (req.isMultipart() && req.routeOptions.config.filesInForm === true)) return;
    const problem = csrfProblem(config, req, (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD]);
    if (problem) return send(reply, errorPage(frame(req, reply), 403, problem), 403);
  });

  app.get("/login", read, async (req, reply) => {
    const next = safeNext((req.query as { next?: unknown }).next);
    if (req.isAdmin) return reply.redirect(next, 303);
    return send(reply, loginPage(frame(req, reply), next));
  });

  app.post("/logout", async (req, reply) => {
    endSession({ config, sessions: repos.sessions }, req, reply);
    return reply.redirect("/", 303);
  });

  app.get("/", read, async (req, reply) => {
    let filters: z.infer<typeof listQuery>;
    try {
      filters = parse(listQuery, fields(req.query), "query");
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const f = frame(req, reply);
      return send(reply, listPage(f, { archived: "false", page: 1 }, { items: [], total: 0, totalCapped: false }, err.message), 400);
    }
    const { page: pageNo, ...filter } = filters;
    const result = repos.entries.list({ ...filter, limit: PAGE_SIZE, offset: (pageNo - 1) * PAGE_SIZE });
    return send(reply, listPage(frame(req, reply), filters, result));
  });

  app.get("/entries/new", async (req, reply) => send(reply, entryFormPage(frame(req, reply), {})));

  app.post("/entries", async (req, reply) => {
    const v = fields(req.body) as EntryFormValues;
    try {
      const input = parse(
        entryCreate,
        {
          typeId: v.typeId,
          title: v.title,
          description: v.description ?? "",
          ...(v.stateId ? { stateId: v.stateId } : {}),
          ...(v.plannedEnd ? { plannedEnd: v.plannedEnd } : {}),
        },
        "form",
      );
      const entry = repos.entries.create(input);
      return reply.redirect(`/entries/${entry.id}`, 303);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return send(reply, entryFormPage(frame(req, reply), v, undefined, err.message), 400);
    }
  });

  app.get("/entries/:id", read, async (req, reply) => showEntry(req, reply, idOf(req)));

  app.get("/entries/:id/edit", async (req, reply) => {
    const e = repos.entries.get(idOf(req));
    const v: EntryFormValues = {
      title: e.title,
      description: e.description,
      stateId: String(e.stateId),
      plannedEnd: e.plannedEnd ?? undefined,
      actualEnd: e.actualEnd ?? undefined,
    };
    return send(reply, entryFormPage(frame(req, reply), v, e));
  });

  app.post("/entries/:id", async (req, reply) => {
    const e = repos.entries.get(idOf(req));
    const v = fields(req.body) as EntryFormValues;
    try {
      const input = parse(
        entryUpdate,
        {
          title: v.title ?? "",
          description: v.description ?? "",
          ...(v.stateId ? { stateId: v.stateId } : {}),
          // An emptied date field clears the date.
          plannedEnd: v.plannedEnd ?? null,
          actualEnd: v.actualEnd ?? null,
        },
        "form",
      );
      repos.entries.update(e.id, input);
      return reply.redirect(`/entries/${e.id}`, 303);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return send(reply, entryFormPage(frame(req, reply), v, e, err.message), 400);
    }
  });

  app.post("/entries/:id/archive", async (req, reply) => {
    const id = idOf(req);
    const { archived } = parse(archiveForm, fields(req.body), "form");
    repos.entries.update(id, { archived: archived === "true" });
    return reply.redirect(`/entries/${id}`, 303);
  });

  app.post("/entries/:id/notes", async (req, reply) => {
    const id = repos.entries.get(idOf(req)).id;
    const body = one((req.body as Record<string, unknown> | undefined)?.body) ?? "";
    try {
      repos.notes.create(id, parse(noteInput, { body }, "form").body);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return showEntry(req, reply, id, 400, { note: err.message, noteBody: body });
    }
    return reply.redirect(`/entries/${id}#notes`, 303);
  });

  // multipart/form-data: the CSRF field comes before the file in the form, so it is read first.
  app.post("/entries/:id/attachments", { config: { filesInForm: true } }, async (req, reply) => {
    const id = repos.entries.get(idOf(req)).id;
    const fail = (status: number, message: string) => showEntry(req, reply, id, status, { attachment: message });
    if (!req.isMultipart()) return fail(400, "body: must be multipart/form-data with a field named file");
    const part = await req.file();
    if (!part) return fail(400, "file: choose a file to upload");
    const token = part.fields[CSRF_FIELD];
    const problem = csrfProblem(config, req, token && !Array.isArray(token) && token.type === "field" ? token.value : undefined);
    if (problem) {
      part.file.resume();
      return send(reply, errorPage(frame(req, reply), 403, problem), 403);
    }
    let filename: string;
    try {
      if (part.fieldname !== "file") throw new ValidationError(part.fieldname, "unexpected field; send the upload as file");
      if (part.filename === "") throw new ValidationError("file", "choose a file to upload");
      filename = checkFilename(part.filename);
    } catch (err) {
      part.file.resume();
      if (err instanceof ValidationError) return fail(400, err.message);
      throw err;
    }
    try {
      const stored = await storeUpload(ctx.paths.uploadsDir, part.file, () => part.file.truncated);
      repos.attachments.create({ entryId: id, noteId: null, ...stored, mime: normalizeMime(part.mimetype), filename });
    } catch (err) {
      if (err instanceof TooLargeError) return fail(413, `${err.message} (${config.maxUploadBytes} bytes)`);
      throw err;
    }
    return reply.redirect(`/entries/${id}#attachments`, 303);
  });

  // Types, states, relationship definitions, settings, links: under the CSRF check above.
  await app.register(adminPages, { frame, send, showEntry, fields });
}
