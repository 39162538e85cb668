import { statSync } from "node:fs";
import client from "prom-client";
import { listBackups, readLastRun } from "./backup";
import type { AppContext } from "./context";
import { readOffsiteStatus } from "./offsite";

/** Prometheus metrics of one app; a registry per app so tests can build several. */
export interface Metrics {
  readonly registry: client.Registry;
  readonly requestDuration: client.Histogram<"method" | "route" | "status_code">;
}

function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

/**
 * How often prom-client's event-loop delay monitor (`perf_hooks.monitorEventLoopDelay`) samples, in
 * ms. Its default, 10 ms, is a timer that wakes an idle process 100 times a second: 0.7% of a core
 * per idle instance on this project's machine, against 0.0% at 1000 ms (README, "Idle CPU"). The
 * lag gauges then report the lateness of one timer a second, enough to see a blocked loop.
 */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/** Creates the registry: request durations, entries, database size, last backup age and outcome, schema version. */
export function createMetrics(ctx: AppContext): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: "fleet_", eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const requestDuration = new client.Histogram({
    name: "fleet_http_request_duration_seconds",
    help: "HTTP request duration by route",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new client.Gauge({
    name: "fleet_entries",
    help: "Number of entries",
    registers: [registry],
    collect() {
      if (!ctx.maintenance) this.set(ctx.repos.entries.count());
    },
  });
  new client.Gauge({
    name: "fleet_db_size_bytes",
    help: "Size of the database file plus its WAL",
    registers: [registry],
    collect() {
      this.set(fileSize(ctx.paths.dbFile) + fileSize(`${ctx.paths.dbFile}-wal`));
    },
  });
  new client.Gauge({
    name: "fleet_schema_version",
    help: "Schema version of the live database",
    registers: [registry],
    collect() {
      this.set(ctx.schemaVersion);
    },
  });
  new client.Gauge({
    name: "fleet_maintenance",
    help: "1 while a restore runs",
    registers: [registry],
    collect() {
      this.set(ctx.maintenance ? 1 : 0);
    },
  });
  new client.Gauge({
    name: "fleet_backup_last_age_seconds",
    help: "Age of the newest backup in BACKUP_DIR (-1 when there is none)",
    registers: [registry],
    collect() {
      const newest = listBackups(ctx.paths.backupDir)[0];
      this.set(newest ? (Date.now() - Date.parse(newest.createdAt)) / 1000 : -1);
    },
  });
  new client.Gauge({
    name: "fleet_backup_last_success",
    help: "Outcome of the last backup attempt: 1 success, 0 failure, -1 none recorded",
    registers: [registry],
    collect() {
      const last = readLastRun(ctx.paths.backupDir);
      this.set(last === null ? -1 : last.ok ? 1 : 0);
    },
  });
  new client.Gauge({
    name: "fleet_offsite_last_success",
    help: "Outcome of the last off-site copy round of this instance: 1 success, 0 failure, -1 none recorded",
    registers: [registry],
    collect() {
      const last = readOffsiteStatus(ctx.paths.backupDir);
      this.set(last === null ? -1 : last.ok ? 1 : 0);
    },
  });
  new client.Gauge({
    name: "fleet_offsite_last_round_age_seconds",
    help: "Age of the last off-site copy round of this instance (-1 when there is none)",
    registers: [registry],
    collect() {
      const last = readOffsiteStatus(ctx.paths.backupDir);
      this.set(last === null ? -1 : (Date.now() - Date.parse(last.at)) / 1000);
    },
  });
  return { registry, requestDuration };
}
