import contentDisposition from "content-disposition";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { createReadStream } from "node:fs";
import { checkFilename, normalizeMime, storeUpload, type Attachment } from "../domain/attachments";
import { ValidationError } from "../domain/errors";
import { entryCreate, entryQuery, entryUpdate, idParams, noteInput, relationshipCreate } from "../domain/schemas";
import { parse } from "../http";

/** Entries, notes, attachments and relationships. */
export async function entryRoutes(app: FastifyInstance): Promise<void> {
  const { repos, paths } = app.ctx;
  const id = (req: FastifyRequest) => parse(idParams, req.params, "params").id;
  const read = { config: { access: "read" as const } };

  app.get("/api/entries", read, async (req) => repos.entries.list(parse(entryQuery, req.query, "query")));
  app.post("/api/entries", async (req, reply) => reply.code(201).send(repos.entries.create(parse(entryCreate, req.body, "body"))));
  app.get("/api/entries/:id", read, async (req) => repos.entries.get(id(req)));
  app.patch("/api/entries/:id", async (req) => repos.entries.update(id(req), parse(entryUpdate, req.body, "body")));
  app.delete("/api/entries/:id", async (req, reply) => {
    repos.entries.delete(id(req));
    return reply.code(204).send();
  });

  app.get("/api/entries/:id/notes", read, async (req) => {
    const entryId = repos.entries.get(id(req)).id;
    return { items: repos.notes.listFor(entryId) };
  });
  app.post("/api/entries/:id/notes", async (req, reply) =>
    reply.code(201).send(repos.notes.create(id(req), parse(noteInput, req.body, "body").body)),
  );
  app.patch("/api/notes/:id", async (req) => repos.notes.update(id(req), parse(noteInput, req.body, "body").body));
  app.delete("/api/notes/:id", async (req, reply) => {
    repos.notes.delete(id(req));
    return reply.code(204).send();
  });

  app.get("/api/entries/:id/relationships", read, async (req) => repos.relationships.listFor(repos.entries.get(id(req)).id));
  app.post("/api/entries/:id/relationships", async (req, reply) => {
    const body = parse(relationshipCreate, req.body, "body");
    const link = body.typeId !== undefined ? { typeId: body.typeId } : { kind: body.kind! };
    return reply.code(201).send(repos.relationships.create(id(req), link, body.toEntryId));
  });
  app.delete("/api/relationships/:id", async (req, reply) => {
    repos.relationships.delete(id(req));
    return reply.code(204).send();
  });

  /** Streams the multipart field `file` to the content store and records it. */
  async function receive(req: FastifyRequest, entryId: number, noteId: number | null): Promise<Attachment> {
    if (!req.isMultipart()) throw new ValidationError("body", "must be multipart/form-data with a field named file");
    const part = await req.file();
    if (!part) throw new ValidationError("file", "is required (multipart field named file)");
    let filename: string;
    try {
      if (part.fieldname !== "file") throw new ValidationError(part.fieldname, "unexpected field; send the upload as file");
      filename = checkFilename(part.filename);
    } catch (err) {
      part.file.resume();
      throw err;
    }
    const stored = await storeUpload(paths.uploadsDir, part.file, () => part.file.truncated);
    return repos.attachments.create({ entryId, noteId, ...stored, mime: normalizeMime(part.mimetype), filename });
  }

  app.get("/api/entries/:id/attachments", read, async (req) => ({
    items: repos.attachments.listFor(repos.entries.get(id(req)).id),
  }));
  app.post("/api/entries/:id/attachments", async (req, reply) => {
    const entry = repos.entries.get(id(req));
    return reply.code(201).send(await receive(req, entry.id, null));
  });
  app.post("/api/notes/:id/attachments", async (req, reply) => {
    const note = repos.notes.get(id(req));
    return reply.code(201).send(await receive(req, note.entryId, note.id));
  });
  app.get("/api/attachments/:id", read, async (req) => repos.attachments.get(id(req)));
  app.get("/api/attachments/:id/download", read, async (req, reply) => {
    const a = repos.attachments.get(id(req));
    return (
      reply
        // Normalized again on the way out: a row restored from an old backup may hold anything.
        .header("content-type", normalizeMime(a.mime))
        .header("content-length", a.size)
        // Always a download, never rendered inline: uploaded HTML or SVG cannot run in our origin.
        .header("content-disposition", contentDisposition(a.filename, { fallback: a.filename.replace(/[^\x20-\x7e]/g, "_") }))
        .header("x-content-type-options", "nosniff")
        .header("content-security-policy", "default-src 'none'; sandbox")
        .send(createReadStream(repos.attachments.fileOf(a)))
    );
  });
  app.delete("/api/attachments/:id", async (req, reply) => {
    repos.attachments.delete(id(req));
    return reply.code(204).send();
  });
}
