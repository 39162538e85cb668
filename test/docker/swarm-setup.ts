/**
 * The swarm of the swarm-tier files: a single-node swarm made for the run when the engine is not
 * in one (`docker swarm init` on the loopback) and left again at the end; an engine already in a
 * swarm is used as it is. Swarm mode changes nothing for the engine's other containers.
 */
import { docker } from "./replay";

/** The swarm a file runs on. */
export interface TierSwarm {
  /** Hostname of the node the services are placed on (`fleet:placement`). */
  readonly node: string;
  /** Whether this run made the swarm (and leaves it at the end). */
  readonly joined: boolean;
}

/** Joins (or makes) the swarm and names its node. */
export async function tierSwarm(): Promise<TierSwarm> {
  const state = await docker(["info", "--format", "{{.Swarm.LocalNodeState}}"]);
  let joined = false;
  if (state === "inactive") {
    await docker(["swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377"]);
    joined = true;
  }
  const node = await docker(["node", "inspect", "self", "--format", "{{.Description.Hostname}}"]);
  return { node, joined };
}

/**
 * Removes a stack's services, then its secrets, and leaves the swarm when this run made it.
 * Task containers go away with their services; it waits for them before the volumes are removed.
 * Another file's swarm run may still be going: the swarm is left only when no fleet service remains.
 */
export async function leaveTierSwarm(stack: string, swarm: TierSwarm): Promise<void> {
  const services = await docker(["service", "ls", "-q", "--filter", `label=fleet.stack=${stack}`]).catch(() => "");
  if (services) await docker(["service", "rm", ...services.split("\n")]);
  for (let i = 0; i < 60; i++) {
    if ((await docker(["ps", "-aq", "--filter", `label=fleet.stack=${stack}`])) === "") break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const secrets = await docker(["secret", "ls", "-q", "--filter", `label=fleet.stack=${stack}`]).catch(() => "");
  if (secrets) await docker(["secret", "rm", ...secrets.split("\n")]);
  const others = await docker(["service", "ls", "-q", "--filter", "label=fleet.managed=true"]).catch(() => "");
  if (swarm.joined && others === "") await docker(["swarm", "leave", "--force"]);
}
