/**
 * The drift check and the replayer's failure semantics on the real engine, with small
 * hand-written renders on the base image (no app build): a deliberately non-canonical input is
 * caught after the apply, the program's canonical forms read back unchanged, the `["NONE"]`
 * healthcheck is filled from the image, a container that fails its health wait stays with its
 * error and is replaced next time, and a pushed image's repoDigest has the registry form.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LABEL, labelFilter } from "../../components/app-contract";
import { SIDECAR_HEALTHCHECK } from "../../components/app-instance";
import { cpusString, goDuration, memoryInputs } from "../../components/provider-forms";
import { BASE_IMAGE, cleanUp, engineAvailable, PROXY_IMAGE, pushForDigest, render, ROOT, TIER_LABEL } from "./engine";
import { docker, DriftError, Replayer, type Render, type RenderedResource } from "./replay";

const run = promisify(execFile);
const RUN_ID = randomBytes(3).toString("hex");
const STACK = `drift${RUN_ID}`;
const HC_IMAGE = `fleet-drift-${RUN_ID}/hc:1`;
const TINY_IMAGE = `fleet-drift-${RUN_ID}/tiny:1`;
const engine = engineAvailable();
if (!engine && process.env.CI)
  throw new Error("docker tier: no Docker engine answers, and CI requires this tier to run");

const LABELS = [
  { label: LABEL.managed, value: "true" },
  { label: LABEL.stack, value: STACK },
];

function resource(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  options: Partial<RenderedResource["options"]> = {},
): RenderedResource {
  return {
    type,
    name,
    parent: null,
    custom: true,
    inputs,
    dependencies: [],
    options: {
      dependsOn: [],
      protect: false,
      retainOnDelete: false,
      deleteBeforeReplace: null,
      replaceOnChanges: [],
      ignoreChanges: [],
      ...options,
    },
  };
}

const renderOf = (resources: RenderedResource[]): Render => ({
  project: "fleet",
  stack: STACK,
  config: {},
  resources,
  outputs: {},
});

/** A long-running container on the base image, with the given extra inputs. */
const sleeper = (name: string, extra: Record<string, unknown>) =>
  resource(
    "docker:index/container:Container",
    name,
    { image: BASE_IMAGE, command: ["sleep", "infinity"], labels: LABELS, restart: "unless-stopped", ...extra },
    { deleteBeforeReplace: false, replaceOnChanges: ["*"] },
  );

describe.runIf(engine)("drift check and failure semantics on the real engine", () => {
  beforeAll(async () => {
    // An image with a HEALTHCHECK, as the app image has, to show what ["NONE"] reads back as.
    const dir = await mkdtemp(join(tmpdir(), "fleet-drift-"));
    await writeFile(
      join(dir, "Dockerfile"),
      `FROM ${BASE_IMAGE}\nHEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["true"]\n`,
    );
    await run("docker", ["build", "--quiet", "--label", TIER_LABEL, "--tag", HC_IMAGE, dir]);
    // An image of one empty layer, quick to push to the local registry.
    await run("sh", [
      "-c",
      `tar -cf - --files-from /dev/null | docker import --change 'LABEL ${TIER_LABEL}' - ${TINY_IMAGE}`,
    ]);
  });

  afterAll(async () => {
    await cleanUp(STACK, [`fleet-drift-${RUN_ID}/hc`, `fleet-drift-${RUN_ID}/tiny`, `fleet-drift-${RUN_ID}/app`]);
  });

  test("a deliberately non-canonical input is caught after the apply, naming each input", async () => {
    const replayer = new Replayer();
    const failure = await replayer
      .apply(
        renderOf([
          sleeper("friendly", {
            healthcheck: { tests: ["CMD", "true"], interval: "60s", timeout: "1500ms", startPeriod: "5s", retries: 3 },
            cpus: "1",
            memory: 64,
          }),
        ]),
      )
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DriftError);
    expect((failure as DriftError).lines).toEqual([
      "friendly.memorySwap: the program sends undefined, Read stores 128",
      'friendly.cpus: the program sends "1", Read stores "1.0"',
      'friendly.healthcheck: the program sends {"interval":"60s","retries":3,"startPeriod":"5s","tests":["CMD","true"],"timeout":"1500ms"}, ' +
        'Read stores {"interval":"1m0s","retries":3,"startInterval":"0s","startPeriod":"5s","tests":["CMD","true"],"timeout":"1.5s"}',
    ]);
  });

  test("the program's canonical forms read back unchanged, and a second apply changes nothing", async () => {
    const replayer = new Replayer();
    const render = renderOf([
      resource("docker:index/volume:Volume", "data", { name: `fleet-${STACK}-data`, labels: LABELS }),
      {
        ...sleeper("canonical", {
          healthcheck: {
            tests: ["CMD", "true"],
            interval: goDuration("60s"),
            timeout: goDuration("1500ms"),
            startPeriod: goDuration("5s"),
            retries: 3,
          },
          cpus: cpusString(1),
          ...memoryInputs(64),
          volumes: [{ volumeName: `fleet-${STACK}-data`, containerPath: "/data" }],
          logDriver: "json-file",
          logOpts: { "max-size": "10m", "max-file": "3" },
          readOnly: true,
          user: "10001:10001",
          capabilities: { drops: ["ALL"] },
          securityOpts: ["no-new-privileges:true"],
          tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
        }),
        dependencies: ["data"],
      },
    ]);
    await replayer.apply(render);
    await replayer.apply(render);
    expect(replayer.events.slice(2).map((e) => `${e.step} ${e.name}`)).toEqual(["same data", "same canonical"]);
  });

  test("the sidecar's old [\"NONE\"] healthcheck reads back with the image's durations; SIDECAR_HEALTHCHECK does not", async () => {
    const none = await new Replayer()
      .apply(renderOf([sleeper("none", { image: HC_IMAGE, healthcheck: { tests: ["NONE"] } })]))
      .catch((e: unknown) => e);
    expect((none as DriftError).lines).toEqual([
      'none.healthcheck: the program sends {"tests":["NONE"]}, Read stores ' +
        '{"interval":"10s","retries":3,"startInterval":"0s","startPeriod":"15s","tests":["NONE"],"timeout":"3s"}',
    ]);
    await new Replayer().apply(
      renderOf([sleeper("sidecar", { image: HC_IMAGE, healthcheck: SIDECAR_HEALTHCHECK, user: "10001:10001" })]),
    );
  });

  test("a container that fails its health wait stays with its error; its predecessor is deleted first next time", async () => {
    const replayer = new Replayer();
    const probe = (test: string) => ({
      tests: ["CMD", test],
      interval: "1s",
      timeout: "1s",
      startPeriod: "1s",
      retries: 1,
    });
    const app = (test: string) =>
      sleeper("roll", {
        healthcheck: probe(test),
        wait: true,
        waitTimeout: 4,
        labels: [...LABELS, { label: "v", value: test }],
      });
    await replayer.apply(renderOf([app("true")]));
    const healthy = replayer.outputs("roll").name as string;

    const failure = await replayer.apply(renderOf([app("false")])).catch((e: unknown) => e);
    expect(String(failure)).toMatch(
      /^Error: roll: container roll-\w+ did not become healthy within 4s \(status unhealthy\)/,
    );
    const failed = replayer.outputs("roll").name as string;
    expect(replayer.initError("roll")).toMatch(/did not become healthy/);
    expect(replayer.pendingDeleteNames()).toEqual([healthy]);
    // Both containers exist: the old one still serves.
    expect(await docker(["inspect", "--format", "{{.State.Running}}", healthy])).toBe("true");
    expect(await docker(["inspect", "--format", "{{.State.Health.Status}}", failed])).toBe("unhealthy");

    // The same render again: the failed container is replaced, the old one goes first.
    const before = replayer.events.length;
    await replayer.apply(renderOf([app("true")]));
    expect(replayer.events.slice(before).map((e) => `${e.step} ${e.name}${e.detail ? ` (${e.detail})` : ""}`)).toEqual([
      "delete roll (pending delete of a failed apply)",
      "replace roll",
      "delete roll",
    ]);
    const ids = await docker(["ps", "-aq", ...labelFilter("stack", STACK), "--filter", "label=v"]);
    expect(ids.split("\n")).toHaveLength(1);
  });

  test("a RemoteImage's repoDigest is repo@sha256:<manifest digest> of the registry it came from", async () => {
    const image = (replayer: Replayer) =>
      replayer.apply(
        renderOf([resource("docker:index/remoteImage:RemoteImage", "tiny", { name: TINY_IMAGE, keepLocally: true })]),
      );
    const id = await docker(["image", "inspect", "--format", "{{.Id}}", TINY_IMAGE]);
    // Built locally, never pushed: the provider's repoDigest is "".
    const local = new Replayer();
    await image(local);
    expect(local.outputs("tiny")).toEqual({ name: TINY_IMAGE, imageName: TINY_IMAGE, repoDigest: "", imageId: id });
    const digest = await pushForDigest(TINY_IMAGE);
    expect(digest).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+/fleet-drift-${RUN_ID}/tiny@sha256:[0-9a-f]{64}$`));
    const pushed = new Replayer();
    await image(pushed);
    expect(pushed.outputs("tiny")).toEqual({
      name: TINY_IMAGE,
      imageName: TINY_IMAGE,
      repoDigest: digest,
      imageId: id,
    });
    // A container can use that reference without the registry.
    expect(await docker(["image", "inspect", "--format", "{{.Id}}", digest])).toBe(id);
  });

  test("the program's own containers and volumes, as npm run render prints them, read back unchanged", async () => {
    // The real render of the tier's fixture fleet, on an image without the app (no app build
    // here): containers sleep instead of serving and are not waited for, and the commands,
    // which need the app, are left out. Every other input is exactly what the program sends.
    const repo = `fleet-drift-${RUN_ID}/app`;
    await run("docker", ["tag", HC_IMAGE, `${repo}:1.0.0`]);
    await pushForDigest(`${repo}:1.0.0`);
    const full = await render({
      instances: join(ROOT, "test/docker/fleet"),
      version: "1.0.0",
      stack: STACK,
      config: {
        "fleet:image": repo,
        "fleet:proxyImage": PROXY_IMAGE,
        "fleet:proxyAdminPort": String(20000 + Math.floor(Math.random() * 9000)),
      },
    });
    const commands = new Set(full.resources.filter((r) => r.type === "command:local:Command").map((r) => r.name));
    const resources = full.resources
      .filter((r) => !commands.has(r.name))
      .map((r) => {
        const kept = {
          ...r,
          dependencies: r.dependencies.filter((d) => !commands.has(d)),
          options: { ...r.options, dependsOn: r.options.dependsOn.filter((d) => !commands.has(d)) },
        };
        if (r.type !== "docker:index/container:Container" || r.name === "proxy") return kept;
        return { ...kept, inputs: { ...r.inputs, command: ["sleep", "infinity"], wait: false } };
      });
    const replayer = new Replayer();
    const applied = renderOf(resources);
    await replayer.apply(applied);
    await replayer.apply(applied);
    const second = replayer.events.slice(replayer.events.length / 2);
    expect(new Set(second.map((e) => e.step))).toEqual(new Set(["same"]));
    expect(replayer.names("docker:index/container:Container").sort()).toEqual([
      "alpha-app",
      "alpha-backup",
      "beta-app",
      "gamma-app",
      "proxy",
    ]);
  });
});
