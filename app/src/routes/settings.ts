import type { FastifyInstance } from "fastify";
import { settingsPatch } from "../domain/settings";
import { parse } from "../http";

/** GET /api/settings (read) and PATCH /api/settings (admin). */
export async function settingsRoutes(app: FastifyInstance): Promise<void> {
  const { repos } = app.ctx;
  app.get("/api/settings", { config: { access: "read" } }, async () => repos.settings.get());
  app.patch("/api/settings", async (req) => repos.settings.update(parse(settingsPatch, req.body, "body")));
}
