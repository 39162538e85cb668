// `npm run doctor [--stack S] [--json]`: checks before a deploy; each failed check prints its fix.
// Exits 1 when a check failed.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import { parseCli } from "../core/args";
import { readConfig, readFleet, REPO_ROOT } from "../core/config";
import { endpointFor, lines, realDocker, type CommandResult, type DockerRunner } from "../core/docker";
import { listenersArgs, parseProxyPorts, parseStackContainers, stackContainersArgs } from "../core/docker-target";
import * as checks from "../core/doctor-checks";
import { CliError, EXIT, guard, runAsScript, stdio, type Output } from "../core/errors";
import { findPulumi, INSTALL_HINT } from "../core/pulumi-cli";
import { renderTable } from "../core/tables";

const USAGE = "usage: npm run doctor [--stack S] [--json]";
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
export async function doctorChecks(stack: string, d: DoctorDeps): Promise<checks.Check[]> {
  const out: checks.Check[] = [checks.nodeCheck(d.nodeVersion)];
  const p = d.pulumi();
  out.push(checks.pulumiCheck(p.cli, p.tried, INSTALL_HINT));
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
  out.push(checks.dockerCheck(host, version));
  if (version.status !== 0) return out;
  const proxyId = parseStackContainers(docker(stackContainersArgs(stack)).stdout).find((c) => c.role === "proxy")?.id;
  const proxy = proxyId
    ? lines(docker(["inspect", "--format", "{{.Name}}\t{{.State.Status}}", proxyId]).stdout)[0]
    : undefined;
  const [name = "", state = ""] = (proxy ?? "").replace(/^\//, "").split("\t");
  out.push(checks.proxyCheck(proxy ? { name, state } : undefined));
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
    out.push(checks.portCheck(port, what, free.get(port) ? "free" : fleetPorts.has(port) ? "fleet" : "other"));
  }
  const root = docker(["info", "--format", "{{.DockerRootDir}}"]).stdout.trim();
  const dirs: [string, string][] = [["volumes", root]];
  if (config.backupDir !== "") dirs.push(["backups", config.backupDir]);
  for (const [what, dir] of dirs) {
    const free = d.freeBytes(dir);
    out.push(
      free === null
        ? { name: `disk ${what}`, result: "skip", detail: `${dir} is not readable from here (run as root to check it)` }
        : checks.diskCheck(what, dir, free, MIN_FREE_BYTES),
    );
  }
  return out;
}

/** Runs `npm run doctor`; returns the exit code. */
export function runDoctor(argv: string[], d: DoctorDeps): Promise<number> {
  return guard("doctor", d, async () => {
    const { values } = parseCli(
      argv,
      { stack: { type: "string", default: "dev" }, json: { type: "boolean", default: false } },
      USAGE,
    );
    const result = await doctorChecks(String(values.stack), d);
    const failed = result.filter((c) => c.result === "fail");
    if (values.json) d.out(JSON.stringify({ ok: failed.length === 0, checks: result }, null, 2));
    else {
      d.out(
        renderTable(
          ["check", "", "detail"],
          result.map((c) => [c.name, c.result, c.detail]),
        ),
      );
      for (const c of failed) d.out(`fix ${c.name}: ${c.fix ?? ""}`);
    }
    return failed.length === 0 ? EXIT.ok : EXIT.problem;
  });
}

/** Whether a port can be bound on all interfaces of this host. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "0.0.0.0", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  runAsScript("doctor", () =>
    runDoctor(argv, {
      ...stdio,
      repoRoot: REPO_ROOT,
      env: process.env,
      nodeVersion: process.versions.node,
      dockerFor: (host) => realDocker({ host, source: "DOCKER_HOST" }),
      pulumi: () => {
        const r = findPulumi({
          env: process.env,
          home: os.homedir(),
          repoRoot: REPO_ROOT,
          isFile: (p) => fs.existsSync(p) && fs.statSync(p).isFile(),
          listDir: (p) => (fs.existsSync(p) ? fs.readdirSync(p) : []),
          run: (cmd, args, o) => {
            const s = spawnSync(cmd, args, { env: o.env, encoding: "utf8", timeout: 60_000 });
            return { status: s.status, stdout: s.stdout ?? "", stderr: s.stderr ?? "", error: s.error };
          },
        });
        return { cli: r.cli, tried: r.tried.map((t) => `${t.source}: ${t.reason}`) };
      },
      portFree,
      freeBytes: (dir) => {
        try {
          const s = fs.statfsSync(dir);
          return s.bavail * s.bsize;
        } catch {
          return null;
        }
      },
    }),
  );
}
