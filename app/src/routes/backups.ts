import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { backupStatus, type CreatedBackup, listBackups, pruneBackups, readManifest, type VerifyResult } from "../backup";
import { parse } from "../http";
import { runBackupJob } from "../jobs";

const createBody = z.strictObject({
  reason: z.string().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
});
const pruneBody = z.strictObject({
  reason: z.string().optional(),
  keep: z
    .number({ error: "must be an integer of at least 1" })
    .int({ error: "must be an integer of at least 1" })
    .min(1, { error: "must be an integer of at least 1" }),
});
const backupParams = z.strictObject({ id: z.string() });
const restoreBody = z.strictObject({
  trust: z.boolean({ error: "must be true or false" }).optional(),
});

/**
 * The admin backup API: the same operations as `node dist/cli.js backup ...`. Create, verify and
 * restore run in a child process (jobs.ts), so the server keeps answering while they hash and copy.
 */
export async function backupRoutes(app: FastifyInstance): Promise<void> {
  const { ctx } = app;
  const { paths, config } = ctx;

  app.get("/api/backups", async () => ({ items: listBackups(paths.backupDir) }));
  app.get("/api/backups/last", async () => backupStatus(paths.backupDir));
  app.post("/api/backups", async (req, reply) => {
    const body = parse(createBody, req.body ?? {}, "body");
    const created = await runBackupJob<CreatedBackup>({
      op: "create",
      paths,
      instance: config.appName,
      appVersion: config.version,
      options: {
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
        ...(body.from !== undefined ? { from: body.from } : {}),
        ...(body.to !== undefined ? { to: body.to } : {}),
      },
    });
    return reply.code(201).send({ id: created.id, path: created.path, manifest: created.manifest });
  });
  app.post("/api/backups/prune", async (req) => {
    const body = parse(pruneBody, req.body, "body");
    return pruneBackups(paths.backupDir, body.keep, body.reason);
  });
  app.get("/api/backups/:id", async (req) => readManifest(paths.backupDir, parse(backupParams, req.params, "params").id));
  app.post("/api/backups/:id/verify", async (req, reply) => {
    const { id } = parse(backupParams, req.params, "params");
    const result = await runBackupJob<VerifyResult>({
      op: "verify",
      paths,
      instance: config.appName,
      appVersion: config.version,
      id,
      migrations: ctx.migrations,
    });
    return reply.code(result.ok ? 200 : 422).send(result);
  });
  app.post("/api/backups/:id/restore", async (req) => {
    const { id } = parse(backupParams, req.params, "params");
    const { trust } = parse(restoreBody, req.body ?? {}, "body");
    // This request itself is in flight; the restore waits only for the others.
    return ctx.restore(id, 1, (msg) => req.log.info(msg), { trust: trust === true });
  });
}
