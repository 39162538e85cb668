/**
 * `npm run validate [-- DIR] [--stack S] [--version X] [--allow-empty]`: checks every instance file in DIR (default: the stack's
 * `fleet:instancesDir`, else `instances/`) and the rules across files, without Pulumi.
 * Exit 0 with one summary line per instance; exit 1 with every problem, one per line.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { FleetValidationError, loadFleet, type Fleet } from "../../components/fleet";
import { planRollout } from "../../components/plan";
import { secretEnvProblems } from "../../components/fleet";
import { loadStackConfig, StackConfigError, type StackConfig } from "../../components/stack-config";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");
const USAGE = "usage: npm run validate [-- DIR] [--stack S] [--version X] [--allow-empty]";

/** The stack config from Pulumi.yaml and Pulumi.<stack>.yaml, through the one reader. */
export function readStackConfig(
  stack: string,
  projectDir = PROJECT_DIR,
  overrides: Readonly<Record<string, string>> = {},
): StackConfig {
  return loadStackConfig(projectDir, stack, overrides);
}

/** One line per instance: file, name, port, version, wave, backups. */
export function summarize(fleet: Fleet, stackVersion: string): string[] {
  const plan = planRollout(fleet.instances);
  const waveOf = new Map(plan.waves.flatMap((w) => w.instances.map((name) => [name, w.label])));
  return fleet.instances.map((spec) => {
    const version = spec.version !== undefined ? `${spec.version} (pinned)` : `${stackVersion} (fleet:version)`;
    const backups = spec.backup.enabled ? `backups "${spec.backup.schedule}" keep ${spec.backup.keep}` : "backups off";
    const where = spec.domain !== undefined ? `port ${spec.port} + https://${spec.domain}` : `port ${spec.port}`;
    return `${fleet.files[spec.name]}: ${spec.name} on ${where}, version ${version}, ${waveOf.get(spec.name)}, ${backups}`;
  });
}

/** Runs the command; returns the exit code and the lines for stdout and stderr. */
export function validateCommand(argv: readonly string[]): { code: number; stdout: string[]; stderr: string[] } {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        stack: { type: "string", default: "dev" },
        version: { type: "string" },
        "allow-empty": { type: "boolean", default: false },
      },
      allowPositionals: true,
    });
  } catch (err) {
    return { code: 2, stdout: [], stderr: [`validate: ${(err as Error).message}`, USAGE] };
  }
  const { values, positionals } = args;
  if (positionals.length > 1) {
    return { code: 2, stdout: [], stderr: [`validate: one directory at most, got ${positionals.length}`, USAGE] };
  }
  try {
    const config = readStackConfig(
      values.stack,
      PROJECT_DIR,
      values.version !== undefined ? { version: values.version } : {},
    );
    const dir = positionals[0] ?? path.resolve(PROJECT_DIR, config.instancesDir);
    const fleet = loadFleet(dir, {
      reservedPorts: { [config.proxyAdminPort]: "the proxy's admin API (fleet:proxyAdminPort)" },
      stack: values.stack,
      allowEmpty: values["allow-empty"] || config.allowEmptyFleet,
    });
    // As the program does: secretEnv names existing instances and no reserved variable.
    const problems = secretEnvProblems(config.secretEnv, fleet);
    if (problems.length > 0) throw new StackConfigError(problems);
    return { code: 0, stdout: summarize(fleet, config.version), stderr: [] };
  } catch (err) {
    if (err instanceof FleetValidationError || err instanceof StackConfigError) {
      return { code: 1, stdout: [], stderr: [...err.problems] };
    }
    throw err;
  }
}

if (typeof module !== "undefined" && require.main === module) {
  const { code, stdout, stderr } = validateCommand(process.argv.slice(2));
  for (const line of stdout) process.stdout.write(`${line}\n`);
  for (const line of stderr) process.stderr.write(`${line}\n`);
  process.exitCode = code;
}
