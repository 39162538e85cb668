/**
 * The checks of `npm run doctor`, each a pure verdict over what was probed: ok or not, what was
 * seen, and the fix. The command gathers the probes (ops/commands/doctor.ts).
 */
import * as semver from "semver";

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
