/**
 * Notifications (`fleet:notify`): one sender for every event of the fleet, used by `npm run up`
 * (rolls), the backup sidecar (scheduled backups) and the off-site copier.
 *
 * The target is one URL, a secret (an ntfy topic URL is a password: anyone who knows it can read
 * and post):
 * - `ntfy+https://host/topic` (or `ntfy+http://`), or any `https://ntfy.sh/<topic>`: ntfy's own
 *   form, a POST of the message as the body with `Title`, `Tags` and `Priority` headers
 *   (https://docs.ntfy.sh/publish/);
 * - any other `http(s)://` URL: a generic webhook, a POST of one JSON {@link NotificationPayload}.
 *
 * Delivery is best-effort: one attempt, a short timeout, and a failure is logged (without the URL)
 * and returned, never thrown, so a notification can never block or fail a roll or a backup.
 */

import { duration } from "./duration";

/** The events fleet notifies about. */
export type NotifyEventName = "roll.failed" | "roll.completed" | "backup.failed" | "backup.stale" | "offsite.failed";

/** How bad an event is. */
export type Severity = "info" | "warning" | "error";

/** The JSON body a generic webhook receives: the one payload shape of every event. */
export interface NotificationPayload {
  /** Always `"fleet"`. */
  readonly source: "fleet";
  readonly event: NotifyEventName;
  readonly severity: Severity;
  /** The Pulumi stack, when the sender knows it. */
  readonly stack: string | null;
  /** The instance, or null for an event of the whole fleet (a completed roll). */
  readonly instance: string | null;
  /** One line, ASCII. */
  readonly title: string;
  /** A few lines for a human. */
  readonly message: string;
  /** ISO 8601 time of the event. */
  readonly at: string;
  /** The event's facts, for machines (see the builders below). */
  readonly details: Readonly<Record<string, unknown>>;
}

/** Where notifications go, from the URL. */
export interface NotifyTarget {
  readonly kind: "ntfy" | "webhook";
  /** The URL to POST to (without the `ntfy+` prefix). */
  readonly url: string;
}

/** The default timeout of one delivery, in ms: short, because nothing waits for it. */
export const NOTIFY_TIMEOUT_MS = 5000;

/** What a valid notify URL looks like, for messages. */
export const NOTIFY_URL_RULE =
  "an http(s) URL: an ntfy topic (https://ntfy.sh/<topic> or ntfy+https://<host>/<topic>) or a webhook receiving JSON";

/** The target of a notify URL, or a reason it is not one (the URL itself is never part of the reason: it is a secret). */
export function notifyTarget(text: string): NotifyTarget | { problem: string } {
  const ntfy = text.startsWith("ntfy+");
  const raw = ntfy ? text.slice("ntfy+".length) : text;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: `not a URL; expected ${NOTIFY_URL_RULE}` };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    return { problem: `the scheme ${url.protocol} is not http(s); expected ${NOTIFY_URL_RULE}` };
  if (url.username !== "" || url.password !== "") {
    // fetch refuses credentials in a URL; ntfy takes an access token in the URL as ?auth=.
    return {
      problem:
        "a user or password in the URL is not supported; put an ntfy access token in ?auth=, or use a webhook URL with a token in its path",
    };
  }
  const kind = ntfy || url.hostname === "ntfy.sh" ? "ntfy" : "webhook";
  if (kind === "ntfy" && url.pathname.split("/").filter((s) => s !== "").length !== 1) {
    return { problem: "an ntfy URL names one topic: https://<host>/<topic>" };
  }
  return { kind, url: raw };
}

/** ntfy's priorities (https://docs.ntfy.sh/publish/#message-priority): 3 default, 4 high, 5 urgent. */
const NTFY_PRIORITY: Record<Severity, string> = { info: "3", warning: "4", error: "5" };
/** ntfy tags; the first known emoji name becomes the notification's icon. */
const NTFY_TAGS: Record<Severity, string> = { info: "white_check_mark", warning: "warning", error: "rotating_light" };

/** An HTTP request, as data (tests compare it). */
export interface NotifyRequest {
  readonly url: string;
  readonly method: "POST";
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Header values must be ISO-8859-1 for fetch; titles are built from ASCII names, this keeps them so. */
function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}

/** The request that delivers `payload` to `target`. Pure. */
export function notifyRequest(target: NotifyTarget, payload: NotificationPayload): NotifyRequest {
  if (target.kind === "webhook") {
    return { url: target.url, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload) };
  }
  return {
    url: target.url,
    method: "POST",
    headers: {
      "content-type": "text/plain; charset=utf-8",
      title: ascii(payload.title),
      tags: [NTFY_TAGS[payload.severity], "fleet", payload.event].join(","),
      priority: NTFY_PRIORITY[payload.severity],
    },
    body: payload.message,
  };
}

/** Outcome of one delivery. */
export type NotifyResult = { readonly sent: true; readonly status: number } | { readonly sent: false; readonly reason: string };

/** Options of {@link sendNotification}. */
export interface SendOptions {
  /** Default {@link NOTIFY_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Where a failed delivery is reported, one line (never the URL). Default stderr. */
  readonly log?: (line: string) => void;
}

/**
 * Delivers one notification: one attempt, at most `timeoutMs`. Never throws and never rejects.
 * An unset or empty URL sends nothing (`{ sent: false, reason: "not configured" }`, not logged).
 */
export async function sendNotification(
  url: string | undefined,
  payload: NotificationPayload,
  opts: SendOptions = {},
): Promise<NotifyResult> {
  if (url === undefined || url === "") return { sent: false, reason: "not configured" };
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const fail = (reason: string): NotifyResult => {
    log(JSON.stringify({ at: new Date().toISOString(), notify: payload.event, instance: payload.instance, error: reason }));
    return { sent: false, reason };
  };
  try {
    const target = notifyTarget(url);
    if ("problem" in target) return fail(`fleet:notify: ${target.problem}`);
    const req = notifyRequest(target, payload);
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? NOTIFY_TIMEOUT_MS),
      redirect: "error",
    });
    await res.body?.cancel();
    return res.ok ? { sent: true, status: res.status } : fail(`the notification target answered ${res.status}`);
  } catch (err) {
    // Never the message of a fetch error: it can quote the URL, which is a secret.
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === "TimeoutError" ? `no answer within ${opts.timeoutMs ?? NOTIFY_TIMEOUT_MS} ms` : (e.cause?.code ?? e.name);
    return fail(`the notification could not be delivered: ${why}`);
  }
}

/** The common fields of a payload. */
function payload(
  event: NotifyEventName,
  severity: Severity,
  where: { readonly stack: string | null; readonly instance: string | null },
  title: string,
  message: string,
  details: Record<string, unknown>,
  at: Date,
): NotificationPayload {
  return { source: "fleet", event, severity, stack: where.stack, instance: where.instance, title, message, at: at.toISOString(), details };
}

const prefix = (stack: string | null) => (stack ? `fleet ${stack}` : "fleet");

/** A roll that failed on an instance: its new container never became healthy. Sent by `npm run up`. */
export function rollFailed(
  a: { stack: string; instance: string; container: string; version: string; health: string; lastOutput: string },
  at = new Date(),
): NotificationPayload {
  return payload(
    "roll.failed",
    "error",
    a,
    `${prefix(a.stack)}: roll of ${a.instance} to ${a.version || "?"} failed`,
    `${a.instance}: container ${a.container} (version ${a.version || "?"}) is ${a.health}. ` +
      `Last healthcheck: ${a.lastOutput || "(no output)"}. The route still points at the previous container.`,
    { container: a.container, version: a.version, health: a.health, lastOutput: a.lastOutput },
    at,
  );
}

/** One instance's move in a roll. */
export interface RolledInstance {
  readonly name: string;
  /** The version before, or null for a new instance. */
  readonly from: string | null;
  readonly to: string;
}

/** A roll that completed: every instance that moved. Sent by `npm run up`. */
export function rollCompleted(a: { stack: string; instances: readonly RolledInstance[] }, at = new Date()): NotificationPayload {
  const moves = a.instances.map((i) => `${i.name} ${i.from ?? "(new)"} -> ${i.to}`);
  return payload(
    "roll.completed",
    "info",
    { stack: a.stack, instance: null },
    `${prefix(a.stack)}: roll completed (${a.instances.length} instance${a.instances.length === 1 ? "" : "s"})`,
    moves.join("\n"),
    { instances: a.instances },
    at,
  );
}

/** A scheduled backup that failed. Sent by the backup sidecar. */
export function backupFailed(
  a: { stack: string | null; instance: string; schedule: string; error: string },
  at = new Date(),
): NotificationPayload {
  return payload(
    "backup.failed",
    "error",
    a,
    `${prefix(a.stack)}: scheduled backup of ${a.instance} failed`,
    `${a.instance}: the scheduled backup (${a.schedule}) failed: ${a.error}`,
    { schedule: a.schedule, error: a.error },
    at,
  );
}

/** No scheduled backup for more than twice the schedule's interval. Sent by the backup sidecar. */
export function backupStale(
  a: {
    stack: string | null;
    instance: string;
    schedule: string;
    newest: { id: string; createdAt: string } | null;
    ageSeconds: number;
    limitSeconds: number;
  },
  at = new Date(),
): NotificationPayload {
  // In the schedule's own scale: a schedule of every few minutes is stale after minutes, not "0 h".
  const age = duration(a.ageSeconds);
  return payload(
    "backup.stale",
    "warning",
    a,
    `${prefix(a.stack)}: backups of ${a.instance} are stale`,
    a.newest
      ? `${a.instance}: the newest scheduled backup (${a.newest.id}) is ${age} old, more than twice its schedule (${a.schedule}).`
      : `${a.instance}: no scheduled backup for ${age}, more than twice its schedule (${a.schedule}).`,
    { schedule: a.schedule, newest: a.newest, ageSeconds: a.ageSeconds, limitSeconds: a.limitSeconds },
    at,
  );
}

/** An off-site copy that failed. Sent by the off-site copier. */
export function offsiteFailed(a: { stack: string | null; instance: string; error: string }, at = new Date()): NotificationPayload {
  return payload(
    "offsite.failed",
    "error",
    a,
    `${prefix(a.stack)}: off-site copy of ${a.instance} failed`,
    `${a.instance}: the off-site copy failed: ${a.error}`,
    { error: a.error },
    at,
  );
}
