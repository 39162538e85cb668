// `npm run doctor [--stack S] [--json]`: checks before a deploy; each failed check prints its fix.
// Exits 1 when a check failed.
import * as fs from "node:fs";
import * as net from "node:net";
import { parseCli } from "../core/args";
import { REPO_ROOT } from "../core/config";
import { realDocker } from "../core/docker";
import { doctorChecks, type DoctorDeps } from "../core/doctor-checks";
import { realCliSearch } from "../core/effects";
import { EXIT, guard, runAsScript, stdio } from "../core/errors";
import { findPulumi } from "../core/pulumi-cli";
import { renderTable } from "../core/tables";

const USAGE = "usage: npm run doctor [--stack S] [--json]";
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
        const r = findPulumi(realCliSearch(REPO_ROOT, 60_000));
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
