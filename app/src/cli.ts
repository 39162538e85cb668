import Table from "cli-table3";
import { Cron } from "croner";
import { existsSync, mkdirSync } from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";
import { BackupError, createBackupRecorded, listBackups, pruneBackups, restoreBackup, verifyBackup } from "./backup";
import { BackupScheduler } from "./backup-schedule";
import { type Config, ConfigError, loadConfig } from "./config";
import { pathsFor, withFileLock } from "./db";
import { openAndMigrate, statusOf } from "./lifecycle";
import { loadMigrations, MigrationError } from "./migrations";
import { OffsiteError } from "./offsite";
import { runOffsiteCli } from "./offsite-cli";

const USAGE = `usage: node dist/cli.js <command>
  migrate status                      show applied and pending migrations
  migrate up                          apply pending migrations (backup first)
  backup create [--reason R] [--from V] [--to V] [--if-exists]
  backup list [--json]
  backup verify <id>
  backup restore <id> [--live] [--trust]   offline into DATA_DIR, or --live through the running server;
                                      --trust accepts a backup of another instance or host (its content is still checked)
  backup prune --keep N [--reason R]   keep the newest N (of reason R only)
  backup schedule --cron "<expr>" --keep N   run in the foreground (the backup sidecar)
  offsite run|sync|snapshots|fetch|check|prune|health   off-site copies with restic (the off-site container; see src/offsite-cli.ts)`;

/** A usage error: printed with the usage, exit 2. */
class UsageError extends Error {}

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function keepOf(v: string | undefined): number {
  if (v === undefined) throw new UsageError("--keep N is required");
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--keep ${JSON.stringify(v)}: must be an integer of at least 1`);
  return Number(v);
}

function postLocal(config: Config, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: config.port,
        path,
        method: "POST",
        headers: { authorization: `Bearer ${config.adminToken ?? ""}`, "content-type": "application/json" },
        timeout: 300_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("the server did not answer within 300 s")));
    req.on("error", (err) => reject(new Error(`cannot reach the server on 127.0.0.1:${config.port}: ${err.message}`)));
    req.end(payload);
  });
}

async function run(argv: string[]): Promise<number> {
  if (argv[0] === "offsite") return runOffsiteCli(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      reason: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      "if-exists": { type: "boolean" },
      json: { type: "boolean" },
      live: { type: "boolean" },
      trust: { type: "boolean" },
      keep: { type: "string" },
      cron: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [group, command, arg] = positionals;
  if (values.help || !group) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const live = group === "backup" && command === "restore" && values.live === true;
  const config = loadConfig(process.env, { requireAdminToken: live });
  const paths = pathsFor(config.dataDir, config.backupDir);
  const base = { paths, instance: config.appName, appVersion: config.version };

  if (group === "migrate" && command === "status") {
    const migrations = loadMigrations();
    const status = statusOf(paths, migrations);
    out({
      database: existsSync(paths.dbFile) ? paths.dbFile : null,
      schemaVersion: status?.current ?? 0,
      latest: migrations.length,
      applied: status?.applied.map((a) => ({ name: a.name, appliedAt: a.appliedAt })) ?? [],
      pending: (status?.pending ?? migrations).map((m) => m.name),
    });
    return 0;
  }
  if (group === "migrate" && command === "up") {
    const opened = openAndMigrate({ ...base, migrations: loadMigrations() });
    opened.db.close();
    out({ schemaVersion: opened.schemaVersion, applied: opened.applied, backup: opened.preMigrationBackup });
    return 0;
  }
  if (group !== "backup") throw new UsageError(`unknown command ${positionals.join(" ")}`);

  switch (command) {
    case "create": {
      if (!existsSync(paths.dbFile)) {
        if (values["if-exists"]) {
          out({ skipped: "no database" });
          return 0;
        }
        throw new BackupError(`no database at ${paths.dbFile} (use --if-exists to skip on a first deploy)`);
      }
      const created = createBackupRecorded({
        ...base,
        ...(values.reason !== undefined ? { reason: values.reason } : {}),
        ...(values.from !== undefined ? { from: values.from } : {}),
        ...(values.to !== undefined ? { to: values.to } : {}),
      });
      out({ id: created.id, path: created.path });
      return 0;
    }
    case "list": {
      const items = listBackups(paths.backupDir);
      if (values.json) {
        out(items);
        return 0;
      }
      const table = new Table({ head: ["id", "created", "reason", "app", "schema", "entries", "bytes"] });
      for (const b of items) {
        table.push([b.id, b.createdAt, b.reason, b.appVersion, b.schemaVersion, b.entries ?? "", b.bytes]);
      }
      process.stdout.write(`${table.toString()}\n`);
      return 0;
    }
    case "verify": {
      if (!arg) throw new UsageError("backup verify <id>: the id is missing (see backup list)");
      const result = verifyBackup(paths.backupDir, arg, loadMigrations());
      out(result);
      return result.ok ? 0 : 1;
    }
    case "restore": {
      if (!arg) throw new UsageError("backup restore <id>: the id is missing (see backup list)");
      if (live) {
        const res = await postLocal(config, `/api/backups/${encodeURIComponent(arg)}/restore`, values.trust ? { trust: true } : {});
        out(res.body);
        return res.status === 200 ? 0 : 1;
      }
      mkdirSync(paths.dataDir, { recursive: true });
      const result = withFileLock(paths.lockFile, () =>
        restoreBackup({
          ...base,
          id: arg,
          migrations: loadMigrations(),
          trust: values.trust === true,
          log: (msg) => process.stderr.write(`${msg}\n`),
        }),
      );
      out(result);
      return 0;
    }
    case "prune": {
      out(pruneBackups(paths.backupDir, keepOf(values.keep), values.reason));
      return 0;
    }
    case "schedule": {
      const keep = keepOf(values.keep);
      if (!values.cron) throw new UsageError('--cron "<expr>" is required, e.g. --cron "0 3 * * *"');
      const scheduler = new BackupScheduler({
        ...base,
        cron: values.cron,
        keep,
        reason: values.reason ?? "scheduled",
        notifyUrl: config.notifyUrl,
        stack: config.stack,
        out,
        err: (line) => process.stderr.write(`${line}\n`),
      });
      let job: Cron;
      try {
        job = new Cron(values.cron, { protect: true }, () => scheduler.run());
      } catch (err) {
        throw new UsageError(`--cron ${JSON.stringify(values.cron)}: ${(err as Error).message}`);
      }
      // A sidecar that was down (or whose runs kept failing) finds out at once, not at the next run.
      scheduler.checkStale();
      out({ scheduled: values.cron, keep, next: job.nextRun()?.toISOString() ?? null });
      await new Promise<void>((resolve) => {
        const stop = () => {
          job.stop();
          resolve();
        };
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      });
      return 0;
    }
    default:
      throw new UsageError(`unknown command backup ${command ?? ""}`.trim());
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`error: ${(err as Error).message}\n${USAGE}\n`);
      process.exit(2);
    }
    if (err instanceof BackupError || err instanceof MigrationError || err instanceof OffsiteError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
