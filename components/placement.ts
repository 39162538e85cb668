/**
 * The rules of `fleet:target swarm`: which node each instance runs on, and what the swarm target
 * needs from the stack config and the instance files. Pure, no Pulumi.
 *
 * An instance's data volume is a local volume on one node, so the instance is pinned to that node
 * (`node.hostname==<node>`). The node comes from the stack config, never from a guess: the instance
 * files stay the same for both targets, and the stack file records where each instance's data lives.
 * Changing an instance's node is refused here unless the move is explicit (docs/swarm.md).
 */
import { closest } from "fastest-levenshtein";
import type { Fleet } from "./fleet";
import { ANY_INSTANCE, type StackConfig } from "./spec";

/** The node an instance runs on: its own entry in `fleet:placement`, else the `*` entry, else none. */
export function placementNode(placement: Readonly<Record<string, string>>, instance: string): string | undefined {
  return placement[instance] ?? placement[ANY_INSTANCE];
}

/** The Swarm placement constraint of an instance on `node`. */
export function nodeConstraint(node: string): string {
  return `node.hostname==${node}`;
}

/** The fix for an instance without a node. */
function placeCommand(instance: string): string {
  return `pulumi config set --path 'fleet:placement.${instance}' <node hostname>`;
}

/**
 * Every problem between the target keys of the stack config and the fleet, one line each:
 * with `swarm`, a registry image, a node for every instance, no `domain` (no proxy serves it) and
 * no `fleet:offsite` (not wired for nodes yet), no `fleet:dashboardPort` (it reads the proxy's sockets volume);
 * with `docker`, no placement. Entries that name no instance are refused on both targets.
 */
export function targetProblems(
  config: Pick<StackConfig, "target" | "image" | "placement" | "offsite"> & Partial<Pick<StackConfig, "dashboardPort">>,
  fleet: Fleet,
): string[] {
  const problems: string[] = [];
  const names = fleet.instances.map((i) => i.name);
  for (const key of Object.keys(config.placement)) {
    if (key !== ANY_INSTANCE && !names.includes(key)) {
      const hint = names.length > 0 ? `; did you mean "${closest(key, names)}"?` : "";
      problems.push(`fleet:placement.${key}: no instance file defines "${key}"${hint}`);
    }
  }
  if (config.target === "docker") {
    if (Object.keys(config.placement).length > 0) {
      problems.push("fleet:placement: only read with fleet:target swarm; remove it, or set fleet:target swarm");
    }
    return problems;
  }
  if (config.offsite !== undefined) {
    problems.push(
      "fleet:offsite: not wired for fleet:target swarm yet (each node holds its instances' backups); remove it, " +
        "or use fleet:target docker",
    );
  }
  if (config.dashboardPort !== undefined && config.dashboardPort !== 0) {
    problems.push(
      `fleet:dashboardPort: ${config.dashboardPort} cannot be served with fleet:target swarm (the dashboard reads each ` +
        "instance's unix socket in the proxy's sockets volume, and a swarm runs no proxy); remove it " +
        "(pulumi config rm fleet:dashboardPort), or use fleet:target docker",
    );
  }
  if (config.image === "build") {
    problems.push(
      'fleet:image: "build" cannot run on a swarm (every node pulls the image); push the image and set ' +
        "fleet:image to its registry repository, e.g. ghcr.io/owner/fleet-app",
    );
  }
  for (const spec of fleet.instances) {
    const file = fleet.files[spec.name] ?? spec.name;
    if (placementNode(config.placement, spec.name) === undefined) {
      problems.push(
        `fleet:placement.${spec.name}: required with fleet:target swarm (the data volume lives on one node): ` +
          placeCommand(spec.name),
      );
    }
    if (spec.domain !== undefined) {
      problems.push(
        `${file}: domain: not served with fleet:target swarm (no proxy runs in front of the services); ` +
          "remove it and point the domain at a node, or use fleet:target docker",
      );
    }
  }
  return problems;
}
