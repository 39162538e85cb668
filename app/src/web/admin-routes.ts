import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { stmt } from "../db";
import { ValidationError } from "../domain/errors";
import { settingsPatch } from "../domain/settings";
import {
  entryTypeCreate,
  entryTypeUpdate,
  idParams,
  relationshipTypeCreate,
  relationshipTypeUpdate,
  stateInput,
  stateMove,
  stateUpdate,
} from "../domain/schemas";
import { parse } from "../http";
import {
  definitionPage,
  definitionsPage,
  LABEL_FIELDS,
  linkChoices,
  linkPage,
  NEW_TYPE_STATE_ROWS,
  newTypePage,
  settingsPage,
  statePage,
  typePage,
  type TypePageErrors,
  typesPage,
} from "./admin-views";
import { type FieldErrors, type FormValues, formErrors, refusedStatus } from "./forms";
import type { SafeHtml } from "./html";
import type { Frame } from "./layout";

/** What the pages plugin (src/web/routes.ts) lends these routes. */
export interface PageKit {
  readonly frame: (req: FastifyRequest, reply: FastifyReply) => Frame;
  readonly send: (reply: FastifyReply, body: SafeHtml, status?: number) => FastifyReply;
  /** Renders an entry page, with an error on its relationships card. */
  readonly showEntry: (req: FastifyRequest, reply: FastifyReply, id: number, status: number, errors: { link?: string }) => FastifyReply;
  /** The non-empty string fields of a form body, without the CSRF token. */
  readonly fields: (body: unknown) => Record<string, string>;
}

/** "true"/"false" from a select as a boolean; anything else is passed on for the schema to refuse. */
const bool = (v: string | undefined) => (v === "true" ? true : v === "false" ? false : v);

/** A link choice `<definition id>:<in|out>` from the entry page's relationship menu. */
function parseRel(v: string | undefined): { typeId: number; direction: "in" | "out" } {
  const m = /^(\d+):(in|out)$/.exec(v ?? "");
  if (!m) throw new ValidationError("rel", "choose a relationship");
  return { typeId: Number(m[1]), direction: m[2] as "in" | "out" };
}

/**
 * The pages that configure an instance: entry types and their states, relationship definitions,
 * settings; and the relationship forms of the entry page. Registered inside the pages plugin, so
 * every POST here passes its CSRF check first. All are `admin` (the default); the domain
 * repositories apply the same rules as the JSON API, and a refused form comes back with each
 * message next to its field.
 */
export async function adminPages(app: FastifyInstance, kit: PageKit): Promise<void> {
  const { repos } = app.ctx;
  const { frame, send, fields } = kit;
  const idOf = (req: FastifyRequest) => parse(idParams, req.params, "params").id;
  const entryCount = (typeId: number) => stmt(app.ctx.db, "SELECT count(*) FROM entries WHERE type_id = ?").pluck().get(typeId) as number;

  // Types.
  app.get("/types", async (req, reply) => {
    const counts = new Map(
      (stmt(app.ctx.db, "SELECT type_id AS id, count(*) AS n FROM entries GROUP BY type_id").all() as { id: number; n: number }[]).map(
        (r) => [r.id, r.n],
      ),
    );
    return send(reply, typesPage(frame(req, reply), counts));
  });

  app.get("/types/new", async (req, reply) => send(reply, newTypePage(frame(req, reply), {})));

  app.post("/types", async (req, reply) => {
    const v = fields(req.body);
    const rows: number[] = [];
    const states = [];
    for (let i = 0; i < NEW_TYPE_STATE_ROWS; i++) {
      if (v[`states.${i}.name`] === undefined) continue;
      rows.push(i);
      states.push({ name: v[`states.${i}.name`], color: v[`states.${i}.color`] ?? "", open: bool(v[`states.${i}.open`]) });
    }
    const shown = ["key", "singular", "plural", "states", ...rows.flatMap((i) => ["name", "color", "open"].map((k) => `states.${i}.${k}`))];
    try {
      const input = parse(entryTypeCreate, { key: v.key ?? "", singular: v.singular ?? "", plural: v.plural ?? "", states }, "form");
      const t = repos.types.create(input);
      return reply.redirect(`/types/${t.id}`, 303);
    } catch (err) {
      // The schema numbers the states it was given; the form numbers its rows (blank rows are left out).
      const renumbered =
        err instanceof ValidationError
          ? new ValidationError(
              err.field.replace(/^states\.(\d+)\./, (_m, k: string) => `states.${rows[Number(k)]}.`),
              err.message.slice(err.field.length + 2),
            )
          : err;
      return send(reply, newTypePage(frame(req, reply), v, formErrors(renumbered, shown)), refusedStatus(err));
    }
  });

  const showType = (
    req: FastifyRequest,
    reply: FastifyReply,
    id: number,
    status = 200,
    values: Parameters<typeof typePage>[3] = {},
    errors: TypePageErrors = {},
  ) => send(reply, typePage(frame(req, reply), repos.types.get(id), entryCount(id), values, errors), status);

  app.get("/types/:id", async (req, reply) => showType(req, reply, idOf(req)));

  app.post("/types/:id", async (req, reply) => {
    const id = repos.types.get(idOf(req)).id;
    const v = fields(req.body);
    try {
      repos.types.update(id, parse(entryTypeUpdate, { singular: v.singular ?? "", plural: v.plural ?? "" }, "form"));
      return reply.redirect(`/types/${id}`, 303);
    } catch (err) {
      return showType(req, reply, id, refusedStatus(err), { labels: v }, { labels: formErrors(err, ["singular", "plural"]) });
    }
  });

  app.post("/types/:id/delete", async (req, reply) => {
    const id = repos.types.get(idOf(req)).id;
    try {
      repos.types.delete(id);
      return reply.redirect("/types", 303);
    } catch (err) {
      return showType(req, reply, id, refusedStatus(err), {}, { page: formErrors(err, [])[""]! });
    }
  });

  // States.
  const stateValues = (v: FormValues) => ({ name: v.name ?? "", color: v.color ?? "", open: bool(v.open) });
  const STATE_FIELDS = ["name", "color", "open"];

  app.post("/types/:id/states", async (req, reply) => {
    const id = repos.types.get(idOf(req)).id;
    const v = fields(req.body);
    try {
      repos.types.addState(id, parse(stateInput, stateValues(v), "form"));
      return reply.redirect(`/types/${id}#states`, 303);
    } catch (err) {
      return showType(req, reply, id, refusedStatus(err), { state: v }, { state: formErrors(err, STATE_FIELDS) });
    }
  });

  const showState = (req: FastifyRequest, reply: FastifyReply, id: number, v?: FormValues, errors: FieldErrors = {}, status = 200) => {
    const s = repos.types.getState(id);
    const values = v ?? { name: s.name, color: s.color, open: String(s.open) };
    return send(reply, statePage(frame(req, reply), repos.types.get(s.typeId), s, values, errors), status);
  };

  app.get("/states/:id/edit", async (req, reply) => showState(req, reply, idOf(req)));

  app.post("/states/:id", async (req, reply) => {
    const s = repos.types.getState(idOf(req));
    const v = fields(req.body);
    try {
      repos.types.updateState(s.id, parse(stateUpdate, stateValues(v), "form"));
      return reply.redirect(`/types/${s.typeId}#states`, 303);
    } catch (err) {
      return showState(req, reply, s.id, v, formErrors(err, STATE_FIELDS), refusedStatus(err));
    }
  });

  /** A one-button state change: done, back to the type page; refused, the type page with the message. */
  const stateAction = (path: string, act: (stateId: number, typeId: number, v: FormValues) => void) =>
    app.post(path, async (req, reply) => {
      const s = repos.types.getState(idOf(req));
      try {
        act(s.id, s.typeId, fields(req.body));
        return reply.redirect(`/types/${s.typeId}#states`, 303);
      } catch (err) {
        return showType(req, reply, s.typeId, refusedStatus(err), {}, { page: formErrors(err, [])[""]! });
      }
    });
  stateAction("/states/:id/move", (id, _t, v) =>
    repos.types.moveState(id, parse(stateMove, { direction: v.direction ?? "" }, "form").direction),
  );
  stateAction("/states/:id/default", (id, typeId) => repos.types.update(typeId, { defaultStateId: id }));
  stateAction("/states/:id/delete", (id) => repos.types.deleteState(id));

  // Relationship definitions.
  const DEF_FIELDS = ["fromTypeId", "toTypeId", "label", "reverseLabel", "cardinality"];
  const defValues = (v: FormValues) => ({ label: v.label ?? "", reverseLabel: v.reverseLabel ?? "", cardinality: v.cardinality ?? "" });

  app.get("/relationship-types", async (req, reply) =>
    send(reply, definitionsPage(frame(req, reply), repos.relationshipTypes.list(), { cardinality: "many-to-one" })),
  );

  app.post("/relationship-types", async (req, reply) => {
    const v = fields(req.body);
    try {
      repos.relationshipTypes.create(
        parse(relationshipTypeCreate, { fromTypeId: v.fromTypeId, toTypeId: v.toTypeId, ...defValues(v) }, "form"),
      );
      return reply.redirect("/relationship-types", 303);
    } catch (err) {
      return send(
        reply,
        definitionsPage(frame(req, reply), repos.relationshipTypes.list(), v, formErrors(err, DEF_FIELDS)),
        refusedStatus(err),
      );
    }
  });

  const showDefinition = (req: FastifyRequest, reply: FastifyReply, id: number, v?: FormValues, errors: FieldErrors = {}, status = 200) => {
    const d = repos.relationshipTypes.get(id);
    return send(
      reply,
      definitionPage(frame(req, reply), d, v ?? { label: d.label, reverseLabel: d.reverseLabel, cardinality: d.cardinality }, errors),
      status,
    );
  };

  app.get("/relationship-types/:id", async (req, reply) => showDefinition(req, reply, idOf(req)));

  app.post("/relationship-types/:id", async (req, reply) => {
    const id = repos.relationshipTypes.get(idOf(req)).id;
    const v = fields(req.body);
    try {
      repos.relationshipTypes.update(id, parse(relationshipTypeUpdate, defValues(v), "form"));
      return reply.redirect("/relationship-types", 303);
    } catch (err) {
      return showDefinition(req, reply, id, v, formErrors(err, DEF_FIELDS), refusedStatus(err));
    }
  });

  app.post("/relationship-types/:id/delete", async (req, reply) => {
    const id = repos.relationshipTypes.get(idOf(req)).id;
    try {
      repos.relationshipTypes.delete(id);
      return reply.redirect("/relationship-types", 303);
    } catch (err) {
      return showDefinition(req, reply, id, undefined, formErrors(err, []), refusedStatus(err));
    }
  });

  // Relationships of an entry.
  app.get("/entries/:id/link", async (req, reply) => {
    const e = repos.entries.get(idOf(req));
    const v = fields(req.query);
    const choices = linkChoices(repos.relationshipTypes.listForType(e.typeId), e.typeId);
    const choice = choices.find((c) => c.value === v.rel);
    if (!choice) return send(reply, linkPage(frame(req, reply), e, choices, v, [], "rel: choose a relationship"), 400);
    const q = v.q?.slice(0, 200);
    const found = repos.entries.list({ ...(q ? { q } : {}), type: choice.otherTypeId, archived: "false", limit: 21, offset: 0 });
    const candidates = found.items.filter((c) => c.id !== e.id).slice(0, 20);
    return send(reply, linkPage(frame(req, reply), e, choices, v, candidates));
  });

  app.post("/entries/:id/relationships", async (req, reply) => {
    const e = repos.entries.get(idOf(req));
    const v = fields(req.body);
    try {
      const { typeId, direction } = parseRel(v.rel);
      const other = parse(idParams, { id: v.otherId }, "form").id;
      if (direction === "out") repos.relationships.create(e.id, { typeId }, other);
      else repos.relationships.create(other, { typeId }, e.id);
      return reply.redirect(`/entries/${e.id}#links`, 303);
    } catch (err) {
      return kit.showEntry(req, reply, e.id, refusedStatus(err), { link: formErrors(err, [])[""]! });
    }
  });

  app.post("/entries/:id/relationships/:rid/delete", async (req, reply) => {
    const { id, rid } = req.params as { id: string; rid: string };
    const entryId = repos.entries.get(parse(idParams, { id }, "params").id).id;
    const r = repos.relationships.get(parse(idParams, { id: rid }, "params").id);
    if (r.fromEntryId !== entryId && r.toEntryId !== entryId) {
      return kit.showEntry(req, reply, entryId, 400, { link: `relationship ${r.id} does not link this entry` });
    }
    repos.relationships.delete(r.id);
    return reply.redirect(`/entries/${entryId}#links`, 303);
  });

  // Settings.
  const settingsValues = (): FormValues => {
    const s = repos.settings.get();
    return {
      title: s.title,
      subtitle: s.subtitle,
      theme: s.theme,
      ...Object.fromEntries(Object.entries(s.labels).map(([k, l]) => [`labels.${k}`, l])),
    };
  };

  app.get("/settings", async (req, reply) =>
    send(reply, settingsPage(frame(req, reply), settingsValues(), {}, (req.query as { saved?: unknown }).saved === "1")),
  );

  app.post("/settings", async (req, reply) => {
    const v = fields(req.body);
    const labels = Object.fromEntries(LABEL_FIELDS.map(([name]) => [name.slice("labels.".length), v[name] ?? ""]));
    try {
      repos.settings.update(
        parse(settingsPatch, { title: v.title ?? "", subtitle: v.subtitle ?? "", theme: v.theme ?? "", labels }, "form"),
      );
      return reply.redirect("/settings?saved=1", 303);
    } catch (err) {
      const shown = ["title", "subtitle", "theme", ...LABEL_FIELDS.map(([name]) => name)];
      return send(reply, settingsPage(frame(req, reply), v, formErrors(err, shown)), refusedStatus(err));
    }
  });
}
