/** One Docker endpoint for the provider and the commands: the resolution and its refusals. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import {
  cliCurrentContext,
  DEFAULT_DOCKER_HOST,
  DockerEndpointError,
  dockerEndpointFromEnvironment,
  resolveDockerEndpoint,
  type EndpointSources,
} from "../components/docker-endpoint";

describe("resolveDockerEndpoint", () => {
  test.each<[string, EndpointSources, { host: string; source: string }]>([
    ["nothing set: the provider's default socket", { env: {} }, { host: DEFAULT_DOCKER_HOST, source: "default" }],
    [
      "DOCKER_HOST, as the provider reads it",
      { env: { DOCKER_HOST: "tcp://10.0.0.5:2376" } },
      { host: "tcp://10.0.0.5:2376", source: "DOCKER_HOST" },
    ],
    [
      "fleet:dockerHost wins over DOCKER_HOST (it is passed to both explicitly)",
      { configured: "ssh://deploy@box", env: { DOCKER_HOST: "tcp://10.0.0.5:2376" } },
      { host: "ssh://deploy@box", source: "fleet:dockerHost" },
    ],
    [
      "an empty fleet:dockerHost is unset",
      { configured: "", env: {}, cliContext: "default" },
      { host: DEFAULT_DOCKER_HOST, source: "default" },
    ],
    [
      "a CLI context does not matter once a host is explicit (DOCKER_HOST overrides it in the CLI)",
      { env: { DOCKER_HOST: "unix:///run/user/1000/docker.sock" }, cliContext: "remote" },
      { host: "unix:///run/user/1000/docker.sock", source: "DOCKER_HOST" },
    ],
    [
      "DOCKER_CONTEXT=default is no context",
      { env: { DOCKER_CONTEXT: "default" } },
      { host: DEFAULT_DOCKER_HOST, source: "default" },
    ],
  ])("%s", (_what, sources, expected) => {
    expect(resolveDockerEndpoint(sources)).toEqual(expected);
  });

  test.each<[string, EndpointSources, string]>([
    [
      "a CLI context the provider would ignore",
      { env: {}, cliContext: "remote" },
      "the docker CLI's current context is \"remote\", but the docker provider ignores CLI contexts and would deploy to unix:///var/run/docker.sock. Set `pulumi config set fleet:dockerHost <host>` (`docker context inspect remote --format '{{.Endpoints.docker.Host}}'` prints its endpoint), or run `docker context use default`.",
    ],
    [
      "DOCKER_CONTEXT, which overrides the provider's host",
      { configured: "ssh://deploy@box", env: { DOCKER_CONTEXT: "staging" } },
      "DOCKER_CONTEXT=staging is set: the docker provider would use that context whatever host fleet passes it, while the commands use DOCKER_HOST. Unset DOCKER_CONTEXT and set the endpoint with `pulumi config set fleet:dockerHost <host>` (`docker context inspect staging --format '{{.Endpoints.docker.Host}}'` prints its endpoint).",
    ],
  ])("refuses %s", (_what, sources, message) => {
    expect(() => resolveDockerEndpoint(sources)).toThrow(new DockerEndpointError(message));
  });
});

describe("the docker CLI's config file", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-docker-config-"));

  test.each([
    ['{"currentContext":"remote","auths":{}}', "remote"],
    ['{"auths":{}}', undefined],
    ['{"currentContext":""}', undefined],
  ])("%s -> %s", (text, context) => {
    fs.writeFileSync(path.join(dir, "config.json"), text);
    expect(cliCurrentContext({ DOCKER_CONFIG: dir })).toBe(context);
  });

  test("no config file is the default context", () => {
    expect(cliCurrentContext({ DOCKER_CONFIG: path.join(dir, "missing") })).toBeUndefined();
  });

  test("dockerEndpointFromEnvironment reads all three sources", () => {
    fs.writeFileSync(path.join(dir, "config.json"), '{"currentContext":"remote"}');
    expect(() => dockerEndpointFromEnvironment("", { DOCKER_CONFIG: dir })).toThrow(/current context is "remote"/);
    expect(dockerEndpointFromEnvironment("", { DOCKER_CONFIG: dir, DOCKER_HOST: "tcp://h:2375" })).toEqual({
      host: "tcp://h:2375",
      source: "DOCKER_HOST",
    });
  });
});
