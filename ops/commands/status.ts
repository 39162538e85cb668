// `npm run status [-- NAME...] [--stack S] [--json]`: one row per instance, declared against
// running; exits 1 when anything is off (for cron or a monitor). See docs/operations.md.
import { parseCli } from "../core/args";
import { readConfig, readFleet, REPO_ROOT } from "../core/config";
import { endpointFor, realDocker } from "../core/docker";
import { observeDocker } from "../core/docker-target";
import { observeSwarm } from "../core/swarm-target";
import { CliError, EXIT, guard, runAsScript, stdio, type Output } from "../core/errors";
import { STATUS_HEAD, statusCells, statusRows, type Observation } from "../core/status-model";
import { renderTable } from "../core/tables";
import type { InstanceSpec } from "../../components/spec";

const USAGE = "usage: npm run status [-- NAME...] [--stack S] [--json]";

/** Effects of the status command. */
export interface StatusDeps extends Output {
  readonly declared: (stack: string) => { version: string; instances: readonly InstanceSpec[] };
  readonly observe: (stack: string) => Observation;
  readonly now: () => Date;
}

/** Runs `npm run status`; returns the exit code. */
export function runStatus(argv: string[], d: StatusDeps): Promise<number> {
  return guard("status", d, async () => {
    const args = parseCli(
      argv,
      {
        stack: { type: "string", default: "dev" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      USAGE,
    );
    if (args.values.help) {
      d.out(USAGE);
      return EXIT.ok;
    }
    const stack = String(args.values.stack);
    const { version, instances } = d.declared(stack);
    let rows = statusRows(instances, version, d.observe(stack), d.now());
    if (args.positionals.length > 0) {
      const unknown = args.positionals.filter((n) => !rows.some((r) => r.instance === n));
      if (unknown.length > 0) {
        throw new CliError(
          `no instance ${unknown.join(", ")} in stack ${stack}; instances: ${rows.map((r) => r.instance).join(", ")}`,
        );
      }
      rows = rows.filter((r) => args.positionals.includes(r.instance));
    }
    if (args.values.json)
      d.out(JSON.stringify({ stack, ok: rows.every((r) => r.problems.length === 0), rows }, null, 2));
    else {
      d.out(renderTable(STATUS_HEAD, rows.map(statusCells)));
      for (const r of rows) for (const p of r.problems) d.out(`${r.instance}: ${p}`);
    }
    return rows.every((r) => r.problems.length === 0) ? EXIT.ok : EXIT.problem;
  });
}

/** The real effects: the project's config and instance files, the provider's Docker endpoint. */
export function realStatusDeps(repoRoot: string): StatusDeps {
  return {
    ...stdio,
    declared: (stack) => {
      const config = readConfig(repoRoot, stack);
      return { version: config.version, instances: readFleet(repoRoot, stack, config).instances };
    },
    observe: (stack) => {
      const config = readConfig(repoRoot, stack);
      const docker = realDocker(endpointFor(config.dockerHost));
      return config.target === "swarm" ? observeSwarm(docker, stack) : observeDocker(docker, stack);
    },
    now: () => new Date(),
  };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  runAsScript("status", () => runStatus(argv, realStatusDeps(REPO_ROOT)));
}
