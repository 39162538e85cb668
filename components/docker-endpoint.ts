/**
 * One Docker engine for the docker provider and for every `docker` CLI call (the command
 * resources, the operations commands): the endpoint is resolved once, here, and passed
 * explicitly, as the provider's `host` and as `DOCKER_HOST` in each command's environment.
 *
 * Why both need it: the provider reads `DOCKER_HOST`, else the default socket, and a
 * `DOCKER_CONTEXT` variable overrides both (terraform-provider-docker v4.5
 * `internal/provider/provider.go`: the `host` DefaultFunc, the `context` attribute's
 * EnvDefaultFunc("DOCKER_CONTEXT") and `configure`, which prefers the context). The `docker` CLI
 * also honours the current context of its config file (`docker context use`), which the provider
 * never reads; `DOCKER_HOST` overrides that context in the CLI. So an explicit `DOCKER_HOST`
 * makes the CLI agree with the provider, and the cases where they would silently differ are
 * refused with the fix. `resolveDockerEndpoint` is pure; `dockerEndpointFromEnvironment` reads
 * the environment and the CLI's config file.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The provider's and the CLI's default endpoint on Linux. */
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

/** What the endpoint is resolved from. */
export interface EndpointSources {
  /** `fleet:dockerHost`; "" or undefined when unset. */
  readonly configured?: string;
  /** The environment `pulumi` runs in, which the provider plugin and the commands inherit. */
  readonly env: { readonly DOCKER_HOST?: string; readonly DOCKER_CONTEXT?: string };
  /** The docker CLI's current context (`currentContext` in its config.json); undefined when unset. */
  readonly cliContext?: string;
}

/** The resolved endpoint and where it came from. */
export interface DockerEndpoint {
  /** `unix://...`, `tcp://...` or `ssh://...`. */
  readonly host: string;
  readonly source: "fleet:dockerHost" | "DOCKER_HOST" | "default";
}

/** Provider and CLI would target different engines; the message says how to make them agree. */
export class DockerEndpointError extends Error {}

const inspectHint = (context: string) =>
  `\`docker context inspect ${context} --format '{{.Endpoints.docker.Host}}'\` prints its endpoint`;

/** Resolves the one endpoint, or throws a DockerEndpointError naming the conflict and the fix. */
export function resolveDockerEndpoint(sources: EndpointSources): DockerEndpoint {
  const context = sources.env.DOCKER_CONTEXT;
  if (context && context !== "default") {
    throw new DockerEndpointError(
      `DOCKER_CONTEXT=${context} is set: the docker provider would use that context whatever host fleet passes it, ` +
        `while the commands use DOCKER_HOST. Unset DOCKER_CONTEXT and set the endpoint with ` +
        `\`pulumi config set fleet:dockerHost <host>\` (${inspectHint(context)}).`,
    );
  }
  if (sources.configured) return { host: sources.configured, source: "fleet:dockerHost" };
  if (sources.env.DOCKER_HOST) return { host: sources.env.DOCKER_HOST, source: "DOCKER_HOST" };
  if (sources.cliContext && sources.cliContext !== "default") {
    throw new DockerEndpointError(
      `the docker CLI's current context is "${sources.cliContext}", but the docker provider ignores CLI contexts ` +
        `and would deploy to ${DEFAULT_DOCKER_HOST}. Set \`pulumi config set fleet:dockerHost <host>\` ` +
        `(${inspectHint(sources.cliContext)}), or run \`docker context use default\`.`,
    );
  }
  return { host: DEFAULT_DOCKER_HOST, source: "default" };
}

/** The docker CLI's current context from its config file (`$DOCKER_CONFIG/config.json`, else ~/.docker). */
export function cliCurrentContext(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), ".docker"), "config.json");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return undefined; // no config file: the default context
  }
  try {
    const context = (JSON.parse(text) as { currentContext?: unknown }).currentContext;
    return typeof context === "string" && context !== "" ? context : undefined;
  } catch {
    throw new DockerEndpointError(`${file} is not valid JSON: fix or remove it (the docker CLI cannot read it either)`);
  }
}

/** {@link resolveDockerEndpoint} from `fleet:dockerHost`, this process's environment and the CLI's config. */
export function dockerEndpointFromEnvironment(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): DockerEndpoint {
  return resolveDockerEndpoint({
    configured,
    env: { DOCKER_HOST: env.DOCKER_HOST, DOCKER_CONTEXT: env.DOCKER_CONTEXT },
    cliContext: cliCurrentContext(env),
  });
}
