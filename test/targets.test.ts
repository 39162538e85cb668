/**
 * One set of instance files (the examples in instances/), two targets: the program (index.ts, loaded like Pulumi loads it)
 * rendered with `fleet:target docker` and `swarm` gives every instance the same app: environment,
 * healthcheck, limits, image, version and backup schedule.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { render, RenderError, type RenderedResource, type RenderResult } from "../ops/commands/render";
import { durationNanos, parseCpus } from "../components/provider-forms";

const REGISTRY = "127.0.0.1:5000/fleet-app";

let docker: RenderResult;
let swarm: RenderResult;

beforeAll(async () => {
  // Sequential: one SDK and one mock monitor per process.
  docker = await render({ config: { image: REGISTRY } });
  swarm = await render({
    config: { image: REGISTRY, target: "swarm", placement: JSON.stringify({ "*": "node-1" }) },
  });
});

const named = (r: RenderResult, name: string): RenderedResource => {
  const found = r.resources.find((res) => res.name === name && res.custom);
  if (!found) throw new Error(`no resource ${name}`);
  return found;
};

interface ContainerInputs {
  envs: string[];
  image: string;
  healthcheck: Record<string, unknown>;
  memory: number;
  cpus: string;
  labels: { label: string; value: string }[];
  command?: string[];
}
interface ServiceInputs {
  labels: { label: string; value: string }[];
  taskSpec: {
    containerSpec: {
      env: Record<string, string>;
      image: string;
      healthcheck: Record<string, unknown>;
      labels: { label: string; value: string }[];
      args?: string[];
    };
    resources: { limits: { memoryBytes: number; nanoCpus: number } };
  };
}

const instances = () => (docker.outputs["instances"] ? Object.keys(docker.outputs["instances"] as object) : []);
const durations = (hc: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(hc).map(([k, v]) => [k, typeof v === "string" ? String(durationNanos(v)) : JSON.stringify(v)]),
  );

describe("the same instance files on both targets", () => {
  test("the fixture fleet has instances to compare", () => {
    expect(instances()).toEqual(["homebrews", "projects"]);
  });

  test("swarm: no proxy, one service and one backup service per instance", () => {
    expect(swarm.resources.filter((r) => r.type.startsWith("docker:index/container")).map((r) => r.name)).toEqual([]);
    expect(swarm.resources.filter((r) => r.type === "docker:index/service:Service").map((r) => r.name)).toEqual(
      instances().flatMap((n) => [`${n}-service`, `${n}-backup-service`]),
    );
  });

  test.each(["homebrews", "projects"])("%s: same environment, image, healthcheck, limits and labels", (name) => {
    const c = named(docker, `${name}-app`).inputs as unknown as ContainerInputs;
    const s = named(swarm, `${name}-service`).inputs as unknown as ServiceInputs;
    const spec = s.taskSpec.containerSpec;
    // The docker target adds its proxy socket and passes secrets in the environment; the swarm one as files.
    const dockerEnv = c.envs.filter((e) => !e.startsWith("APP_SOCKET_DIR=") && e !== "[secret]");
    const swarmEnv = Object.entries(spec.env)
      .filter(([k]) => !k.endsWith("_FILE"))
      .map(([k, v]) => `${k}=${v}`);
    // Both are sets to the provider (container envs, service env map): compared sorted.
    expect(swarmEnv.sort()).toEqual(dockerEnv.sort());
    expect(dockerEnv.slice(0, 2)).toEqual([`APP_NAME=${name}`, `APP_TITLE=${name[0]!.toUpperCase()}${name.slice(1)}`]);
    expect(Object.keys(spec.env).filter((k) => k.endsWith("_FILE"))).toEqual(["ADMIN_TOKEN_FILE"]);
    expect(spec.image).toBe(c.image);
    expect(durations(spec.healthcheck)).toEqual(durations(c.healthcheck));
    expect(s.taskSpec.resources.limits.memoryBytes).toBe(c.memory * 1024 * 1024);
    expect(BigInt(s.taskSpec.resources.limits.nanoCpus)).toBe(parseCpus(c.cpus));
    expect(spec.labels).toEqual(c.labels);
  });

  test.each(["homebrews", "projects"])("%s: the same backup schedule", (name) => {
    const c = named(docker, `${name}-backup`).inputs as unknown as ContainerInputs;
    const s = named(swarm, `${name}-backup-service`).inputs as unknown as ServiceInputs;
    expect(s.taskSpec.containerSpec.args).toEqual(c.command);
  });

  test("the stack outputs have the same shape", () => {
    const shape = (r: RenderResult) =>
      Object.fromEntries(
        Object.entries(r.outputs["instances"] as Record<string, object>).map(([k, v]) => [k, Object.keys(v)]),
      );
    expect(shape(swarm)).toEqual(shape(docker));
  });

  test("swarm without a node for every instance: nothing is registered, the fix is named", async () => {
    const error = await render({
      config: { image: REGISTRY, target: "swarm", placement: JSON.stringify({ homebrews: "node-1" }) },
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).message).toContain(
      "fleet:placement.projects: required with fleet:target swarm (the data volume lives on one node): " +
        "pulumi config set --path 'fleet:placement.projects' <node hostname>",
    );
    expect((error as RenderError).resources).toEqual([]);
  });
});
