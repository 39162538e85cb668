// `npm run logs -- NAME [--follow] [--since 10m] [--all] [--stack S] [--json]`: the serving app
// container's logs; with --all also its backup sidecar's (and any other app container of the
// instance, e.g. one that failed its health wait).
import { spawn } from "node:child_process";
import { parseCli, stackFromArgv } from "../core/args";
import { readConfig, REPO_ROOT } from "../core/config";
import { dockerOk, endpointFor, logFlags, realDocker, type DockerRunner } from "../core/docker";
import { parseInspect, parseStackContainers, stackContainersArgs } from "../core/docker-target";
import { logServices, serviceLogsArgs } from "../core/swarm-target";
import type { StackConfig } from "../../components/stack-config";
import { CliError, EXIT, guard, runAsScript, stdio, type Output } from "../core/errors";
import type { DockerEndpoint } from "../../components/docker-endpoint";

const USAGE = "usage: npm run logs -- NAME [--follow] [--since 10m] [--all] [--tail N] [--stack S] [--json]";

/** `docker logs` of one container. */
export function logsArgs(container: string, o: { follow: boolean; since?: string; tail?: string; json: boolean }) {
  return ["logs", ...logFlags(o), container];
}

/** Effects of the logs command. */
export interface LogsDeps extends Output {
  readonly docker: DockerRunner;
  /** `fleet:target`; default `docker`. On a swarm the logs are the services' (`docker service logs`). */
  readonly target?: StackConfig["target"];
  /** Streams several `docker` commands at once, each line prefixed; resolves to the worst exit code. */
  readonly stream: (commands: { prefix: string; args: string[] }[]) => Promise<number>;
}

/** The containers whose logs to show: the serving app container first, then (with --all) the rest. */
export function logContainers(d: Pick<LogsDeps, "docker">, stack: string, instance: string, all: boolean) {
  const mine = parseStackContainers(dockerOk(d.docker, stackContainersArgs(stack))).filter(
    (c) => c.instance === instance,
  );
  const apps = mine.filter((c) => c.role === "app");
  if (apps.length === 0) {
    throw new CliError(
      `instance ${instance} has no app container in stack ${stack}; \`npm run status\` lists what runs.`,
    );
  }
  const inspected = parseInspect(dockerOk(d.docker, ["inspect", ...apps.map((c) => c.id)])).sort((a, b) =>
    a.startedAt < b.startedAt ? 1 : -1,
  );
  const first = inspected.find((c) => c.state === "running" && c.health === "healthy") ?? inspected[0]!;
  if (!all) return [{ prefix: first.name, id: first.id }];
  const others = mine
    .filter((c) => c.id !== first.id)
    .map((c) => ({ prefix: `${c.role} ${c.id.slice(0, 12)}`, id: c.id }));
  return [{ prefix: first.name, id: first.id }, ...others];
}

/** Runs `npm run logs`; returns the exit code. */
export function runLogs(argv: string[], d: LogsDeps): Promise<number> {
  return guard("logs", d, async () => {
    const { values, positionals } = parseCli(
      argv,
      {
        follow: { type: "boolean", short: "f", default: false },
        since: { type: "string" },
        tail: { type: "string" },
        all: { type: "boolean", default: false },
        stack: { type: "string", default: "dev" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      USAGE,
    );
    if (values.help) {
      d.out(USAGE);
      return EXIT.ok;
    }
    const [instance, ...extra] = positionals;
    if (!instance || extra.length > 0) throw new CliError(`give exactly one instance name.\n${USAGE}`, EXIT.usage);
    if (values.json && values.follow) throw new CliError("--json prints a finished list; drop --follow.", EXIT.usage);
    const o = { follow: values.follow, since: values.since, tail: values.tail, json: values.json };
    const chosen =
      d.target === "swarm"
        ? logServices(d.docker, String(values.stack), instance, values.all).map((s) => ({
            prefix: s.prefix,
            args: serviceLogsArgs(s.service, o),
          }))
        : logContainers(d, String(values.stack), instance, values.all).map((c) => ({
            prefix: c.prefix,
            args: logsArgs(c.id, o),
          }));
    if (!values.json) return d.stream(chosen);
    const entries = chosen.flatMap((c) => {
      const r = d.docker(c.args);
      return `${r.stdout}${r.stderr}`
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => ({ container: c.prefix, time: l.slice(0, l.indexOf(" ")), line: l.slice(l.indexOf(" ") + 1) }));
    });
    d.out(JSON.stringify(entries.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))));
    return EXIT.ok;
  });
}

/** Streams docker commands in parallel, each output line prefixed with `[prefix] ` when there are several. */
export function realStream(endpoint: DockerEndpoint) {
  return (commands: { prefix: string; args: string[] }[]) =>
    Promise.all(
      commands.map(
        (c) =>
          new Promise<number>((resolve) => {
            const child = spawn("docker", c.args, { env: { ...process.env, DOCKER_HOST: endpoint.host } });
            const tag = commands.length > 1 ? `[${c.prefix}] ` : "";
            for (const [from, to] of [
              [child.stdout, process.stdout],
              [child.stderr, process.stderr],
            ] as const) {
              let rest = "";
              from.setEncoding("utf8").on("data", (s: string) => {
                const parts = (rest + s).split("\n");
                rest = parts.pop() ?? "";
                for (const p of parts) to.write(`${tag}${p}\n`);
              });
              from.on("end", () => rest && to.write(`${tag}${rest}\n`));
            }
            child.on("error", () => resolve(EXIT.problem));
            child.on("close", (code) => resolve(code ?? EXIT.problem));
          }),
      ),
    ).then((codes) => Math.max(0, ...codes));
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  runAsScript("logs", () =>
    guard("logs", stdio, () => {
      const config = readConfig(REPO_ROOT, stackFromArgv(argv));
      const endpoint = endpointFor(config.dockerHost);
      return runLogs(argv, {
        ...stdio,
        target: config.target,
        docker: realDocker(endpoint),
        stream: realStream(endpoint),
      });
    }),
  );
}
