import type { FastifyInstance } from "fastify";
import { entryTypeCreate, entryTypeUpdate, idParams, stateInput, stateUpdate } from "../domain/schemas";
import { parse } from "../http";

/** Entry types and their states. */
export async function typeRoutes(app: FastifyInstance): Promise<void> {
  const { types } = app.ctx.repos;
  app.get("/api/types", { config: { access: "read" } }, async () => ({ items: types.list() }));
  app.get("/api/types/:id", { config: { access: "read" } }, async (req) => types.get(parse(idParams, req.params, "params").id));
  app.post("/api/types", async (req, reply) => reply.code(201).send(types.create(parse(entryTypeCreate, req.body, "body"))));
  app.patch("/api/types/:id", async (req) =>
    types.update(parse(idParams, req.params, "params").id, parse(entryTypeUpdate, req.body, "body")),
  );
  app.post("/api/types/:id/states", async (req, reply) =>
    reply.code(201).send(types.addState(parse(idParams, req.params, "params").id, parse(stateInput, req.body, "body"))),
  );
  app.patch("/api/states/:id", async (req) =>
    types.updateState(parse(idParams, req.params, "params").id, parse(stateUpdate, req.body, "body")),
  );
}
