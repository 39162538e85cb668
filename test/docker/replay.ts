/**
 * The replayer: a small, test-only stand-in for the Pulumi engine and its docker/command
 * providers, which cannot run on machines without the Pulumi CLI. It takes the resource graph
 * that `npm run render -- --json` prints and applies it to a real Docker engine through the
 * docker CLI, translating the provider's input names into `docker` flags one for one.
 *
 * It follows the engine's order for an update: resources in registration order; a changed
 * container is replaced create-first (or delete-first where the program asked for it) and
 * waited for until healthy; a changed command is updated; replaced and removed resources are
 * deleted at the end, newest first, and `retainOnDelete` resources are only forgotten.
 * On failure it follows the engine too (pulumi/pulumi `pkg/resource/deploy`): the first failed
 * step cancels every step not yet started (step_executor.go executeChain/cancelDueToError); a
 * container created but not healthy stays in state with its error (step.go CreateStep.Apply keeps
 * a StatusPartialFailure resource; the provider set its ID before waiting) and is replaced by the
 * next apply; the container it replaced is marked pending-delete and deleted at the start of the
 * next apply (deployment_executor.go retirePendingDeletes), before anything else, unless it is
 * `retainOnDelete` (step.go DeleteStep.Apply: then only forgotten).
 *
 * After every apply, each container and volume is read back through the Engine API the way the
 * provider's Read does (./read-back.ts); an input that reads back differently would be a diff on
 * the next `pulumi up`, and fails the apply (DriftError).
 *
 * Any input it does not understand is an error, never silently dropped (ACCEPTED_INPUTS, checked
 * against @pulumi/docker's and @pulumi/command's types by test/replay-schema.test.ts).
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { RenderedResource, RenderResult as Render } from "../../ops/commands/render";
import { promisify } from "node:util";
import { containerDrift, describeDrift, volumeDrift, type ContainerInspect, type VolumeInspect } from "./read-back";
import { serviceDrift, serviceSpec, type ServiceInspect } from "./service-spec";

const run = promisify(execFile);

/** One resource and the whole render, exactly as `npm run render -- --json` prints them. */
export type { RenderedResource, RenderResult as Render } from "../../ops/commands/render";

/** What the replayer remembers of a created resource: its resolved inputs and its outputs. */
interface Live {
  readonly resource: RenderedResource;
  readonly inputs: Record<string, unknown>;
  readonly outputs: Record<string, unknown>;
  /** The error of a create that left the resource behind (init errors): the next apply replaces it. */
  readonly initError?: string;
  /**
   * The error of a failed in-place update (a service Swarm rolled back): the state holds the new
   * inputs while the engine runs the old spec, so the drift check skips it until an update succeeds.
   */
  readonly failedUpdate?: string;
}

/** A timestamped record of each engine step, for the roll benchmark and for assertions. */
export interface StepEvent {
  readonly at: number;
  readonly step: "create" | "update" | "replace" | "delete" | "forget" | "same" | "failed" | "cancelled";
  readonly type: string;
  readonly name: string;
  readonly detail?: string;
}

/** Raised when a step fails; the engine would leave earlier steps applied, and so does this. */
export class ReplayError extends Error {
  constructor(
    message: string,
    readonly resource: string,
  ) {
    super(message);
  }
}

/** A create that failed after the resource existed: the engine keeps it in state with the error. */
class PartialFailure extends Error {
  constructor(
    message: string,
    readonly outputs: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Raised after an apply when an input reads back differently: the next `up` would change it. */
export class DriftError extends Error {
  constructor(readonly lines: readonly string[]) {
    super(`drift: a second apply would change these inputs:\n - ${lines.join("\n - ")}`);
  }
}

const PLACEHOLDER = /<<([A-Za-z0-9_.[\]-]+)>>/g;

/** The docker CLI, with the environment the caller chose (DOCKER_HOST and so on). */
export async function docker(args: string[], input?: string): Promise<string> {
  if (input === undefined) {
    const { stdout } = await run("docker", args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  }
  return (await shell("docker", args, {}, input)).stdout.trim();
}

function shell(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  input?: string,
  cwd?: string,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    // A program that exits without reading its stdin (printf, a failing script) closes the pipe
    // first; its exit code decides the outcome, not the write.
    child.stdin.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") reject(e);
    });
    child.on("close", (code) =>
      code === 0
        ? resolve({ stdout: out, stderr: err })
        : reject(new Error(`${cmd} exited ${code}: ${(err || out).trim()}`)),
    );
    child.stdin.end(input ?? "");
  });
}

function getPath(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const part of path.split(/\.|\[|\]/).filter(Boolean)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * The inputs the replayer translates, per resource type: `true` for a value, `"map"` for a map
 * with free keys, an object for a nested object (or each element of a list of objects). Anything
 * else is refused. test/replay-schema.test.ts checks every name against the providers' types.
 */
export type InputTree = { readonly [name: string]: true | "map" | InputTree };

const LABEL: InputTree = { label: true, value: true };

export const ACCEPTED_INPUTS: Readonly<Record<string, InputTree>> = {
  "docker:index/container:Container": {
    image: true,
    name: true,
    hostname: true,
    envs: true,
    ports: { internal: true, external: true, ip: true, protocol: true },
    volumes: { volumeName: true, hostPath: true, containerPath: true, readOnly: true },
    mounts: { type: true, source: true, target: true, readOnly: true },
    healthcheck: { tests: true, interval: true, timeout: true, startPeriod: true, startInterval: true, retries: true },
    wait: true,
    waitTimeout: true,
    restart: true,
    memory: true,
    memorySwap: true,
    cpus: true,
    readOnly: true,
    tmpfs: "map",
    user: true,
    capabilities: { adds: true, drops: true },
    securityOpts: true,
    logDriver: true,
    logOpts: "map",
    labels: LABEL,
    networkMode: true,
    command: true,
    entrypoints: true,
    uploads: { file: true, content: true, executable: true },
    init: true,
    stopTimeout: true,
    stopSignal: true,
    destroyGraceSeconds: true,
    mustRun: true,
    start: true,
    workingDir: true,
  },
  "docker:index/volume:Volume": { name: true, labels: LABEL, driver: true, driverOpts: "map" },
  "docker:index/remoteImage:RemoteImage": {
    name: true,
    keepLocally: true,
    pullTriggers: true,
    platform: true,
    forceRemove: true,
    triggers: "map",
  },
  "docker:index/image:Image": {
    imageName: true,
    skipPush: true,
    buildOnPreview: true,
    build: { context: true, dockerfile: true, builderVersion: true, args: "map", platform: true },
  },
  "docker:index/service:Service": {
    name: true,
    labels: LABEL,
    mode: { replicated: { replicas: true } },
    taskSpec: {
      containerSpec: {
        image: true,
        env: "map",
        labels: LABEL,
        args: true,
        commands: true,
        user: true,
        readOnly: true,
        capDrops: true,
        stopGracePeriod: true,
        healthcheck: { tests: true, interval: true, timeout: true, startPeriod: true, retries: true },
        mounts: {
          type: true,
          source: true,
          target: true,
          readOnly: true,
          volumeOptions: { labels: LABEL },
          tmpfsOptions: { sizeBytes: true },
        },
        secrets: { secretId: true, secretName: true, fileName: true, fileUid: true, fileGid: true, fileMode: true },
      },
      resources: { limits: { nanoCpus: true, memoryBytes: true }, reservation: { nanoCpus: true, memoryBytes: true } },
      restartPolicy: { condition: true, delay: true, maxAttempts: true, window: true },
      placement: { constraints: true },
      logDriver: { name: true, options: "map" },
    },
    endpointSpec: {
      mode: true,
      ports: { name: true, protocol: true, targetPort: true, publishedPort: true, publishMode: true },
    },
    updateConfig: {
      parallelism: true,
      delay: true,
      failureAction: true,
      monitor: true,
      maxFailureRatio: true,
      order: true,
    },
    rollbackConfig: {
      parallelism: true,
      delay: true,
      failureAction: true,
      monitor: true,
      maxFailureRatio: true,
      order: true,
    },
    convergeConfig: { delay: true, timeout: true },
  },
  "docker:index/secret:Secret": { name: true, data: true, labels: LABEL },
  // The replayer talks to the engine DOCKER_HOST names; a provider's host must be that one.
  "pulumi:providers:docker": { host: true },
  "command:local:Command": {
    create: true,
    update: true,
    delete: true,
    environment: "map",
    stdin: true,
    triggers: true,
    interpreter: true,
    dir: true,
    logging: true,
    addPreviousOutputInEnv: true,
  },
  "random:index/randomPassword:RandomPassword": {
    length: true,
    special: true,
    overrideSpecial: true,
    upper: true,
    lower: true,
    numeric: true,
    minUpper: true,
    minLower: true,
    minNumeric: true,
    minSpecial: true,
    keepers: "map",
  },
};

/** Checks that a value has only the inputs the tree names, at every depth; throws naming the path. */
export function checkInputs(what: string, value: Record<string, unknown>, tree: InputTree): void {
  const unknown: string[] = [];
  const walk = (path: string, obj: Record<string, unknown>, node: InputTree) => {
    for (const [k, v] of Object.entries(obj)) {
      if (v === undefined) continue;
      const sub = node[k];
      const at = path ? `${path}.${k}` : k;
      if (sub === undefined) unknown.push(at);
      else if (typeof sub === "object" && v !== null && typeof v === "object") {
        for (const item of Array.isArray(v) ? v : [v]) {
          if (item && typeof item === "object")
            walk(Array.isArray(v) ? `${at}[]` : at, item as Record<string, unknown>, sub);
        }
      }
    }
  };
  walk("", value, tree);
  if (unknown.length > 0) {
    throw new Error(`replayer: ${what} has inputs it cannot translate: ${unknown.join(", ")}`);
  }
}

function inputsOf(type: string): InputTree {
  const tree = ACCEPTED_INPUTS[type];
  if (!tree) throw new Error(`replayer: resource type ${type} is not supported`);
  return tree;
}

/** A Go duration ("1s", "1m30s", "500ms") in nanoseconds, as the Engine API wants it. */
export function durationNs(text: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let rest = text;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/.exec(rest);
    if (!m) throw new Error(`replayer: ${JSON.stringify(text)} is not a duration`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return Math.round(total);
}

/**
 * Translates docker.Container inputs into the Engine API's `POST /containers/create` body, one
 * for one (the provider does the same through the Go client). `uploads`, `start`, `wait` and
 * `waitTimeout` are steps after the create, handled by the caller.
 */
export function containerCreateBody(name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  checkInputs(`container ${name}`, inputs, inputsOf("docker:index/container:Container"));
  // The provider always sends these three with their schema defaults (resourceDockerContainerCreate:
  // RestartPolicy from d.Get("restart"), default "no"; ReadonlyRootfs; NetworkMode, default
  // "bridge"); moby would otherwise store NetworkMode "default", which Read reports as a diff.
  const host: Record<string, unknown> = {
    RestartPolicy: { Name: (inputs.restart as string | undefined) ?? "no" },
    ReadonlyRootfs: inputs.readOnly === true,
    NetworkMode: (inputs.networkMode as string | undefined) ?? "bridge",
  };
  const body: Record<string, unknown> = { Image: inputs.image, HostConfig: host };
  if (inputs.envs) body.Env = inputs.envs;
  if (inputs.command) body.Cmd = inputs.command;
  if (inputs.entrypoints) body.Entrypoint = inputs.entrypoints;
  if (inputs.user) body.User = inputs.user;
  if (inputs.hostname) body.Hostname = inputs.hostname;
  if (inputs.workingDir) body.WorkingDir = inputs.workingDir;
  if (inputs.stopSignal) body.StopSignal = inputs.stopSignal;
  if (inputs.stopTimeout !== undefined) body.StopTimeout = inputs.stopTimeout;
  const labels = (inputs.labels as Record<string, unknown>[] | undefined) ?? [];
  if (labels.length > 0) {
    body.Labels = Object.fromEntries(
      labels.map((l) => {
        return [l.label as string, l.value as string];
      }),
    );
  }
  const ports = (inputs.ports as Record<string, unknown>[] | undefined) ?? [];
  if (ports.length > 0) {
    const key = (p: Record<string, unknown>) =>
      `${p.internal as number}/${(p.protocol as string | undefined) ?? "tcp"}`;
    body.ExposedPorts = Object.fromEntries(ports.map((p) => [key(p), {}]));
    host.PortBindings = Object.fromEntries(
      ports.map((p) => {
        return [
          key(p),
          [
            {
              HostIp: (p.ip as string | undefined) ?? "0.0.0.0",
              HostPort: p.external === undefined ? "" : String(p.external),
            },
          ],
        ];
      }),
    );
  }
  const volumes = (inputs.volumes as Record<string, unknown>[] | undefined) ?? [];
  if (volumes.length > 0) {
    host.Binds = volumes.map((v) => {
      return `${(v.volumeName ?? v.hostPath) as string}:${v.containerPath as string}${v.readOnly ? ":ro" : ""}`;
    });
  }
  const mounts = (inputs.mounts as Record<string, unknown>[] | undefined) ?? [];
  if (mounts.length > 0) {
    host.Mounts = mounts.map((m) => {
      return { Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.readOnly === true };
    });
  }
  const hc = inputs.healthcheck as Record<string, unknown> | undefined;
  if (hc) {
    const check: Record<string, unknown> = { Test: hc.tests };
    if (hc.interval) check.Interval = durationNs(hc.interval as string);
    if (hc.timeout) check.Timeout = durationNs(hc.timeout as string);
    if (hc.startPeriod) check.StartPeriod = durationNs(hc.startPeriod as string);
    if (hc.startInterval) check.StartInterval = durationNs(hc.startInterval as string);
    if (hc.retries !== undefined) check.Retries = hc.retries;
    body.Healthcheck = check;
  }
  // The provider's `memory` and `memorySwap` are in MB; the API's in bytes.
  if (inputs.memory !== undefined) host.Memory = (inputs.memory as number) * 1024 * 1024;
  if (inputs.memorySwap !== undefined) host.MemorySwap = (inputs.memorySwap as number) * 1024 * 1024;
  if (inputs.cpus !== undefined) host.NanoCpus = Math.round(Number(inputs.cpus) * 1e9);
  if (inputs.tmpfs) host.Tmpfs = inputs.tmpfs;
  const caps = inputs.capabilities as Record<string, unknown> | undefined;
  if (caps) {
    if (caps.adds) host.CapAdd = caps.adds;
    if (caps.drops) host.CapDrop = caps.drops;
  }
  if (inputs.securityOpts) host.SecurityOpt = inputs.securityOpts;
  if (inputs.logDriver || inputs.logOpts)
    host.LogConfig = { Type: inputs.logDriver ?? "json-file", Config: inputs.logOpts ?? {} };
  if (inputs.init !== undefined) host.Init = inputs.init;
  return body;
}

/** The Engine API over its unix socket (DOCKER_HOST=unix://... or the default socket). */
export function engineApi(method: string, path: string, body?: unknown): Promise<unknown> {
  const hostEnv = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
  if (!hostEnv.startsWith("unix://"))
    throw new Error(`replayer: only a unix-socket DOCKER_HOST is supported, got ${hostEnv}`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: hostEnv.slice("unix://".length),
        method,
        path,
        headers: payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {},
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => {
          const parsed: unknown = text ? JSON.parse(text) : undefined;
          if ((res.statusCode ?? 500) >= 300) {
            reject(
              new Error(
                `engine ${method} ${path}: ${res.statusCode} ${(parsed as { message?: string } | undefined)?.message ?? text}`,
              ),
            );
          } else resolve(parsed);
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : val,
  );
}

/** Applies renders to a real Docker engine, remembering what it created between applies. */
export class Replayer {
  private readonly live = new Map<string, Live>();
  private readonly tainted = new Set<string>();
  /** Resources a failed apply replaced: the engine deletes them at the start of the next apply. */
  private readonly pendingDeletes: Live[] = [];
  /** Every step taken, in order. */
  readonly events: StepEvent[] = [];
  constructor(private readonly opts: { readonly log?: (line: string) => void } = {}) {}

  /** The outputs of a created resource (container name, assigned ports, ...). */
  outputs(name: string): Record<string, unknown> {
    const l = this.live.get(name);
    if (!l) throw new Error(`replayer: no live resource ${name}`);
    return l.outputs;
  }

  /** The error a live resource was left with by a failed create, if any. */
  initError(name: string): string | undefined {
    return this.live.get(name)?.initError;
  }

  /** Docker names of the containers pending deletion (replaced by a failed apply). */
  pendingDeleteNames(): string[] {
    return this.pendingDeletes.map((l) => l.outputs.name as string);
  }

  /** Marks a resource for replacement on the next apply, as `pulumi up --replace` does. */
  taint(name: string): void {
    this.outputs(name);
    this.tainted.add(name);
  }

  /** Names of live resources of a type. */
  names(type: string): string[] {
    return [...this.live.values()].filter((l) => l.resource.type === type).map((l) => l.resource.name);
  }

  private event(step: StepEvent["step"], r: RenderedResource, detail?: string): void {
    this.events.push({ at: Date.now(), step, type: r.type, name: r.name, detail });
    this.opts.log?.(`replay: ${step} ${r.type} ${r.name}${detail ? ` (${detail})` : ""}`);
  }

  /** Replaces every `<<name.path>>` with the live value. */
  resolve(value: unknown): unknown {
    if (typeof value === "string") {
      const whole = /^<<([A-Za-z0-9_.[\]-]+)>>$/.exec(value);
      if (whole?.[1]) return this.lookup(whole[1]);
      return value.replace(PLACEHOLDER, (_m, ref: string) => String(this.lookup(ref)));
    }
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
    }
    return value;
  }

  /** `app-1.0.0.repoDigest`: logical names may hold dots, so the longest live name wins. */
  private lookup(ref: string): unknown {
    for (let dot = ref.lastIndexOf("."); dot > 0; dot = ref.lastIndexOf(".", dot - 1)) {
      const live = this.live.get(ref.slice(0, dot));
      if (!live) continue;
      const v = getPath(live.outputs, ref.slice(dot + 1));
      if (v === undefined) throw new Error(`replayer: ${ref.slice(0, dot)} has no output ${ref.slice(dot + 1)}`);
      return v;
    }
    throw new Error(`replayer: <<${ref}>> names no live resource`);
  }

  /**
   * Applies one render as the engine would. Pending deletes of a failed apply go first. Then
   * every resource starts as soon as the resources it depends on (explicitly or through its
   * inputs) are done, so independent instances roll in parallel. The first failed step cancels
   * every step not yet started; steps already running finish; nothing is deleted, and what was
   * replaced becomes pending-delete; the first error is thrown. On success, replaced and removed
   * resources are deleted at the end. Either way, the drift check runs on what is live.
   */
  async apply(render: Render): Promise<void> {
    for (const l of this.pendingDeletes.splice(0)) {
      // A pending delete is a DeleteStep like any other: a no-op for a retainOnDelete resource
      // (pulumi/pulumi pkg/resource/deploy/step.go DeleteStep.Apply).
      if (l.resource.options.retainOnDelete) {
        this.event("forget", l.resource, "pending delete of a failed apply");
        continue;
      }
      await this.destroy(l);
      this.event("delete", l.resource, "pending delete of a failed apply");
    }
    const custom = render.resources.filter((r) => r.custom);
    const wanted = new Set(custom.map((r) => r.name));
    const replaced: Live[] = [];
    let failure: { error: unknown } | undefined;
    const steps = new Map<string, Promise<void>>();
    for (const r of custom) {
      const deps = [...new Set([...r.dependencies, ...r.options.dependsOn])].filter((d) => wanted.has(d));
      for (const dep of deps) {
        if (!steps.has(dep))
          throw new Error(`replayer: ${r.name} depends on ${dep}, which is not registered before it`);
      }
      steps.set(
        r.name,
        Promise.all(deps.map((d) => steps.get(d) ?? Promise.resolve())).then(async () => {
          if (failure) {
            this.event("cancelled", r);
            return;
          }
          try {
            const old = await this.step(r);
            if (old) replaced.push(old);
          } catch (e) {
            failure ??= { error: e };
          }
        }),
      );
    }
    await Promise.all(steps.values());
    if (failure) {
      this.pendingDeletes.push(...replaced);
      await this.checkDrift();
      throw failure.error;
    }
    const removed = [...this.live.values()].filter((l) => !wanted.has(l.resource.name)).reverse();
    for (const l of [...replaced.reverse(), ...removed]) {
      if (!wanted.has(l.resource.name)) this.live.delete(l.resource.name);
      if (l.resource.options.retainOnDelete) {
        this.event("forget", l.resource);
        continue;
      }
      await this.destroy(l);
      this.event("delete", l.resource);
    }
    await this.checkDrift();
  }

  /**
   * Reads every live container and volume back as the provider's Read would and throws a
   * DriftError naming each input that a second apply would change. Resources left with an init
   * error are skipped: the next apply replaces them whatever they read back.
   */
  async checkDrift(): Promise<void> {
    const lines: string[] = [];
    for (const l of this.live.values()) {
      if (l.initError !== undefined || l.failedUpdate !== undefined) continue;
      const planned = { ...l.inputs, name: l.inputs.name ?? l.outputs.name };
      const ignore = l.resource.options.ignoreChanges;
      if (l.resource.type === "docker:index/container:Container") {
        const inspect = (await engineApi("GET", `/containers/${l.outputs.id as string}/json`)) as ContainerInspect;
        lines.push(...describeDrift(l.resource.name, containerDrift(inspect, planned, ignore)));
      } else if (l.resource.type === "docker:index/service:Service") {
        const inspect = (await engineApi("GET", `/services/${l.outputs.id as string}`)) as ServiceInspect;
        lines.push(...serviceDrift(inspect, l.inputs).map((d) => `${l.resource.name}: ${d}`));
      } else if (l.resource.type === "docker:index/volume:Volume") {
        const inspect = (await engineApi(
          "GET",
          `/volumes/${encodeURIComponent(l.outputs.name as string)}`,
        )) as VolumeInspect;
        lines.push(...describeDrift(l.resource.name, volumeDrift(inspect, planned, ignore)));
      }
    }
    if (lines.length > 0) throw new DriftError(lines);
  }

  /** One resource's step; returns the old resource when it was replaced create-first. */
  private async step(r: RenderedResource): Promise<Live | undefined> {
    const inputs = this.resolve(r.inputs) as Record<string, unknown>;
    const old = this.live.get(r.name);
    // A resource with init errors is replaced by the next update (the engine diffs it as changed).
    const replaceAnyway = this.tainted.delete(r.name) || old?.initError !== undefined;
    if (old && !replaceAnyway && canonical(old.inputs) === canonical(inputs)) {
      this.event("same", r);
      return undefined;
    }
    if (!old) {
      await this.createInto(r, inputs);
      this.event("create", r);
      return undefined;
    }
    if (
      !replaceAnyway &&
      r.type === "command:local:Command" &&
      canonical(old.inputs.triggers) === canonical(inputs.triggers)
    ) {
      // The provider's Update runs `update`, else `create`, with the previous outputs in the
      // environment (pulumi-command provider/pkg/provider/local/commandController.go Update).
      const outputs = await this.runCommand(
        r,
        inputs,
        (inputs.update ?? inputs.create) as string | undefined,
        old.outputs,
      ).catch((e: unknown) => {
        this.event("failed", r, (e as Error).message.split("\n")[0]);
        throw new ReplayError(`${r.name}: ${(e as Error).message}`, r.name);
      });
      this.live.set(r.name, { resource: r, inputs, outputs });
      this.event("update", r);
      return undefined;
    }
    if (r.type === "docker:index/volume:Volume") {
      throw new Error(`replayer: volume ${r.name} would be replaced; a data volume must never change`);
    }
    if (r.type === "docker:index/service:Service" && !replaceAnyway && old.inputs.name === inputs.name) {
      // An in-place update (the service's inputs are not ForceNew, but its name). When it fails,
      // the Terraform SDK still saves the planned values (helper/schema: Update's state is kept
      // unless the resource sets Partial), so the state claims the new spec: modelled here.
      this.live.set(r.name, { resource: r, inputs, outputs: old.outputs });
      try {
        await this.updateService(old.outputs.id as string, inputs);
      } catch (e) {
        const message = (e as Error).message;
        this.live.set(r.name, { resource: r, inputs, outputs: old.outputs, failedUpdate: message });
        this.event("failed", r, message.split("\n")[0]);
        throw new ReplayError(`${r.name}: ${message}`, r.name);
      }
      this.event("update", r);
      return undefined;
    }
    // Replacement. Containers are delete-before-replace unless the program says otherwise.
    const dbr =
      r.type === "docker:index/container:Container"
        ? r.options.deleteBeforeReplace !== false
        : r.options.deleteBeforeReplace === true;
    if (dbr) {
      await this.destroy(old);
      this.live.delete(r.name);
    }
    try {
      await this.createInto(r, inputs);
    } catch (e) {
      // CreateStep.Apply marks the old resource pending-delete even when the create partially
      // failed; a create that failed outright leaves the old one where it was.
      if (!dbr && this.live.get(r.name) !== old) this.pendingDeletes.push(old);
      throw e;
    }
    this.event("replace", r);
    return dbr ? undefined : old;
  }

  /** Creates a resource into `live`; a partial failure stays there with its error, then throws. */
  private async createInto(r: RenderedResource, inputs: Record<string, unknown>): Promise<void> {
    try {
      this.live.set(r.name, { resource: r, inputs, outputs: await this.create(r, inputs) });
    } catch (e) {
      const message = (e as Error).message;
      this.event("failed", r, message.split("\n")[0]);
      if (e instanceof PartialFailure)
        this.live.set(r.name, { resource: r, inputs, outputs: e.outputs, initError: message });
      throw e instanceof ReplayError ? e : new ReplayError(`${r.name}: ${message}`, r.name);
    }
  }

  private async create(r: RenderedResource, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    checkInputs(`${r.type} ${r.name}`, inputs, inputsOf(r.type));
    switch (r.type) {
      case "docker:index/volume:Volume":
        return await this.createVolume(r, inputs);
      case "docker:index/container:Container":
        return await this.createContainer(r, inputs);
      case "docker:index/remoteImage:RemoteImage":
      case "docker:index/image:Image":
        return await this.useImage(r, inputs);
      case "command:local:Command":
        return await this.runCommand(r, inputs, inputs.create as string | undefined);
      case "docker:index/secret:Secret":
        return await this.createSecret(inputs);
      case "docker:index/service:Service":
        return await this.createService(inputs);
      case "pulumi:providers:docker": {
        const engine = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
        if (inputs.host !== undefined && inputs.host !== engine)
          throw new Error(`replayer: provider ${r.name} targets ${inputs.host as string}, the replayer ${engine}`);
        return {};
      }
      case "random:index/randomPassword:RandomPassword":
        return {
          result: randomBytes(32)
            .toString("base64url")
            .slice(0, (inputs.length as number | undefined) ?? 32),
        };
      default:
        throw new Error(`replayer: resource type ${r.type} is not supported`);
    }
  }

  /** resourceDockerSecretCreate: the data is base64 and is decoded before it is sent. */
  private async createSecret(inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const args = ["secret", "create"];
    for (const l of (inputs.labels as Record<string, unknown>[] | undefined) ?? [])
      args.push("--label", `${l.label as string}=${l.value as string}`);
    const data = Buffer.from(inputs.data as string, "base64").toString("utf8");
    const id = await docker([...args, inputs.name as string, "-"], data);
    return { id, name: inputs.name };
  }

  /**
   * resourceDockerServiceCreate: create, then with convergeConfig wait until every task is
   * running; a service that does not converge in time is deleted again and the create fails.
   */
  private async createService(inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const created = (await engineApi("POST", "/services/create", serviceSpec(inputs))) as { ID: string };
    const converge = inputs.convergeConfig as Record<string, string> | undefined;
    if (converge) {
      try {
        await this.waitConverged(created.ID, converge, false);
      } catch (e) {
        await this.removeService(created.ID, inputs);
        throw e;
      }
    }
    return { id: created.ID, name: inputs.name };
  }

  /** resourceDockerServiceUpdate: the new spec at the service's version, then the update's outcome. */
  private async updateService(id: string, inputs: Record<string, unknown>): Promise<void> {
    const current = (await engineApi("GET", `/services/${id}`)) as { Version: { Index: number } };
    await engineApi("POST", `/services/${id}/update?version=${current.Version.Index}`, serviceSpec(inputs));
    const converge = inputs.convergeConfig as Record<string, string> | undefined;
    if (converge) await this.waitConverged(id, converge, true);
  }

  /**
   * The provider's refresh functions (resource_docker_service_funcs.go): an update is done when
   * UpdateStatus is `completed`; `rollback_completed`, `paused` and `rollback_paused` fail with
   * the status message; otherwise (and for a create) every task with desired state `running`
   * must be running. A timeout fails with "did not converge".
   */
  private async waitConverged(id: string, converge: Record<string, string>, update: boolean): Promise<void> {
    const timeoutMs = durationNs(converge.timeout ?? "3m") / 1e6;
    await new Promise((res) => setTimeout(res, Math.min(durationNs(converge.delay ?? "7s") / 1e6, 2000)));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const service = (await engineApi("GET", `/services/${id}`)) as ServiceInspect;
      const status = service.UpdateStatus;
      if (update && status?.State) {
        if (status.State === "completed") return;
        if (status.State === "rollback_completed")
          throw new Error(`service rollback completed: ${status.Message ?? ""}`);
        if (status.State === "paused") throw new Error(`service update paused: ${status.Message ?? ""}`);
        if (status.State === "rollback_paused") throw new Error(`service rollback paused: ${status.Message ?? ""}`);
      } else {
        const filters = encodeURIComponent(JSON.stringify({ service: [id], "desired-state": ["running"] }));
        const tasks = (await engineApi("GET", `/tasks?filters=${filters}`)) as { Status: { State: string } }[];
        if (tasks.length > 0 && tasks.every((t) => t.Status.State === "running")) return;
      }
      await new Promise((res) => setTimeout(res, 500));
    }
    throw new Error(`Service with ID (${id}) did not converge after ${converge.timeout ?? "3m"}`);
  }

  /** deleteService: remove the service, then wait up to stopGracePeriod for its containers to go. */
  private async removeService(id: string, inputs: Record<string, unknown>): Promise<void> {
    await docker(["service", "rm", id]);
    const grace = ((inputs.taskSpec as { containerSpec?: { stopGracePeriod?: string } }).containerSpec
      ?.stopGracePeriod ?? "0s") as string;
    const deadline = Date.now() + durationNs(grace) / 1e6 + 5000;
    while (Date.now() < deadline) {
      const left = await docker(["ps", "-aq", "--filter", `label=com.docker.swarm.service.id=${id}`]);
      if (left === "") return;
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  private async createVolume(r: RenderedResource, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const name = (inputs.name as string | undefined) ?? `${r.name}-${randomBytes(4).toString("hex").slice(0, 7)}`;
    const args = ["volume", "create"];
    for (const l of (inputs.labels as Record<string, unknown>[] | undefined) ?? [])
      args.push("--label", `${l.label as string}=${l.value as string}`);
    if (inputs.driver) args.push("--driver", inputs.driver as string);
    for (const [k, v] of Object.entries((inputs.driverOpts as Record<string, string> | undefined) ?? {}))
      args.push("--opt", `${k}=${v}`);
    await docker([...args, name]);
    return { name };
  }

  /**
   * Image outputs as the provider computes them. No registry is reachable, so every image must
   * exist locally (the tier builds them with the real app/Dockerfile). `repoDigest` follows
   * determineRepoDigest (terraform-provider-docker data_source_docker_image.go): the image's
   * RepoDigests entry of the same repository, `repo@sha256:<manifest digest>`, which exists only
   * for an image pulled from or pushed to a registry; "" otherwise. `imageId` is the image ID.
   */
  private async useImage(r: RenderedResource, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const ref = (inputs.name ?? inputs.imageName) as string;
    const found = await docker(["image", "inspect", "--format", "{{json .}}", ref]).catch(() => {
      throw new Error(`replayer: image ${ref} for ${r.name} does not exist locally; build it first`);
    });
    const image = JSON.parse(found) as { Id: string; RepoDigests?: string[] | null };
    const repoDigest =
      r.type === "docker:index/image:Image" ? image.Id : determineRepoDigest(ref, image.RepoDigests ?? []);
    return { name: ref, imageName: ref, repoDigest, imageId: image.Id };
  }

  private async createContainer(
    r: RenderedResource,
    inputs: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    // Pulumi auto-names a resource as `<logical name>-<7 random hex>`.
    const name = (inputs.name as string | undefined) ?? `${r.name}-${randomBytes(4).toString("hex").slice(0, 7)}`;
    const created = (await engineApi(
      "POST",
      `/containers/create?name=${encodeURIComponent(name)}`,
      containerCreateBody(name, inputs),
    )) as { Id: string };
    // From here on the container exists: the provider has set its ID (resourceDockerContainerCreate
    // d.SetId before uploads, start and wait), so a failure leaves it in state with the error.
    try {
      for (const u of (inputs.uploads as Record<string, unknown>[] | undefined) ?? []) {
        const tmp = await mkdtemp(join(tmpdir(), "replay-upload-"));
        const local = join(tmp, basename(u.file as string));
        await writeFile(local, u.content as string, { mode: u.executable === true ? 0o755 : 0o644 });
        await docker(["cp", local, `${name}:${u.file as string}`]);
        await rm(tmp, { recursive: true, force: true });
      }
      if (inputs.start !== false) await docker(["start", name]);
      if (inputs.wait === true) await this.waitHealthy(name, (inputs.waitTimeout as number | undefined) ?? 60);
    } catch (e) {
      throw new PartialFailure((e as Error).message, { id: created.Id, name, ports: [] });
    }
    const inspect = JSON.parse(await docker(["inspect", name]))[0] as {
      Id: string;
      NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> };
    };
    const ports = ((inputs.ports as Record<string, unknown>[] | undefined) ?? []).map((p) => {
      const bound =
        inspect.NetworkSettings.Ports[`${p.internal as number}/${(p.protocol as string | undefined) ?? "tcp"}`];
      return { ...p, external: bound && bound[0] ? Number(bound[0].HostPort) : undefined };
    });
    return { id: inspect.Id, name, ports };
  }

  /** Polls until healthy, like the provider's `wait`: it does not stop early on `unhealthy`. */
  async waitHealthy(name: string, timeoutSeconds: number): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let state: { Status: string; Health?: { Status: string; Log?: { Output: string }[] } } = { Status: "unknown" };
    while (Date.now() < deadline) {
      state = JSON.parse(await docker(["inspect", "--format", "{{json .State}}", name])) as typeof state;
      if (state.Health?.Status === "healthy") return;
      await new Promise((res) => setTimeout(res, 250));
    }
    const last = state.Health?.Log?.at(-1)?.Output.trim() ?? "(no healthcheck output)";
    throw new Error(
      `container ${name} did not become healthy within ${timeoutSeconds}s (status ${state.Health?.Status ?? state.Status}); last healthcheck output: ${last}`,
    );
  }

  /**
   * Runs a command as pulumi-command's local provider does (provider/pkg/provider/local/
   * commandOutputs.go run): the interpreter (default `/bin/sh -c`), the process environment plus
   * `environment`, and, unless addPreviousOutputInEnv is false, PULUMI_COMMAND_STDOUT and
   * PULUMI_COMMAND_STDERR holding the previous run's outputs when they are not empty (update and
   * delete have them; a create has none). Outputs lose one trailing newline.
   */
  private async runCommand(
    r: RenderedResource,
    inputs: Record<string, unknown>,
    script: string | undefined,
    previous: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>> {
    if (script === undefined)
      return { stdout: (previous.stdout as string) ?? "", stderr: (previous.stderr as string) ?? "" };
    const [program = "/bin/sh", ...flags] = (inputs.interpreter as string[] | undefined) ?? ["/bin/sh", "-c"];
    const env = { ...((inputs.environment as Record<string, string> | undefined) ?? {}) };
    if (inputs.addPreviousOutputInEnv !== false) {
      if (previous.stdout) env.PULUMI_COMMAND_STDOUT = previous.stdout as string;
      if (previous.stderr) env.PULUMI_COMMAND_STDERR = previous.stderr as string;
    }
    const out = await shell(
      program,
      [...flags, script],
      env,
      inputs.stdin as string | undefined,
      inputs.dir as string | undefined,
    );
    return { stdout: out.stdout.replace(/\n$/, ""), stderr: out.stderr.replace(/\n$/, "") };
  }

  private async destroy(l: Live): Promise<void> {
    const { resource: r, outputs, inputs } = l;
    switch (r.type) {
      case "docker:index/container:Container":
        // As the provider's delete: stop with destroyGraceSeconds as the timeout (0 when unset,
        // i.e. a kill), then remove (resourceDockerContainerDelete).
        await docker([
          "stop",
          "--time",
          String((inputs.destroyGraceSeconds as number | undefined) ?? 0),
          outputs.name as string,
        ]);
        await docker(["rm", "--force", "--volumes", outputs.name as string]);
        return;
      case "docker:index/volume:Volume":
        await docker(["volume", "rm", outputs.name as string]);
        return;
      case "docker:index/secret:Secret":
        await docker(["secret", "rm", outputs.id as string]);
        return;
      case "docker:index/service:Service":
        await this.removeService(outputs.id as string, inputs);
        return;
      case "command:local:Command":
        // Delete runs with the state's inputs and outputs (commandController.go Delete).
        await this.runCommand(r, inputs, inputs.delete as string | undefined, outputs);
        return;
      default:
        return;
    }
  }
}

/**
 * determineRepoDigest (terraform-provider-docker internal/provider/data_source_docker_image.go):
 * no digest -> ""; one -> it; several -> the one that starts with the name without its tag.
 */
export function determineRepoDigest(imageName: string, repoDigests: readonly string[]): string {
  if (repoDigests.length === 0) return "";
  if (repoDigests.length === 1) return repoDigests[0]!;
  const colon = imageName.indexOf(":");
  const withoutTag = colon === -1 ? imageName : imageName.slice(0, colon);
  return repoDigests.find((d) => d.startsWith(withoutTag)) ?? "";
}
