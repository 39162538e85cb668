import type { FastifyInstance, FastifyRequest } from "fastify";
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

/** Entry types, their states, and relationship definitions. */
export async function typeRoutes(app: FastifyInstance): Promise<void> {
  const { types, relationshipTypes } = app.ctx.repos;
  const id = (req: FastifyRequest) => parse(idParams, req.params, "params").id;
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
  app.delete("/api/types/:id", async (req, reply) => {
    types.delete(id(req));
    return reply.code(204).send();
  });
  app.post("/api/states/:id/move", async (req) => types.moveState(id(req), parse(stateMove, req.body, "body").direction));
  app.delete("/api/states/:id", async (req, reply) => {
    types.deleteState(id(req));
    return reply.code(204).send();
  });

  app.get("/api/relationship-types", { config: { access: "read" } }, async () => ({ items: relationshipTypes.list() }));
  app.get("/api/relationship-types/:id", { config: { access: "read" } }, async (req) => relationshipTypes.get(id(req)));
  app.post("/api/relationship-types", async (req, reply) =>
    reply.code(201).send(relationshipTypes.create(parse(relationshipTypeCreate, req.body, "body"))),
  );
  app.patch("/api/relationship-types/:id", async (req) =>
    relationshipTypes.update(id(req), parse(relationshipTypeUpdate, req.body, "body")),
  );
  app.delete("/api/relationship-types/:id", async (req, reply) => {
    relationshipTypes.delete(id(req));
    return reply.code(204).send();
  });
}
