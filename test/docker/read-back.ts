/**
 * The drift check: what the docker provider's Read would store for a container or a volume, in
 * Pulumi input names, and the inputs that read back differently from what the program planned.
 * A difference is a diff on the next `pulumi up` (with `replaceOnChanges: ["*"]`, a replacement).
 *
 * It mirrors kreuzwerker/terraform-provider-docker v4.5 (wrapped by pulumi-docker 5.2) field by
 * field, not today's inputs: every attribute resourceDockerContainerRead
 * (`internal/provider/resource_docker_container_funcs.go`) sets is read here from the same
 * Engine API field, and compared the way the Terraform SDK diffs that attribute's schema
 * (`internal/provider/resource_docker_container.go`): an unset Optional+Computed attribute takes
 * whatever was read, an unset Optional one is its Default (or the type's zero value), sets and
 * maps ignore order, and an empty list, set or map equals an unset one. Inputs Read never sets
 * (envs, labels, volumes, uploads, ...) keep the planned value and cannot drift.
 */
import { goDuration, nanoCpusToDecimalString } from "../../components/provider-forms";

/** The parts of `GET /containers/{id}/json` that Read uses. */
export interface ContainerInspect {
  readonly Name: string;
  readonly Image: string;
  readonly Platform?: string;
  readonly State: { readonly Running: boolean };
  readonly Config: {
    readonly Image: string;
    readonly Hostname?: string;
    readonly Domainname?: string;
    readonly Cmd?: string[] | null;
    readonly Entrypoint?: string[] | null;
    readonly User?: string;
    readonly WorkingDir?: string;
    readonly Tty?: boolean;
    readonly OpenStdin?: boolean;
    readonly StopSignal?: string;
    readonly StopTimeout?: number | null;
    readonly Healthcheck?: {
      readonly Test?: string[] | null;
      readonly Interval?: number;
      readonly Timeout?: number;
      readonly StartPeriod?: number;
      readonly StartInterval?: number;
      readonly Retries?: number;
    } | null;
  };
  readonly HostConfig: Record<string, unknown> & {
    readonly RestartPolicy?: { readonly Name?: string; readonly MaximumRetryCount?: number };
    readonly LogConfig?: { readonly Type?: string; readonly Config?: Record<string, string> | null };
    readonly Mounts?: { Type: string; Source?: string; Target: string; ReadOnly?: boolean }[] | null;
  };
  readonly NetworkSettings?: {
    readonly Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
  } | null;
}

/** The parts of `GET /volumes/{name}` that resourceDockerVolumeRead uses. */
export interface VolumeInspect {
  readonly Name: string;
  readonly Driver: string;
  readonly Labels?: Record<string, string> | null;
  readonly Options?: Record<string, string> | null;
}

/** One input that reads back differently. */
export interface Drift {
  readonly input: string;
  readonly planned: unknown;
  readonly readBack: unknown;
}

/** Read did not set the attribute this time: the state keeps the planned value. */
const KEEP = Symbol("keep");
type Read<T> = (c: T, planned: Record<string, unknown>) => unknown;

/** How the SDK diffs one attribute: its schema kind, Computed, Default, DiffSuppressFunc. */
interface Field<T> {
  readonly kind: "scalar" | "list" | "set" | "map" | "block";
  readonly read: Read<T>;
  /** Optional+Computed: unset in the program, whatever Read stored is no diff. */
  readonly computed?: boolean;
  /** The schema's Default; else the type's zero value. */
  readonly default?: unknown;
  /** DiffSuppressFunc "treat an empty new value as the old one" (user, working_dir). */
  readonly emptyKeepsOld?: boolean;
  /** For blocks: the planned value with the sub-attributes' defaults filled in. */
  readonly normalize?: (planned: unknown) => unknown;
}

/** Go's `time.Duration.String()` of nanoseconds, as Read stores healthcheck durations. */
const goDurationOfNanos = (ns: number | undefined): string => goDuration(`${ns ?? 0}ns`);

const mb = (bytes: unknown) => Math.trunc(Number(bytes ?? 0) / 1024 / 1024);
const host = (c: ContainerInspect, key: string) => c.HostConfig[key];
const sortedKeys = (v: unknown): unknown =>
  v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, x]) => [k, sortedKeys(x)]),
      )
    : Array.isArray(v)
      ? v.map(sortedKeys)
      : v;
const text = (v: unknown) => JSON.stringify(sortedKeys(v));
const asSet = (v: unknown) => ((v as unknown[] | null | undefined) ?? []).map(text).sort();

/** flattenContainerPorts (resource_docker_container_structures.go): one entry per binding, by port. */
function flattenPorts(c: ContainerInspect): unknown[] {
  const ports = c.NetworkSettings?.Ports ?? {};
  const keys = Object.keys(ports).sort((a, b) => Number(a.split("/")[0]) - Number(b.split("/")[0]));
  return keys.flatMap((key) =>
    (ports[key] ?? []).map((b) => ({
      internal: Number(key.split("/")[0]),
      external: Number(b.HostPort) || 0,
      ip: b.HostIp,
      protocol: key.split("/")[1],
    })),
  );
}

/**
 * Every attribute resourceDockerContainerRead sets, by Pulumi input name, with its schema
 * (resource_docker_container.go) and the Engine API field it is read from.
 */
export const CONTAINER_READ: Readonly<Record<string, Field<ContainerInspect>>> = {
  name: { kind: "scalar", read: (c) => c.Name.replace(/^\/+/, "") },
  rm: { kind: "scalar", default: false, read: (c) => host(c, "AutoRemove") ?? false },
  readOnly: { kind: "scalar", default: false, read: (c) => host(c, "ReadonlyRootfs") ?? false },
  // An image given as `sha256:...` reads back as the container's image ID, else as Config.Image.
  image: {
    kind: "scalar",
    read: (c, p) => (String(p.image ?? "").startsWith("sha256:") ? c.Image : c.Config.Image),
  },
  hostname: { kind: "scalar", computed: true, read: (c) => c.Config.Hostname ?? "" },
  domainname: { kind: "scalar", read: (c) => c.Config.Domainname ?? "" },
  command: { kind: "list", computed: true, read: (c) => c.Config.Cmd ?? [] },
  entrypoints: { kind: "list", computed: true, read: (c) => c.Config.Entrypoint ?? [] },
  user: { kind: "scalar", emptyKeepsOld: true, read: (c) => c.Config.User ?? "" },
  dns: { kind: "set", read: (c) => host(c, "Dns") ?? [] },
  dnsOpts: { kind: "set", read: (c) => host(c, "DnsOptions") ?? [] },
  securityOpts: { kind: "set", computed: true, read: (c) => host(c, "SecurityOpt") ?? [] },
  dnsSearches: { kind: "set", read: (c) => host(c, "DnsSearch") ?? [] },
  publishAllPorts: { kind: "scalar", read: (c) => host(c, "PublishAllPorts") ?? false },
  restart: { kind: "scalar", default: "no", read: (c) => c.HostConfig.RestartPolicy?.Name ?? "" },
  maxRetryCount: { kind: "scalar", read: (c) => c.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0 },
  init: { kind: "scalar", computed: true, read: (c) => host(c, "Init") ?? false },
  workingDir: { kind: "scalar", emptyKeepsOld: true, read: (c) => c.Config.WorkingDir ?? "" },
  // Set only when the container has capabilities; a nested set each.
  capabilities: {
    kind: "block",
    read: (c) => {
      const adds = (host(c, "CapAdd") as string[] | null) ?? [];
      const drops = (host(c, "CapDrop") as string[] | null) ?? [];
      return adds.length > 0 || drops.length > 0 ? { adds: [...adds].sort(), drops: [...drops].sort() } : KEEP;
    },
    normalize: (p) => {
      const caps = p as { adds?: string[]; drops?: string[] } | undefined;
      return caps ? { adds: [...(caps.adds ?? [])].sort(), drops: [...(caps.drops ?? [])].sort() } : undefined;
    },
  },
  runtime: { kind: "scalar", computed: true, read: (c) => host(c, "Runtime") ?? "" },
  platform: { kind: "scalar", computed: true, read: (c) => c.Platform ?? "" },
  // getDockerContainerMounts: HostConfig.Mounts (binds from `volumes` are not among them).
  mounts: {
    kind: "set",
    read: (c) =>
      (c.HostConfig.Mounts ?? []).map((m) => ({
        target: m.Target,
        source: m.Source ?? "",
        type: m.Type,
        readOnly: m.ReadOnly ?? false,
      })),
    normalize: (p) =>
      ((p as Record<string, unknown>[] | undefined) ?? []).map((m) => ({
        target: m.target,
        source: m.source ?? "",
        type: m.type,
        readOnly: m.readOnly ?? false,
      })),
  },
  tmpfs: { kind: "map", read: (c) => host(c, "Tmpfs") ?? {} },
  privileged: { kind: "scalar", read: (c) => host(c, "Privileged") ?? false },
  memory: { kind: "scalar", read: (c) => mb(host(c, "Memory")) },
  memoryReservation: { kind: "scalar", default: 0, read: (c) => mb(host(c, "MemoryReservation")) },
  memorySwap: {
    kind: "scalar",
    read: (c) => {
      const swap = Number(host(c, "MemorySwap") ?? 0);
      return swap > 0 ? mb(swap) : swap;
    },
  },
  shmSize: { kind: "scalar", computed: true, read: (c) => mb(host(c, "ShmSize")) },
  // helpers.go nanoInt64ToDecimalString; not set at all when the container has no CPU limit.
  cpus: {
    kind: "scalar",
    read: (c) => {
      const nano = Number(host(c, "NanoCpus") ?? 0);
      return nano > 0 ? nanoCpusToDecimalString(BigInt(nano)) : KEEP;
    },
  },
  cpuShares: { kind: "scalar", read: (c) => host(c, "CpuShares") ?? 0 },
  cpuSet: { kind: "scalar", read: (c) => host(c, "CpusetCpus") ?? "" },
  logDriver: { kind: "scalar", computed: true, read: (c) => c.HostConfig.LogConfig?.Type ?? "" },
  // containerLogOptsForState: the engine's (merged) options when the program set log_opts.
  logOpts: {
    kind: "map",
    read: (c, p) => (p.logOpts !== undefined ? (c.HostConfig.LogConfig?.Config ?? {}) : {}),
  },
  storageOpts: { kind: "map", read: (c) => host(c, "StorageOpt") ?? {} },
  networkMode: { kind: "scalar", default: "bridge", read: (c) => host(c, "NetworkMode") ?? "" },
  pidMode: { kind: "scalar", read: (c, p) => (p.pidMode !== undefined ? (host(c, "PidMode") ?? "") : KEEP) },
  usernsMode: { kind: "scalar", read: (c) => host(c, "UsernsMode") ?? "" },
  healthcheck: {
    kind: "block",
    computed: true,
    read: (c) => {
      const hc = c.Config.Healthcheck;
      if (!hc) return KEEP;
      return {
        tests: hc.Test ?? [],
        interval: goDurationOfNanos(hc.Interval),
        timeout: goDurationOfNanos(hc.Timeout),
        startPeriod: goDurationOfNanos(hc.StartPeriod),
        startInterval: goDurationOfNanos(hc.StartInterval),
        retries: hc.Retries ?? 0,
      };
    },
    // Sub-attribute defaults (schema): durations "0s", retries 0.
    normalize: (p) => {
      const hc = p as Record<string, unknown> | undefined;
      if (!hc) return undefined;
      return {
        tests: hc.tests ?? [],
        interval: hc.interval ?? "0s",
        timeout: hc.timeout ?? "0s",
        startPeriod: hc.startPeriod ?? "0s",
        startInterval: hc.startInterval ?? "0s",
        retries: hc.retries ?? 0,
      };
    },
  },
  sysctls: { kind: "map", read: (c) => host(c, "Sysctls") ?? {} },
  ipcMode: { kind: "scalar", computed: true, read: (c) => host(c, "IpcMode") ?? "" },
  groupAdds: { kind: "set", read: (c) => host(c, "GroupAdd") ?? [] },
  tty: { kind: "scalar", default: false, read: (c) => c.Config.Tty ?? false },
  stdinOpen: { kind: "scalar", default: false, read: (c) => c.Config.OpenStdin ?? false },
  stopSignal: { kind: "scalar", computed: true, read: (c) => c.Config.StopSignal ?? "" },
  stopTimeout: { kind: "scalar", computed: true, read: (c) => c.Config.StopTimeout ?? 0 },
  // Read when the program set ports and the container runs or must run; `external` is Computed.
  // A stopped container has no port bindings: [] (terraform-provider-docker#77).
  ports: {
    kind: "block",
    read: (c, p) => (p.ports !== undefined && (c.State.Running || p.mustRun !== false) ? flattenPorts(c) : KEEP),
    normalize: (p) =>
      ((p as Record<string, unknown>[] | undefined) ?? []).map((port) => ({
        internal: port.internal,
        external: port.external ?? "(computed)",
        ip: port.ip || "0.0.0.0",
        protocol: port.protocol ?? "tcp",
      })),
  },
  // A stopped container with must_run (default true) reads back must_run = false.
  mustRun: { kind: "scalar", default: true, read: (c, p) => (!c.State.Running && p.mustRun !== false ? false : KEEP) },
};

/**
 * Container inputs Read never sets (the state keeps what the program sent), or sets only when
 * the program did not (networks_advanced, for import), and why: one line each, so the schema
 * test can prove that every input the replayer accepts is classified.
 */
export const CONTAINER_NOT_READ: Readonly<Record<string, string>> = {
  envs: "not read: taken over from the image, hard to compare (Read comment, terraform-provider-docker#242)",
  labels: "not read, as envs",
  volumes: "not read (`// volumes` in Read)",
  uploads: "not read (`upload can't be imported`)",
  wait: "provider-side behaviour, not a container setting",
  waitTimeout: "provider-side behaviour",
  start: "not read (`start can't be imported`)",
  destroyGraceSeconds: "not read (`destroy_grace_seconds can't be imported`)",
  networksAdvanced: "set by Read only when empty (import)",
  ulimits: "read only when set; not used by fleet",
  devices: "read only when set; not used by fleet",
};

/** The planned value as the SDK diffs it: unset becomes the Default or the zero value. */
function plannedFor<T>(field: Field<T>, planned: unknown, readBack: unknown): unknown | typeof KEEP {
  if (planned === undefined && field.computed) return KEEP;
  if (field.normalize) return field.normalize(planned);
  if (planned !== undefined) return planned;
  if (field.default !== undefined) return field.default;
  if (field.kind === "list" || field.kind === "set") return [];
  if (field.kind === "map") return {};
  return typeof readBack === "string" ? "" : typeof readBack === "number" ? 0 : false;
}

function same<T>(field: Field<T>, planned: unknown, readBack: unknown): boolean {
  if (field.emptyKeepsOld && planned === "") return true;
  if (field.kind === "set") return text(asSet(planned)) === text(asSet(readBack));
  if (field.kind === "list") return text(planned ?? []) === text(readBack ?? []);
  if (field.kind === "map") return text(planned ?? {}) === text(readBack ?? {});
  if (Array.isArray(planned) && Array.isArray(readBack)) {
    // Ports: a planned `external` that is Computed matches any assigned port.
    return (
      planned.length === readBack.length &&
      planned.every((p, i) => {
        const r = readBack[i] as Record<string, unknown>;
        const q = p as Record<string, unknown>;
        return text({ ...q, external: q.external === "(computed)" ? r.external : q.external }) === text(r);
      })
    );
  }
  return text(planned) === text(readBack);
}

/** Is `input` covered by an `ignoreChanges` path (`logOpts`, `healthcheck.interval`, `ports[0]`)? */
function ignored(input: string, ignoreChanges: readonly string[]): boolean {
  return ignoreChanges.some((path) => path === input || path.startsWith(`${input}.`) || path.startsWith(`${input}[`));
}

function driftOf<T>(
  fields: Readonly<Record<string, Field<T>>>,
  inspect: T,
  planned: Record<string, unknown>,
  ignoreChanges: readonly string[],
): Drift[] {
  const drifts: Drift[] = [];
  for (const [input, field] of Object.entries(fields)) {
    if (ignored(input, ignoreChanges)) continue;
    const readBack = field.read(inspect, planned);
    if (readBack === KEEP) continue;
    const want = plannedFor(field, planned[input], readBack);
    if (want === KEEP) continue;
    if (!same(field, want, readBack)) drifts.push({ input, planned: planned[input], readBack });
  }
  return drifts;
}

/**
 * The container inputs that read back differently from `planned` (the resolved inputs, with the
 * provider-assigned name). `ignoreChanges` paths are skipped, as the engine skips them.
 */
export function containerDrift(
  inspect: ContainerInspect,
  planned: Record<string, unknown>,
  ignoreChanges: readonly string[] = [],
): Drift[] {
  return driftOf(CONTAINER_READ, inspect, planned, ignoreChanges);
}

/** resourceDockerVolumeRead (resource_docker_volume.go): name, labels (a set), driver (Computed), driver_opts. */
export const VOLUME_READ: Readonly<Record<string, Field<VolumeInspect>>> = {
  name: { kind: "scalar", computed: true, read: (v) => v.Name },
  labels: {
    kind: "set",
    read: (v) => Object.entries(v.Labels ?? {}).map(([label, value]) => ({ label, value })),
  },
  driver: { kind: "scalar", computed: true, read: (v) => v.Driver },
  driverOpts: { kind: "map", read: (v) => v.Options ?? {} },
};

/** The volume inputs that read back differently from `planned`. */
export function volumeDrift(
  inspect: VolumeInspect,
  planned: Record<string, unknown>,
  ignoreChanges: readonly string[] = [],
): Drift[] {
  return driftOf(VOLUME_READ, inspect, planned, ignoreChanges);
}

/** One line per drifted input, for an error message. */
export function describeDrift(resource: string, drifts: readonly Drift[]): string[] {
  return drifts.map(
    (d) => `${resource}.${d.input}: the program sends ${text(d.planned)}, Read stores ${text(d.readBack)}`,
  );
}
