/**
 * What the commands read of the project, once: the validated stack config (components/stack-config.ts,
 * the program's own reader, with Pulumi.yaml's defaults), the validated instance files
 * (components/fleet.ts, as the program loads them) and the Docker endpoint the provider uses.
 * Every problem becomes a CliError naming the file, the field and the fix.
 */
import * as path from "node:path";
import { FleetValidationError, loadFleet, type Fleet } from "../../components/fleet";
import { loadStackConfig, StackConfigError, type StackConfig } from "../../components/stack-config";
import { CliError } from "./errors";
import type { InstancePin } from "./history";

/** The repository root (this file is ops/core/config.ts). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/**
 * The validated stack config of `stack`.
 * @throws CliError with every problem
 */
export function readConfig(
  repoRoot: string,
  stack: string,
  overrides: Readonly<Record<string, string>> = {},
): StackConfig {
  try {
    return loadStackConfig(repoRoot, stack, overrides);
  } catch (e) {
    if (e instanceof StackConfigError) throw new CliError(`the stack config of ${stack} is invalid:\n${e.message}`);
    throw e;
  }
}

/**
 * The instance files, loaded as the program loads them (same reserved ports, same stack).
 * @throws CliError with every problem
 */
export function readFleet(repoRoot: string, stack: string, config: StackConfig): Fleet {
  return fleetOrCliError(() =>
    loadFleet(path.resolve(repoRoot, config.instancesDir), {
      reservedPorts: { [config.proxyAdminPort]: "the proxy's admin API (fleet:proxyAdminPort)" },
      stack,
      allowEmpty: config.allowEmptyFleet,
    }),
  );
}

/**
 * The name and pin of every instance in `dir`, through the program's own loader, so `rollback`
 * sees the instances as `pulumi up` will. Invalid files stop it with `npm run validate`'s messages,
 * because `pulumi up` would refuse them anyway.
 * @throws CliError with every problem
 */
export function loadInstancePins(dir: string): InstancePin[] {
  return fleetOrCliError(() => loadFleet(dir)).instances.map((i) =>
    i.version ? { name: i.name, version: i.version } : { name: i.name },
  );
}

function fleetOrCliError(load: () => Fleet): Fleet {
  try {
    return load();
  } catch (e) {
    if (e instanceof FleetValidationError) throw new CliError(e.message);
    throw e;
  }
}
