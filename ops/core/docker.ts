/**
 * The one Docker runner of the commands. It runs the `docker` CLI against the endpoint the
 * provider uses (components/docker-endpoint.ts: `fleet:dockerHost`, else DOCKER_HOST, else the
 * default socket, CLI contexts refused), passed as DOCKER_HOST so both always talk to the same
 * engine. Commands take a {@link DockerRunner} and tests pass a fake that answers argv arrays.
 */
import { spawnSync } from "node:child_process";
import {
  DockerEndpointError,
  dockerEndpointFromEnvironment,
  type DockerEndpoint,
} from "../../components/docker-endpoint";
import { CliError, firstLine } from "./errors";

/** What a finished command returned. */
export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `docker ...`; `stream` sends the output to the terminal instead of capturing it. */
export type DockerRunner = (args: string[], opts?: { stream?: boolean }) => CommandResult;

/**
 * The endpoint for the stack's `fleet:dockerHost` ("" when unset) and this process's environment.
 * @throws CliError when provider and CLI would talk to different engines
 */
export function endpointFor(dockerHost: string, env: NodeJS.ProcessEnv = process.env): DockerEndpoint {
  try {
    return dockerEndpointFromEnvironment(dockerHost || undefined, env);
  } catch (e) {
    if (e instanceof DockerEndpointError) throw new CliError(e.message);
    throw e;
  }
}

/** The real runner: `docker` with DOCKER_HOST set to the endpoint. */
export function realDocker(endpoint: DockerEndpoint): DockerRunner {
  const env = { ...process.env, DOCKER_HOST: endpoint.host };
  return (args, opts) => {
    const r = spawnSync("docker", args, {
      env,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      stdio: opts?.stream ? "inherit" : ["ignore", "pipe", "pipe"],
    });
    if (r.error) {
      const code = (r.error as NodeJS.ErrnoException).code;
      throw new CliError(
        code === "ENOENT"
          ? "the docker command was not found; install Docker and try again."
          : `could not run docker: ${r.error.message}`,
      );
    }
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
}

/**
 * Runs a docker command that must succeed and returns its stdout.
 * @throws CliError naming the command and docker's first line of stderr
 */
export function dockerOk(docker: DockerRunner, args: string[]): string {
  const r = docker(args);
  if (r.status !== 0) {
    throw new CliError(
      `docker ${args.slice(0, 2).join(" ")} failed (exit ${r.status}): ${firstLine(r.stderr) || firstLine(r.stdout) || "no output"}`,
    );
  }
  return r.stdout;
}

/** The non-blank lines of a command's output. */
export function lines(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l.trim() !== "");
}

/** The options `docker logs` and `docker service logs` share, as flags. */
export function logFlags(o: { follow: boolean; since?: string; tail?: string; json: boolean }): string[] {
  return [
    ...(o.follow ? ["--follow"] : []),
    ...(o.since ? ["--since", o.since] : []),
    ...(o.tail ? ["--tail", o.tail] : []),
    ...(o.json ? ["--timestamps"] : []),
  ];
}

/**
 * The output of a container's last healthcheck (`State.Health.Log` of `docker inspect`), trimmed,
 * its lines joined with " | " so it fits one row or one message.
 */
export function lastProbeOutput(log: readonly { readonly Output?: unknown }[] | undefined): string {
  return String(log?.at(-1)?.Output ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .join(" | ");
}
