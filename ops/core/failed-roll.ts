/**
 * What `npm run up` says after a failed `pulumi up`: which app containers of the stack are not
 * healthy, their last healthcheck, and where each instance's route still points. Argv builders and
 * parsers are pure (tested as data); {@link reportFailedRoll} runs them through an injected runner.
 */
import { LABEL, labelFilter } from "../../components/app-contract";
import { lastProbeOutput } from "./docker";
import { lastLine, type Env, type Run } from "./pulumi-cli";

/**
 * `docker ps` arguments that list every app container of a stack, running or not, one
 * tab-separated line each: id, name, instance, version.
 */
export function appContainersArgs(stack: string): string[] {
  return [
    "ps",
    "-a",
    ...labelFilter("stack", stack),
    ...labelFilter("role", "app"),
    "--format",
    `{{.ID}}\t{{.Names}}\t{{.Label "${LABEL.instance}"}}\t{{.Label "${LABEL.version}"}}`,
  ];
}

/** `docker inspect` arguments that print a container's `State.Health` as JSON. */
export const healthArgs = (container: string): string[] => ["inspect", "--format", "{{json .State.Health}}", container];

/** An app container of the stack, as {@link appContainersArgs} lists it. */
export interface ListedAppContainer {
  id: string;
  name: string;
  instance: string;
  version: string;
}

/** Parses the output of {@link appContainersArgs}. */
export function parseAppContainers(stdout: string): ListedAppContainer[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const [id = "", name = "", instance = "", version = ""] = l.split("\t");
      return { id, name, instance, version };
    });
}

/**
 * The health of a container from {@link healthArgs}: its status and the trimmed output of the last
 * healthcheck (several lines joined with " | "). A container without a healthcheck prints `null`;
 * its status is then "none".
 */
export function parseHealth(stdout: string): { status: string; lastOutput: string } {
  let h: unknown;
  try {
    h = JSON.parse(stdout.trim() || "null");
  } catch {
    return { status: "unknown", lastOutput: "" };
  }
  if (!h || typeof h !== "object") return { status: "none", lastOutput: "" };
  const health = h as { Status?: unknown; Log?: unknown };
  const log = Array.isArray(health.Log) ? (health.Log as { Output?: unknown }[]) : [];
  return { status: String(health.Status || "unknown"), lastOutput: lastProbeOutput(log) };
}

/** An app container of the stack with its health, as `npm run up` reports it after a failed roll. */
export interface AppContainerHealth {
  readonly name: string;
  readonly instance: string;
  readonly version: string;
  readonly status: string;
  readonly lastOutput: string;
}

/**
 * What `npm run up` prints after a failed `pulumi up`: one line per app container that is not
 * healthy, and what happens to its instance. Returns null when every app container is healthy
 * (the failure lies elsewhere and pulumi's own output says where).
 */
export function failedRollReport(stack: string, exitCode: number, containers: AppContainerHealth[]): string | null {
  const bad = containers.filter((c) => c.status !== "healthy");
  if (bad.length === 0) return null;
  const lines = [
    `fleet up: pulumi up failed (exit ${exitCode}); app containers of stack ${stack} that are not healthy:`,
  ];
  for (const c of bad) {
    lines.push(
      `  ${c.instance}: container ${c.name}, version ${c.version || "?"}, health ${c.status}, ` +
        `last healthcheck: ${c.lastOutput || "(no output)"}`,
    );
  }
  for (const instance of [...new Set(bad.map((c) => c.instance))]) {
    const good = containers.find((c) => c.instance === instance && c.status === "healthy");
    lines.push(
      good
        ? `  ${instance}: the route still points to the previous container ${good.name} (version ${good.version || "?"}), which keeps serving.`
        : `  ${instance}: no healthy container; its route has nothing healthy to point to (a first deploy, or the old container is gone).`,
    );
  }
  lines.push(
    "Fix the cause (the last healthcheck above, `docker logs <container>`), then run `npm run up` again:",
    "the next `pulumi up` replaces each failed container (replaceOnChanges), and the route moves once it is healthy.",
  );
  return lines.join("\n");
}

/**
 * After a failed `pulumi up`: asks Docker (at `env`'s DOCKER_HOST) which app containers of the
 * stack are not healthy and prints {@link failedRollReport}. Returns every app container with its
 * health; a Docker error is reported and gives none.
 */
export function reportFailedRoll(
  d: { readonly run: Run; readonly err: (line: string) => void },
  stack: string,
  exitCode: number,
  env: Env,
): AppContainerHealth[] {
  const ps = d.run("docker", appContainersArgs(stack), { env });
  if (ps.status !== 0) {
    d.err(
      `fleet up: could not list the app containers of stack ${stack}: ${lastLine(ps.stderr) || `exit ${ps.status}`}`,
    );
    return [];
  }
  const containers = parseAppContainers(ps.stdout).map((c) => {
    const r = d.run("docker", healthArgs(c.id), { env });
    return { ...c, ...(r.status === 0 ? parseHealth(r.stdout) : { status: "gone", lastOutput: "" }) };
  });
  const report = failedRollReport(stack, exitCode, containers);
  if (report) d.err(report);
  return containers;
}
