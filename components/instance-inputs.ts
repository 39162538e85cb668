/**
 * What an instance file means for the app's process, whatever runs it: its environment, its
 * healthcheck timings, the backup sidecar's command. The docker target (app-instance.ts) and the
 * swarm target (swarm-instance.ts) build their resources from these, so one instance file renders
 * the same app on both. Pure, no Pulumi.
 */
import { BACKUP_DIR, backupScheduleArgs, DATA_DIR, ENV } from "./app-contract";
import type { InstanceSpec } from "./spec";

/** Port the app listens on inside its container (app image contract). */
export const APP_PORT = 8080;
/** uid:gid of the app image's `app` user. */
export const APP_USER = "10001:10001";

/**
 * The app container's healthcheck: `GET /api/health` must answer 200, through bash's `/dev/tcp`.
 * It proves the app answers HTTP without booting a language runtime in the container's CPU quota
 * (a Node probe cost about 100 ms of CPU each time), and bash is in every Debian-based image,
 * older app versions included, so a roll back passes its probe too. A failure prints the status
 * (Docker keeps it as the probe's output, which `npm run up` shows for an unhealthy container).
 */
export const HEALTH_PROBE = [
  "CMD",
  "bash",
  "-c",
  `exec 3<>/dev/tcp/127.0.0.1/${APP_PORT} && printf 'GET /api/health HTTP/1.0\\r\\n\\r\\n' >&3 && read -r _ code _ <&3 && [ "$code" = 200 ] || { echo "GET /api/health: \${code:-no answer}"; exit 1; }`,
];

/**
 * Seconds Docker waits after SIGTERM before it kills an app container: when its route retires it
 * on the docker target (`docker stop -t`, proxy-config.ts `retire`), on every other stop, and in a
 * Swarm's stop grace period. Longer than the app's own 10 s drain bound (app/src/server.ts), so the
 * app always exits by itself.
 */
export const STOP_GRACE_SECONDS = 15;

/**
 * The app's environment from the instance file, without secrets, in a stable order: what fleet
 * sets (with the target's own `extra`), then the file's `env`.
 */
export function appEnvironment(
  name: string,
  spec: InstanceSpec,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    [ENV.appName]: name,
    [ENV.appTitle]: spec.title,
    [ENV.port]: String(APP_PORT),
    [ENV.dataDir]: DATA_DIR,
    [ENV.backupDir]: BACKUP_DIR,
    ...extra,
    ...spec.env,
  };
}

/** The environment of the backup sidecar (the target adds the notifier's, instance-component.ts `notifySettings`). */
export function backupEnvironment(name: string): Record<string, string> {
  return { [ENV.appName]: name, [ENV.dataDir]: DATA_DIR, [ENV.backupDir]: BACKUP_DIR };
}

/** `NAME=value` lines of an environment map, in its order. */
export function envLines(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/** The backup sidecar's command: the app's own scheduler with the file's schedule and retention. */
export function backupScheduleCommand(spec: InstanceSpec): string[] {
  return backupScheduleArgs(spec.backup.schedule, spec.backup.keep);
}

/** The healthcheck of the app, its durations written by `form` (each provider reads them back in its own form). */
export function appHealthcheck(spec: InstanceSpec, form: (duration: string) => string) {
  return {
    tests: HEALTH_PROBE,
    interval: form(spec.healthcheck.interval),
    timeout: form(spec.healthcheck.timeout),
    startPeriod: form(spec.healthcheck.startPeriod),
    retries: spec.healthcheck.retries,
  };
}
