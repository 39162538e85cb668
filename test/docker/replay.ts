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
 *
 * Any input it does not understand is an error, never silently dropped.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { RenderedResource, RenderResult as Render } from "../../components/cli/render";
import { promisify } from "node:util";

const run = promisify(execFile);

/** One resource and the whole render, exactly as `npm run render -- --json` prints them. */
export type { RenderedResource, RenderResult as Render } from "../../components/cli/render";

/** What the replayer remembers of a created resource: its resolved inputs and its outputs. */
interface Live {
  readonly resource: RenderedResource;
  readonly inputs: Record<string, unknown>;
  readonly outputs: Record<string, unknown>;
}

/** A timestamped record of each engine step, for the roll benchmark and for assertions. */
export interface StepEvent {
  readonly at: number;
  readonly step: "create" | "update" | "replace" | "delete" | "forget" | "same" | "failed";
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

const PLACEHOLDER = /<<([A-Za-z0-9_.[\]-]+)>>/g;

/** The docker CLI, with the environment the caller chose (DOCKER_HOST and so on). */
export async function docker(args: string[], input?: string): Promise<string> {
  if (input === undefined) {
    const { stdout } = await run("docker", args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  }
  return shell("docker", args, {}, input);
}

function shell(cmd: string, args: string[], env: Record<string, string>, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
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
      code === 0 ? resolve(out.trim()) : reject(new Error(`${cmd} exited ${code}: ${(err || out).trim()}`)),
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

/** Checks that an object has only the keys this replayer knows how to translate. */
function only(what: string, obj: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(obj).filter((k) => obj[k] !== undefined && !known.includes(k));
  if (unknown.length > 0) {
    throw new Error(`replayer: ${what} has inputs it cannot translate: ${unknown.join(", ")}`);
  }
}

const CONTAINER_INPUTS = [
  "image",
  "name",
  "envs",
  "ports",
  "volumes",
  "mounts",
  "healthcheck",
  "wait",
  "waitTimeout",
  "restart",
  "memory",
  "memorySwap",
  "cpus",
  "readOnly",
  "tmpfs",
  "user",
  "capabilities",
  "securityOpts",
  "logDriver",
  "logOpts",
  "labels",
  "networkMode",
  "command",
  "entrypoints",
  "uploads",
  "init",
  "stopTimeout",
  "stopSignal",
  "destroyGraceSeconds",
  "mustRun",
  "start",
  "workingDir",
] as const;

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
  only(`container ${name}`, inputs, CONTAINER_INPUTS);
  const host: Record<string, unknown> = {};
  const body: Record<string, unknown> = { Image: inputs.image, HostConfig: host };
  if (inputs.envs) body.Env = inputs.envs;
  if (inputs.command) body.Cmd = inputs.command;
  if (inputs.entrypoints) body.Entrypoint = inputs.entrypoints;
  if (inputs.user) body.User = inputs.user;
  if (inputs.workingDir) body.WorkingDir = inputs.workingDir;
  if (inputs.stopSignal) body.StopSignal = inputs.stopSignal;
  if (inputs.stopTimeout !== undefined) body.StopTimeout = inputs.stopTimeout;
  const labels = (inputs.labels as Record<string, unknown>[] | undefined) ?? [];
  if (labels.length > 0) {
    body.Labels = Object.fromEntries(
      labels.map((l) => {
        only("labels[]", l, ["label", "value"]);
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
        only("ports[]", p, ["internal", "external", "ip", "protocol"]);
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
      only("volumes[]", v, ["volumeName", "hostPath", "containerPath", "readOnly"]);
      return `${(v.volumeName ?? v.hostPath) as string}:${v.containerPath as string}${v.readOnly ? ":ro" : ""}`;
    });
  }
  const mounts = (inputs.mounts as Record<string, unknown>[] | undefined) ?? [];
  if (mounts.length > 0) {
    host.Mounts = mounts.map((m) => {
      only("mounts[]", m, ["type", "source", "target", "readOnly"]);
      return { Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.readOnly === true };
    });
  }
  const hc = inputs.healthcheck as Record<string, unknown> | undefined;
  if (hc) {
    only("healthcheck", hc, ["tests", "interval", "timeout", "startPeriod", "startInterval", "retries"]);
    const check: Record<string, unknown> = { Test: hc.tests };
    if (hc.interval) check.Interval = durationNs(hc.interval as string);
    if (hc.timeout) check.Timeout = durationNs(hc.timeout as string);
    if (hc.startPeriod) check.StartPeriod = durationNs(hc.startPeriod as string);
    if (hc.startInterval) check.StartInterval = durationNs(hc.startInterval as string);
    if (hc.retries !== undefined) check.Retries = hc.retries;
    body.Healthcheck = check;
  }
  if (inputs.restart) host.RestartPolicy = { Name: inputs.restart };
  // The provider's `memory` and `memorySwap` are in MB; the API's in bytes.
  if (inputs.memory !== undefined) host.Memory = (inputs.memory as number) * 1024 * 1024;
  if (inputs.memorySwap !== undefined) host.MemorySwap = (inputs.memorySwap as number) * 1024 * 1024;
  if (inputs.cpus !== undefined) host.NanoCpus = Math.round(Number(inputs.cpus) * 1e9);
  if (inputs.readOnly !== undefined) host.ReadonlyRootfs = inputs.readOnly;
  if (inputs.tmpfs) host.Tmpfs = inputs.tmpfs;
  const caps = inputs.capabilities as Record<string, unknown> | undefined;
  if (caps) {
    only("capabilities", caps, ["adds", "drops"]);
    if (caps.adds) host.CapAdd = caps.adds;
    if (caps.drops) host.CapDrop = caps.drops;
  }
  if (inputs.securityOpts) host.SecurityOpt = inputs.securityOpts;
  if (inputs.logDriver || inputs.logOpts)
    host.LogConfig = { Type: inputs.logDriver ?? "json-file", Config: inputs.logOpts ?? {} };
  if (inputs.networkMode) host.NetworkMode = inputs.networkMode;
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
  /** Every step taken, in order. */
  readonly events: StepEvent[] = [];
  /** Resolves images by tag, for `RemoteImage`/`Image` outputs such as `repoDigest`. */
  constructor(private readonly opts: { readonly log?: (line: string) => void } = {}) {}

  /** The outputs of a created resource (container name, assigned ports, ...). */
  outputs(name: string): Record<string, unknown> {
    const l = this.live.get(name);
    if (!l) throw new Error(`replayer: no live resource ${name}`);
    return l.outputs;
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
   * Applies one render as the engine would: every resource starts as soon as the resources it
   * depends on (explicitly or through its inputs) are done, so independent instances roll in
   * parallel; replaced and removed resources are deleted at the end. On a failed step the
   * resources that depend on it are not touched, the others finish, nothing is deleted, and the
   * first error is thrown (as the engine leaves a failed update).
   */
  async apply(render: Render): Promise<void> {
    const custom = render.resources.filter((r) => r.custom);
    const wanted = new Set(custom.map((r) => r.name));
    const pendingDeletes: Live[] = [];
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
          const old = await this.step(r);
          if (old) pendingDeletes.push(old);
        }),
      );
    }
    const results = await Promise.allSettled([...steps.values()]);
    const failed = results.find((x): x is PromiseRejectedResult => x.status === "rejected");
    if (failed) throw failed.reason;
    const removed = [...this.live.values()].filter((l) => !wanted.has(l.resource.name)).reverse();
    for (const l of [...pendingDeletes.reverse(), ...removed]) {
      if (!wanted.has(l.resource.name)) this.live.delete(l.resource.name);
      if (l.resource.options.retainOnDelete) {
        this.event("forget", l.resource);
        continue;
      }
      await this.destroy(l);
      this.event("delete", l.resource);
    }
  }

  /** One resource's step; returns the old resource when it was replaced create-first. */
  private async step(r: RenderedResource): Promise<Live | undefined> {
    const inputs = this.resolve(r.inputs) as Record<string, unknown>;
    const old = this.live.get(r.name);
    const replaceAnyway = this.tainted.delete(r.name);
    if (old && !replaceAnyway && canonical(old.inputs) === canonical(inputs)) {
      this.event("same", r);
      return undefined;
    }
    if (!old) {
      this.live.set(r.name, { resource: r, inputs, outputs: await this.create(r, inputs) });
      this.event("create", r);
      return undefined;
    }
    if (
      !replaceAnyway &&
      r.type === "command:local:Command" &&
      canonical(old.inputs.triggers) === canonical(inputs.triggers)
    ) {
      const outputs = await this.runCommand(r, inputs, (inputs.update ?? inputs.create) as string | undefined).catch(
        (e: unknown) => {
          this.event("failed", r, (e as Error).message.split("\n")[0]);
          throw new ReplayError(`${r.name}: ${(e as Error).message}`, r.name);
        },
      );
      this.live.set(r.name, { resource: r, inputs, outputs });
      this.event("update", r);
      return undefined;
    }
    if (r.type === "docker:index/volume:Volume") {
      throw new Error(`replayer: volume ${r.name} would be replaced; a data volume must never change`);
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
    this.live.set(r.name, { resource: r, inputs, outputs: await this.create(r, inputs) });
    this.event("replace", r);
    return dbr ? undefined : old;
  }

  private async create(r: RenderedResource, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    try {
      switch (r.type) {
        case "docker:index/volume:Volume":
          return await this.createVolume(r, inputs);
        case "docker:index/container:Container":
          return await this.createContainer(r, inputs);
        case "docker:index/remoteImage:RemoteImage":
          only(`image ${r.name}`, inputs, [
            "name",
            "keepLocally",
            "pullTriggers",
            "platform",
            "forceRemove",
            "triggers",
          ]);
          return await this.useImage(r, inputs);
        case "docker:index/image:Image":
          return await this.useImage(r, inputs);
        case "command:local:Command":
          return await this.runCommand(r, inputs, inputs.create as string | undefined);
        case "random:index/randomPassword:RandomPassword":
          only(`random password ${r.name}`, inputs, [
            "length",
            "special",
            "overrideSpecial",
            "upper",
            "lower",
            "numeric",
            "minUpper",
            "minLower",
            "minNumeric",
            "minSpecial",
            "keepers",
          ]);
          return {
            result: randomBytes(32)
              .toString("base64url")
              .slice(0, (inputs.length as number | undefined) ?? 32),
          };
        default:
          throw new Error(`replayer: resource type ${r.type} is not supported`);
      }
    } catch (e) {
      this.event("failed", r, (e as Error).message.split("\n")[0]);
      throw e instanceof ReplayError ? e : new ReplayError(`${r.name}: ${(e as Error).message}`, r.name);
    }
  }

  private async createVolume(r: RenderedResource, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    only(`volume ${r.name}`, inputs, ["name", "labels", "driver", "driverOpts"]);
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

  private async useImage(r: RenderedResource, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    // No registry is reachable: every image the render names must already exist locally (the
    // tier builds them with the real app/Dockerfile). A registry digest maps to the image ID.
    const ref = (inputs.name ?? inputs.imageName) as string;
    const id = await docker(["image", "inspect", "--format", "{{.Id}}", ref]).catch(() => {
      throw new Error(`replayer: image ${ref} for ${r.name} does not exist locally; build it first`);
    });
    return { name: ref, imageName: ref, repoDigest: id, imageId: id };
  }

  private async createContainer(
    r: RenderedResource,
    inputs: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    // Pulumi auto-names a resource as `<logical name>-<7 random hex>`.
    const name = (inputs.name as string | undefined) ?? `${r.name}-${randomBytes(4).toString("hex").slice(0, 7)}`;
    await engineApi("POST", `/containers/create?name=${encodeURIComponent(name)}`, containerCreateBody(name, inputs));
    for (const u of (inputs.uploads as Record<string, unknown>[] | undefined) ?? []) {
      only("uploads[]", u, ["file", "content", "executable"]);
      const tmp = await mkdtemp(join(tmpdir(), "replay-upload-"));
      const local = join(tmp, basename(u.file as string));
      await writeFile(local, u.content as string, { mode: u.executable === true ? 0o755 : 0o644 });
      await docker(["cp", local, `${name}:${u.file as string}`]);
      await rm(tmp, { recursive: true, force: true });
    }
    if (inputs.start !== false) await docker(["start", name]);
    if (inputs.wait === true) await this.waitHealthy(name, (inputs.waitTimeout as number | undefined) ?? 60);
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

  private async runCommand(
    r: RenderedResource,
    inputs: Record<string, unknown>,
    script: string | undefined,
  ): Promise<Record<string, unknown>> {
    only(`command ${r.name}`, inputs, [
      "create",
      "update",
      "delete",
      "environment",
      "stdin",
      "triggers",
      "interpreter",
      "dir",
      "logging",
      "addPreviousOutputInEnv",
    ]);
    if (script === undefined) return { stdout: "", stderr: "" };
    const [program = "/bin/sh", ...flags] = (inputs.interpreter as string[] | undefined) ?? ["/bin/sh", "-c"];
    const stdout = await shell(
      program,
      [...flags, script],
      (inputs.environment as Record<string, string> | undefined) ?? {},
      inputs.stdin as string | undefined,
    );
    return { stdout };
  }

  private async destroy(l: Live): Promise<void> {
    const { resource: r, outputs, inputs } = l;
    switch (r.type) {
      case "docker:index/container:Container":
        await docker(["rm", "--force", "--volumes", outputs.name as string]);
        return;
      case "docker:index/volume:Volume":
        await docker(["volume", "rm", outputs.name as string]);
        return;
      case "command:local:Command":
        await this.runCommand(r, inputs, inputs.delete as string | undefined);
        return;
      default:
        return;
    }
  }
}
