/**
 * The checks of `npm run doctor`, each a pure verdict over what was probed: ok or not, what was
 * seen, and the fix. The command gathers the probes (ops/commands/doctor.ts).
 */
import * as semver from "semver";
import { readConfig, readFleet } from "./config";
import { endpointFor, lines, type CommandResult, type DockerRunner } from "./docker";
import { listenersArgs, parseProxyPorts, parseStackContainers, stackContainersArgs } from "./docker-target";
import { CliError, type Output } from "./errors";
import { INSTALL_HINT } from "./pulumi-cli";

/** One check's verdict. */
export interface Check {
  readonly name: string;
  /** `ok`, `fail`, or `skip` (could not be checked from here; not counted as a failure). */
  readonly result: "ok" | "fail" | "skip";
  readonly detail: string;
  /** What to do, when it failed. */
  readonly fix?: string;
}

/** The Node the tools run on; @pulumi/pulumi >= 3.249 needs 22 (DESIGN.md). */
export const NODE_RANGE = ">=22";

export function nodeCheck(version: string): Check {
  return semver.satisfies(version, NODE_RANGE)
    ? { name: "node", result: "ok", detail: `Node ${version}` }
    : {
        name: "node",
        result: "fail",
        detail: `Node ${version}; the Pulumi SDK needs ${NODE_RANGE}`,
        fix: "run the commands through `npm run ...`: the bootstrap installs Node 24 from the npm package `node` (README, Quick start)",
      };
}

/** The Pulumi CLI, found as `npm run up` finds it (ops/core/pulumi-cli.ts). */
export function pulumiCheck(
  found: { version: string; path: string } | null,
  tried: string[],
  installHint: string,
): Check {
  if (!found) {
    return {
      name: "pulumi",
      result: "fail",
      detail: tried.length ? `no working Pulumi CLI (${tried.join("; ")})` : "no Pulumi CLI found",
      fix: installHint,
    };
  }
  const v = semver.coerce(found.version);
  return v && semver.gte(v, "3.0.0")
    ? { name: "pulumi", result: "ok", detail: `Pulumi ${found.version} (${found.path})` }
    : { name: "pulumi", result: "fail", detail: `Pulumi ${found.version} at ${found.path}`, fix: installHint };
}

/** `docker version` through the provider's endpoint. */
export function dockerCheck(host: string, r: { status: number | null; stdout: string; stderr: string }): Check {
  if (r.status === 0) return { name: "docker", result: "ok", detail: `engine ${r.stdout.trim()} at ${host}` };
  return {
    name: "docker",
    result: "fail",
    detail: `no engine answers at ${host}: ${r.stderr.trim().split("\n")[0] ?? ""}`,
    fix: host.startsWith("unix://")
      ? "start Docker (`sudo systemctl start docker`), or point fleet at another engine: `pulumi config set fleet:dockerHost <host>`"
      : `check that ${host} is reachable from here (ssh keys for ssh://, TLS for tcp://), or fix fleet:dockerHost`,
  };
}

/** The proxy container of the stack: absent before the first deploy, else it must run. */
export function proxyCheck(proxy: { name: string; state: string } | undefined): Check {
  if (!proxy) return { name: "proxy", result: "ok", detail: "not deployed yet; `npm run up` creates it" };
  return proxy.state === "running"
    ? { name: "proxy", result: "ok", detail: `${proxy.name} running` }
    : {
        name: "proxy",
        result: "fail",
        detail: `${proxy.name} is ${proxy.state}: no instance is reachable`,
        fix: `docker start ${proxy.name}, then \`docker logs ${proxy.name}\` if it stops again; \`npm run up\` re-creates it`,
      };
}

/** What a probe of a public port found. */
export type PortProbe = "free" | "fleet" | "other";

export function portCheck(port: number, what: string, probe: PortProbe): Check {
  const name = `port ${port}`;
  if (probe === "free") return { name, result: "ok", detail: `free (${what})` };
  if (probe === "fleet") return { name, result: "ok", detail: `served by fleet's proxy (${what})` };
  return {
    name,
    result: "fail",
    detail: `in use by something other than fleet's proxy (${what})`,
    fix: `find it with \`ss -ltnp 'sport = :${port}'\` and stop it, or give ${what} another port`,
  };
}

/** Free space where volumes or backups live; fails under `minBytes`. */
export function diskCheck(what: string, dir: string, freeBytes: number, minBytes: number): Check {
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  return freeBytes >= minBytes
    ? { name: `disk ${what}`, result: "ok", detail: `${gib(freeBytes)} free in ${dir}` }
    : {
        name: `disk ${what}`,
        result: "fail",
        detail: `${gib(freeBytes)} free in ${dir}, under ${gib(minBytes)}`,
        fix: `free space in ${dir} (\`docker system df\` shows what Docker holds), or lower backup.keep in the instance files`,
      };
}

/** Free space below which the disk checks fail. */
export const MIN_FREE_BYTES = 2 * 2 ** 30;

/** Effects of the doctor command. */
export interface DoctorDeps extends Output {
  readonly repoRoot: string;
  /** The environment the provider would run in (DOCKER_HOST, DOCKER_CONTEXT, DOCKER_CONFIG). */
  readonly env: NodeJS.ProcessEnv;
  readonly nodeVersion: string;
  readonly dockerFor: (host: string) => DockerRunner;
  readonly pulumi: () => { cli: { version: string; path: string } | null; tried: string[] };
  /** Whether a port can be bound on this host. */
  readonly portFree: (port: number) => Promise<boolean>;
  readonly freeBytes: (dir: string) => number | null;
}

/** Every check, in order; the config check first because the others need the config. */
export async function doctorChecks(stack: string, d: DoctorDeps): Promise<Check[]> {
  const out: Check[] = [nodeCheck(d.nodeVersion)];
  const p = d.pulumi();
  out.push(pulumiCheck(p.cli, p.tried, INSTALL_HINT));
  let config;
  let fleet;
  try {
    config = readConfig(d.repoRoot, stack);
    fleet = readFleet(d.repoRoot, stack, config);
    out.push({
      name: "config",
      result: "ok",
      detail: `Pulumi.${stack}.yaml and ${fleet.instances.length} instance files valid`,
    });
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    out.push({
      name: "config",
      result: "fail",
      detail: e.message,
      fix: "fix each line above, then `npm run validate`",
    });
    return out;
  }
  let host: string;
  try {
    host = endpointFor(config.dockerHost, d.env).host;
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    return [...out, { name: "docker", result: "fail", detail: "provider and CLI disagree", fix: e.message }];
  }
  const docker = d.dockerFor(host);
  const version: CommandResult = docker(["version", "--format", "{{.Server.Version}}"]);
  out.push(dockerCheck(host, version));
  if (version.status !== 0) return out;
  const proxyId = parseStackContainers(docker(stackContainersArgs(stack)).stdout).find((c) => c.role === "proxy")?.id;
  const proxy = proxyId
    ? lines(docker(["inspect", "--format", "{{.Name}}\t{{.State.Status}}", proxyId]).stdout)[0]
    : undefined;
  const [name = "", state = ""] = (proxy ?? "").replace(/^\//, "").split("\t");
  out.push(proxyCheck(proxy ? { name, state } : undefined));
  if (!host.startsWith("unix://")) {
    out.push({
      name: "ports, disk",
      result: "skip",
      detail: `the engine is remote (${host}); run doctor on that host to check them`,
    });
    return out;
  }
  const ports: [number, string][] = fleet.instances.map((i) => [i.port, `instance ${i.name}`]);
  if (fleet.instances.some((i) => i.domain !== undefined))
    ports.push([80, "HTTP for domains"], [443, "HTTPS for domains"]);
  const free = new Map<number, boolean>();
  for (const [port] of ports) free.set(port, await d.portFree(port));
  const busy = [...free.values()].includes(false);
  const fleetPorts = proxyId && busy ? parseProxyPorts(docker(listenersArgs(proxyId)).stdout) : new Set<number>();
  for (const [port, what] of ports) {
    out.push(portCheck(port, what, free.get(port) ? "free" : fleetPorts.has(port) ? "fleet" : "other"));
  }
  const root = docker(["info", "--format", "{{.DockerRootDir}}"]).stdout.trim();
  const dirs: [string, string][] = [["volumes", root]];
  if (config.backupDir !== "") dirs.push(["backups", config.backupDir]);
  for (const [what, dir] of dirs) {
    const free = d.freeBytes(dir);
    out.push(
      free === null
        ? { name: `disk ${what}`, result: "skip", detail: `${dir} is not readable from here (run as root to check it)` }
        : diskCheck(what, dir, free, MIN_FREE_BYTES),
    );
  }
  return out;
}
