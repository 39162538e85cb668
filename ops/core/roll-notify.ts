/**
 * The notifications `npm run up` sends (`fleet:notify`; the sender and the payloads are the app's,
 * app/src/notify.ts, so every event of the fleet has one shape): `roll.failed` for each app
 * container left unhealthy by a failed `pulumi up`, and `roll.completed` when instances moved to
 * another version. Pure builders here; up.ts wires them. Delivery never changes up's exit code.
 */
import { type NotificationPayload, rollCompleted, rollFailed, type RolledInstance } from "../../app/src/notify";
import type { AppContainerHealth } from "./failed-roll";
import type { Env, Run } from "./pulumi-cli";

/** `pulumi config get fleet:notify`: the decrypted URL, or null when it cannot be read. */
export function readNotifyUrl(run: Run, cli: string, stack: string, o: { env: Env; cwd: string }): string | null {
  const r = run(cli, ["config", "get", "fleet:notify", "--stack", stack], o);
  const url = r.stdout.trim();
  return r.status === 0 && url !== "" ? url : null;
}

/** The version of every instance from `pulumi stack output instances --json`; empty before the first deploy. */
export function readInstanceVersions(
  run: Run,
  cli: string,
  stack: string,
  o: { env: Env; cwd: string },
): Record<string, string> {
  const r = run(cli, ["stack", "output", "instances", "--json", "--stack", stack], o);
  if (r.status !== 0) return {};
  try {
    const parsed = JSON.parse(r.stdout) as Record<string, { version?: unknown }> | null;
    return Object.fromEntries(
      Object.entries(parsed ?? {}).flatMap(([name, v]) => (typeof v?.version === "string" ? [[name, v.version]] : [])),
    );
  } catch {
    return {};
  }
}

/** The instances whose version is new or changed between two readings, by name. */
export function movedInstances(before: Record<string, string>, after: Record<string, string>): RolledInstance[] {
  return Object.keys(after)
    .sort()
    .filter((name) => before[name] !== after[name])
    .map((name) => ({ name, from: before[name] ?? null, to: after[name]! }));
}

/**
 * What `npm run up` sends: after a failure, one `roll.failed` per app container that is not
 * healthy; after a success, one `roll.completed` when an instance moved (an `up` that changed no
 * version sends nothing).
 */
export function rollNotifications(
  stack: string,
  exitCode: number,
  a: { readonly containers: readonly AppContainerHealth[]; readonly moved: readonly RolledInstance[] },
  at = new Date(),
): NotificationPayload[] {
  if (exitCode !== 0) {
    return a.containers
      .filter((c) => c.status !== "healthy")
      .map((c) =>
        rollFailed(
          {
            stack,
            instance: c.instance,
            container: c.name,
            version: c.version,
            health: c.status,
            lastOutput: c.lastOutput,
          },
          at,
        ),
      );
  }
  return a.moved.length > 0 ? [rollCompleted({ stack, instances: a.moved }, at)] : [];
}
