/**
 * The fleet dashboard: a mode of the app image (`node dist/dashboard-server.js`), deployed by the
 * program behind the proxy on `fleet:dashboardPort`. One page with every instance: version
 * declared and running, health, uptime and restarts, route, last backup, data size; it refreshes
 * itself.
 *
 * How it reaches the instances: through their unix sockets in the stack's sockets volume
 * (`/sockets/<instance>/<container>.sock`), the same upstream the proxy uses. App containers
 * publish no port and share no network with each other; the sockets volume already exists for
 * the proxy, so the dashboard needs no new network, no change to any app container's network,
 * and never the Docker socket. What it should find (the declared versions, routes, backup
 * schedules) is passed in at deploy time; what runs is read from each instance: the public
 * `/api/health`, and `/api/status` with the instance's read-only status token.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readdirSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { z } from "zod";
import { staleLimitSeconds } from "./backup-stale";
import { duration } from "./duration";
import { html, type SafeHtml, trusted } from "./web/html";

/** An instance as the program declares it. */
export interface DeclaredInstance {
  readonly name: string;
  readonly title: string;
  /** The version it should run (its pin, else fleet:version). */
  readonly version: string;
  /** Its public address: `:5001`, or `:5001, brews.example.org`. */
  readonly route: string;
  /** Cron expression of its scheduled backups, or null when they are off. */
  readonly backupSchedule: string | null;
}

/** The dashboard's settings, from its environment. */
export interface DashboardConfig {
  readonly port: number;
  readonly host: string;
  /** Where its own socket goes (the proxy's upstream); undefined: TCP only. */
  readonly socketDir: string | undefined;
  /** The stack's sockets volume: `<dir>/<instance>/*.sock`. */
  readonly socketsDir: string;
  readonly adminToken: string;
  readonly stack: string;
  readonly instances: readonly DeclaredInstance[];
  /** Instance name -> its STATUS_TOKEN. */
  readonly statusTokens: Readonly<Record<string, string>>;
  readonly refreshSeconds: number;
}

const declaredSchema = z.array(
  z.strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/),
    title: z.string(),
    version: z.string(),
    route: z.string(),
    backupSchedule: z.string().nullable(),
  }),
);

/** The environment this mode reads (components/app-contract.ts names it for the program). */
export const envSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  HOST: z.string().default("0.0.0.0"),
  APP_SOCKET_DIR: z.string().optional(),
  DASHBOARD_SOCKETS_DIR: z.string().default("/sockets"),
  ADMIN_TOKEN: z.string({ error: "is required (at least 24 characters)" }).min(24, { error: "must be at least 24 characters" }),
  FLEET_STACK: z.string().default(""),
  DASHBOARD_INSTANCES: z.string({ error: "is required: a JSON list of the declared instances" }),
  DASHBOARD_STATUS_TOKENS: z.string().default("{}"),
  DASHBOARD_REFRESH_SECONDS: z.coerce.number().int().min(2).max(3600).default(10),
});

/** Reads and checks the dashboard's environment; the message names the variable (never a token's value). */
export function dashboardConfig(env: NodeJS.ProcessEnv): DashboardConfig {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) if (env[key] !== undefined && env[key] !== "") input[key] = env[key]!;
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(`invalid dashboard environment:\n${parsed.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`).join("\n")}`);
  }
  const e = parsed.data;
  const json = (name: string, text: string): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`invalid dashboard environment:\n  ${name}: not JSON`);
    }
  };
  const instances = declaredSchema.safeParse(json("DASHBOARD_INSTANCES", e.DASHBOARD_INSTANCES));
  if (!instances.success)
    throw new Error(`invalid dashboard environment:\n  DASHBOARD_INSTANCES: ${instances.error.issues[0]?.message ?? "invalid"}`);
  const tokens = z.record(z.string(), z.string()).safeParse(json("DASHBOARD_STATUS_TOKENS", e.DASHBOARD_STATUS_TOKENS));
  if (!tokens.success) throw new Error("invalid dashboard environment:\n  DASHBOARD_STATUS_TOKENS: expected {instance: token}");
  return {
    port: e.PORT,
    host: e.HOST,
    socketDir: e.APP_SOCKET_DIR,
    socketsDir: e.DASHBOARD_SOCKETS_DIR,
    adminToken: e.ADMIN_TOKEN,
    stack: e.FLEET_STACK,
    instances: instances.data,
    statusTokens: tokens.data,
    refreshSeconds: e.DASHBOARD_REFRESH_SECONDS,
  };
}

/** One answer of an instance over its socket. */
interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** How long one request to an instance may take. */
const PROBE_TIMEOUT_MS = 2000;

/** GET `route` over a unix socket; resolves with the status and JSON body, rejects on no answer. */
function getOverSocket(socketPath: string, route: string, token?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path: route, method: "GET", headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: PROBE_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          let body: unknown = null;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("timeout", () => req.destroy(Object.assign(new Error("no answer"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end();
  });
}

/** The health states of a row. */
export type Health = "ok" | "degraded" | "maintenance" | "fail" | "down";
/** The backup states of a row. */
export type BackupState = "ok" | "failed" | "stale" | "none" | "off" | "unknown";

/** One row of the dashboard: what was declared, what runs, and what is off. */
export interface StatusRow {
  readonly name: string;
  readonly title: string;
  readonly route: string;
  readonly declared: string;
  /** The running version, or null when no container answers. */
  readonly running: string | null;
  readonly health: Health;
  /** What the probe found, for a human: the health checks that failed, or why nothing answered. */
  readonly detail: string;
  /** The container serving (its short id), or null. */
  readonly container: string | null;
  readonly uptimeSeconds: number | null;
  readonly restarts: number | null;
  readonly backup: {
    readonly state: BackupState;
    readonly at: string | null;
    readonly ageSeconds: number | null;
    readonly error: string | null;
  };
  readonly dataBytes: number | null;
  /** Everything that is off, one short phrase each (`down`, `wrong version`, `backup stale`); empty when all is well. */
  readonly problems: readonly string[];
}

interface HealthBody {
  status?: string;
  version?: string;
  checks?: Record<string, string>;
}
interface StatusBody {
  version?: string;
  container?: string;
  uptimeSeconds?: number;
  restarts?: number | null;
  backup?: { lastRun: { at: string; ok: boolean; error: string | null } | null; newest: { createdAt: string; reason: string } | null };
  dataBytes?: number;
}

/** The sockets of an instance's containers (one, or two during a roll). */
function socketsOf(socketsDir: string, instance: string): string[] {
  try {
    return readdirSync(path.join(socketsDir, instance))
      .filter((f) => f.endsWith(".sock"))
      .sort()
      .map((f) => path.join(socketsDir, instance, f));
  } catch {
    return [];
  }
}

/** The backup state of an instance from its last run and newest scheduled backup. */
export function backupState(decl: DeclaredInstance, body: StatusBody["backup"] | undefined, now: Date): StatusRow["backup"] {
  if (decl.backupSchedule === null) return { state: "off", at: null, ageSeconds: null, error: null };
  if (body === undefined) return { state: "unknown", at: null, ageSeconds: null, error: null };
  const last = body.lastRun;
  const newestAt = body.newest?.createdAt ?? null;
  const ageSeconds = newestAt ? Math.max(0, Math.round((now.getTime() - Date.parse(newestAt)) / 1000)) : null;
  if (last && !last.ok) return { state: "failed", at: last.at, ageSeconds, error: last.error };
  if (newestAt === null) return { state: "none", at: null, ageSeconds: null, error: null };
  const limit = staleLimitSeconds(decl.backupSchedule, now);
  return { state: ageSeconds! > limit ? "stale" : "ok", at: newestAt, ageSeconds, error: null };
}

/** Reads one instance over its sockets and builds its row. Never throws. */
export async function readInstance(config: DashboardConfig, decl: DeclaredInstance, now = new Date()): Promise<StatusRow> {
  const sockets = socketsOf(config.socketsDir, decl.name);
  const answers: { health: Answer; status: Answer | null }[] = [];
  const errors: string[] = [];
  for (const socket of sockets) {
    try {
      const health = await getOverSocket(socket, "/api/health");
      let status: Answer | null = null;
      try {
        status = await getOverSocket(socket, "/api/status", config.statusTokens[decl.name]);
      } catch {
        status = null;
      }
      answers.push({ health, status });
    } catch (err) {
      errors.push((err as NodeJS.ErrnoException).code ?? "error");
    }
  }
  // During a roll two containers answer; the one on the declared version is the one that counts.
  const pick = answers.find((a) => (a.health.body as HealthBody | null)?.version === decl.version) ?? answers[0];
  const base = { name: decl.name, title: decl.title, route: decl.route, declared: decl.version };
  if (!pick) {
    const detail =
      sockets.length === 0
        ? "no container is listening (no socket)"
        : `no answer on ${sockets.length} socket${sockets.length === 1 ? "" : "s"} (${[...new Set(errors)].join(", ")})`;
    return {
      ...base,
      running: null,
      health: "down",
      detail,
      container: null,
      uptimeSeconds: null,
      restarts: null,
      backup: { state: decl.backupSchedule === null ? "off" : "unknown", at: null, ageSeconds: null, error: null },
      dataBytes: null,
      problems: ["down"],
    };
  }
  const h = (pick.health.body ?? {}) as HealthBody;
  const s = pick.status?.status === 200 ? (pick.status.body as StatusBody) : undefined;
  const health: Health = (["ok", "degraded", "maintenance"] as const).find((x) => x === h.status) ?? "fail";
  const failed = Object.entries(h.checks ?? {})
    .filter(([k, v]) => v === "fail" || (k === "maintenance" && v === "on"))
    .map(([k]) => k);
  const running = h.version ?? s?.version ?? null;
  const backup = backupState(decl, s?.backup, now);
  const problems = [
    ...(health === "ok" ? [] : [health === "fail" ? "unhealthy" : health]),
    ...(running !== decl.version ? ["wrong version"] : []),
    ...(backup.state === "failed" || backup.state === "stale" ? [`backup ${backup.state}`] : []),
    ...(pick.status !== null && pick.status.status !== 200 ? ["status refused"] : []),
  ];
  return {
    ...base,
    running,
    health,
    detail: `GET /api/health: ${pick.health.status}${failed.length ? `; failing: ${failed.join(", ")}` : ""}`,
    container: s?.container ?? null,
    uptimeSeconds: s?.uptimeSeconds ?? null,
    restarts: s?.restarts ?? null,
    backup,
    dataBytes: s?.dataBytes ?? null,
    problems,
  };
}

/** Every row, in the declared order. */
export function readFleet(config: DashboardConfig, now = new Date()): Promise<StatusRow[]> {
  return Promise.all(config.instances.map((d) => readInstance(config, d, now)));
}

/** `12.3 MB`. */
export function bytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

const badge = (text: string, kind: "bad" | "warn" | "good") => html`<strong class="badge ${kind}">${text}</strong>`;

function healthCell(r: StatusRow): SafeHtml {
  const kind = r.health === "ok" ? "good" : r.health === "degraded" || r.health === "maintenance" ? "warn" : "bad";
  return html`${badge(r.health === "fail" ? "UNHEALTHY" : r.health.toUpperCase(), kind)}<br /><small>${r.detail}</small>`;
}

function versionCell(r: StatusRow): SafeHtml {
  if (r.running === null) return html`declared ${r.declared}<br /><small>running: unknown</small>`;
  if (r.running === r.declared) return html`${r.running}`;
  return html`${badge("WRONG VERSION", "bad")}<br />running ${r.running}, declared ${r.declared}`;
}

function backupCell(r: StatusRow): SafeHtml {
  const b = r.backup;
  const age = b.ageSeconds === null ? "" : `${duration(b.ageSeconds)} ago`;
  switch (b.state) {
    case "ok":
      return html`ok, ${age}`;
    case "failed":
      return html`${badge("FAILED", "bad")}<br /><small>${b.error ?? ""}</small>${age ? html`<br /><small>newest ${age}</small>` : ""}`;
    case "stale":
      return html`${badge("STALE", "warn")}<br />newest ${age}`;
    case "none":
      return html`none yet`;
    case "off":
      return html`off`;
    default:
      return html`unknown`;
  }
}

/** The summary and the table: the part of the page that refreshes. */
export function fleetFragment(rows: readonly StatusRow[], stack: string, now: Date): SafeHtml {
  const bad = rows.filter((r) => r.problems.length > 0);
  const summary =
    bad.length === 0
      ? html`<p class="summary good">All ${rows.length} instances are healthy, on their declared versions, with recent backups.</p>`
      : html`<p class="summary bad">${bad.length} of ${rows.length} instance${rows.length === 1 ? "" : "s"} ${bad.length === 1 ? "needs" : "need"} attention:
          ${bad.map((r, i) => html`${i > 0 ? "; " : ""}<strong>${r.name}</strong> (${r.problems.join(", ")})`)}</p>`;
  const body = rows.map(
    (r) => html`<tr class="${r.problems.length > 0 ? "off" : ""}">
      <th scope="row">${r.name}<br /><small>${r.title}</small></th>
      <td>${r.route}</td>
      <td>${versionCell(r)}</td>
      <td>${healthCell(r)}</td>
      <td>${r.uptimeSeconds === null ? "unknown" : duration(r.uptimeSeconds)}<br /><small>${r.restarts === null ? "restarts unknown" : `${r.restarts} restart${r.restarts === 1 ? "" : "s"}`}</small>${r.container ? html`<br /><small>container ${r.container}</small>` : ""}</td>
      <td>${backupCell(r)}</td>
      <td>${r.dataBytes === null ? "unknown" : bytes(r.dataBytes)}</td>
    </tr>`,
  );
  return html`${summary}
    <table>
      <caption>Instances of stack ${stack || "(unnamed)"}, read ${now.toISOString().replace("T", " ").slice(0, 19)} UTC</caption>
      <thead><tr><th scope="col">Instance</th><th scope="col">Route</th><th scope="col">Version</th><th scope="col">Health</th><th scope="col">Uptime</th><th scope="col">Last backup</th><th scope="col">Data</th></tr></thead>
      <tbody>${body}</tbody>
    </table>`;
}

const CSS = `
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1a1a1a;background:#fff}
h1{font-size:1.4rem;margin:0 0 .5rem}
table{border-collapse:collapse;width:100%}
caption{text-align:left;padding:.4rem 0;color:#444}
th,td{border:1px solid #bbb;padding:.45rem .6rem;text-align:left;vertical-align:top}
thead th{background:#eee}
tr.off{background:#fff4f4}
small{color:#444}
.summary{padding:.6rem .8rem;border-left:.4rem solid}
.summary.good{border-color:#1b5e20;background:#edf7ed}
.summary.bad{border-color:#b71c1c;background:#fdecea}
.badge{display:inline-block;padding:.05rem .4rem;border-radius:.2rem;color:#fff}
.badge.bad{background:#b71c1c}.badge.warn{background:#8a4b00}.badge.good{background:#1b5e20}
`;

/** The whole page; `fragment` is {@link fleetFragment}. Its script reloads the fragment every `refreshSeconds`. */
export function dashboardPage(fragment: SafeHtml, a: { stack: string; refreshSeconds: number; nonce: string }): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>fleet ${a.stack} dashboard</title>
<style nonce="${a.nonce}">${trusted(CSS)}</style>
</head>
<body>
<main>
<h1>fleet ${a.stack}: instances</h1>
<p>Refreshes every ${a.refreshSeconds} s. <span id="refreshed" role="status" aria-live="polite"></span></p>
<div id="fleet">${fragment}</div>
</main>
<script nonce="${a.nonce}">
(function () {
  var every = ${a.refreshSeconds} * 1000;
  function refresh() {
    fetch("fragment", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (t) { document.getElementById("fleet").innerHTML = t; document.getElementById("refreshed").textContent = ""; })
      .catch(function (e) { document.getElementById("refreshed").textContent = "Could not refresh: " + e.message; })
      .finally(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
</script>
</body>
</html>
`.value;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Whether the request carries the dashboard's token: `Authorization: Bearer <token>`, or Basic with the token as password (a browser's login prompt). */
export function dashboardAuthorized(token: string, req: Pick<FastifyRequest, "headers">): boolean {
  const h = req.headers.authorization ?? "";
  let presented: string | undefined;
  if (h.startsWith("Bearer ")) presented = h.slice(7).trim();
  else if (h.startsWith("Basic ")) {
    const decoded = Buffer.from(h.slice(6).trim(), "base64").toString("utf8");
    presented = decoded.slice(decoded.indexOf(":") + 1);
  }
  return presented !== undefined && timingSafeEqual(digest(presented), digest(token));
}

/** The dashboard's HTTP app; never listens (dashboard-server.ts does). */
export async function buildDashboard(config: DashboardConfig, opts: { logger?: boolean; now?: () => Date } = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? { level: "warn" } });
  const now = opts.now ?? (() => new Date());
  app.addHook("onRequest", async (req, reply) => {
    reply.header("x-content-type-options", "nosniff");
    if (req.url === "/api/health") return;
    if (!dashboardAuthorized(config.adminToken, req)) {
      return reply
        .code(401)
        .header("www-authenticate", 'Basic realm="fleet dashboard", charset="UTF-8"')
        .send({ error: "the dashboard token is required (pulumi stack output dashboardToken --show-secrets)" });
    }
  });
  // The container's healthcheck (the app image's probe): the dashboard answers.
  app.get("/api/health", async () => ({ status: "ok" }));
  app.get("/api/fleet", async (_req, reply) => {
    const at = now();
    const rows = await readFleet(config, at);
    return reply.header("cache-control", "no-store").send({ stack: config.stack, at: at.toISOString(), rows });
  });
  app.get("/fragment", async (_req, reply) => {
    const at = now();
    return reply
      .header("cache-control", "no-store")
      .type("text/html; charset=utf-8")
      .send(fleetFragment(await readFleet(config, at), config.stack, at).value);
  });
  app.get("/", async (_req, reply) => {
    const at = now();
    const nonce = randomBytes(16).toString("base64");
    return reply
      .header("cache-control", "no-store")
      .header(
        "content-security-policy",
        `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'`,
      )
      .type("text/html; charset=utf-8")
      .send(
        dashboardPage(fleetFragment(await readFleet(config, at), config.stack, at), {
          stack: config.stack,
          refreshSeconds: config.refreshSeconds,
          nonce,
        }),
      );
  });
  return app;
}
