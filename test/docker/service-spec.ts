/**
 * The replayer's Swarm half: docker.Service inputs into the Engine API's ServiceSpec, one for one
 * (as the provider's createServiceSpec does in kreuzwerker/terraform-provider-docker
 * `internal/provider/resource_docker_service_structures.go`), and a service read back the way the
 * provider's Read flattens it (flattenTaskSpec, flattenServiceUpdateOrRollbackConfig,
 * flattenServiceEndpoint, ...), in input names, for the drift check. Durations read back through
 * the provider's `shortDur` (components/provider-forms.ts shortDuration).
 */
import { shortDuration } from "../../components/provider-forms";

type Obj = Record<string, unknown>;
type Label = { label: string; value: string };

/** Go duration text -> nanoseconds (the API's unit). */
function ns(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const units: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]!]!;
  return Math.round(total);
}

/** Nanoseconds -> the provider's read-back form. */
function dur(nanos: number | undefined): string {
  return shortDuration(`${Math.round((nanos ?? 0) / 1e6)}ms`);
}

const labelMap = (labels: unknown) =>
  Object.fromEntries(((labels as Label[] | undefined) ?? []).map((l) => [l.label, l.value]));
const labelSet = (map: Record<string, string> | null | undefined): Label[] =>
  Object.entries(map ?? {})
    .map(([label, value]) => ({ label, value }))
    .sort((a, b) => a.label.localeCompare(b.label));

function updateConfig(c: Obj | undefined): Obj | undefined {
  if (!c) return undefined;
  return {
    Parallelism: c["parallelism"],
    Delay: ns(c["delay"]),
    FailureAction: c["failureAction"],
    Monitor: ns(c["monitor"]),
    MaxFailureRatio: Number(c["maxFailureRatio"] ?? 0),
    Order: c["order"],
  };
}

/** docker.Service inputs (resolved) -> `POST /services/create` body. */
export function serviceSpec(inputs: Obj): Obj {
  const task = inputs["taskSpec"] as Obj;
  const c = task["containerSpec"] as Obj;
  const hc = c["healthcheck"] as Obj | undefined;
  const res = task["resources"] as { limits?: Obj; reservation?: Obj } | undefined;
  const restart = task["restartPolicy"] as Obj | undefined;
  const log = task["logDriver"] as Obj | undefined;
  const endpoint = inputs["endpointSpec"] as Obj | undefined;
  const mode = inputs["mode"] as { replicated?: { replicas?: number } } | undefined;
  return {
    Name: inputs["name"],
    Labels: labelMap(inputs["labels"]),
    TaskTemplate: {
      ContainerSpec: {
        Image: c["image"],
        Labels: labelMap(c["labels"]),
        Command: c["commands"],
        Args: c["args"],
        Env: Object.entries((c["env"] as Record<string, string> | undefined) ?? {}).map(([k, v]) => `${k}=${v}`),
        User: c["user"],
        ReadOnly: c["readOnly"] === true,
        CapabilityDrop: c["capDrops"],
        StopGracePeriod: ns(c["stopGracePeriod"]),
        Healthcheck: hc && {
          Test: hc["tests"],
          Interval: ns(hc["interval"]),
          Timeout: ns(hc["timeout"]),
          StartPeriod: ns(hc["startPeriod"]),
          Retries: hc["retries"],
        },
        Mounts: ((c["mounts"] as Obj[] | undefined) ?? []).map((m) => ({
          Type: m["type"],
          Source: m["source"],
          Target: m["target"],
          ReadOnly: m["readOnly"] === true,
          ...(m["volumeOptions"] ? { VolumeOptions: { Labels: labelMap((m["volumeOptions"] as Obj)["labels"]) } } : {}),
          ...(m["tmpfsOptions"] ? { TmpfsOptions: { SizeBytes: (m["tmpfsOptions"] as Obj)["sizeBytes"] } } : {}),
        })),
        Secrets: ((c["secrets"] as Obj[] | undefined) ?? []).map((s) => ({
          SecretID: s["secretId"],
          SecretName: s["secretName"],
          File: {
            Name: s["fileName"],
            UID: s["fileUid"] ?? "0",
            GID: s["fileGid"] ?? "0",
            Mode: s["fileMode"] ?? 0o444,
          },
        })),
      },
      Resources: res && {
        Limits: res.limits && { NanoCPUs: res.limits["nanoCpus"], MemoryBytes: res.limits["memoryBytes"] },
        Reservations: res.reservation && {
          NanoCPUs: res.reservation["nanoCpus"],
          MemoryBytes: res.reservation["memoryBytes"],
        },
      },
      RestartPolicy: restart && {
        Condition: restart["condition"],
        Delay: ns(restart["delay"]),
        MaxAttempts: restart["maxAttempts"],
        Window: ns(restart["window"]),
      },
      Placement: task["placement"] && { Constraints: (task["placement"] as Obj)["constraints"] },
      LogDriver: log && { Name: log["name"], Options: log["options"] },
    },
    Mode: { Replicated: { Replicas: mode?.replicated?.replicas ?? 1 } },
    UpdateConfig: updateConfig(inputs["updateConfig"] as Obj | undefined),
    RollbackConfig: updateConfig(inputs["rollbackConfig"] as Obj | undefined),
    EndpointSpec: endpoint && {
      Mode: endpoint["mode"] ?? "vip",
      Ports: ((endpoint["ports"] as Obj[] | undefined) ?? []).map((p) => ({
        Name: p["name"],
        Protocol: p["protocol"] ?? "tcp",
        TargetPort: p["targetPort"],
        PublishedPort: p["publishedPort"],
        PublishMode: p["publishMode"] ?? "ingress",
      })),
    },
  };
}

/** The parts of `GET /services/{id}` that Read uses. */
export interface ServiceInspect {
  readonly ID: string;
  readonly Spec: Obj & { Name: string; Labels?: Record<string, string> };
  readonly Endpoint?: { Spec?: { Mode?: string }; Ports?: Obj[] };
  readonly UpdateStatus?: { State?: string; Message?: string } | null;
}

function readUpdate(c: Obj | undefined): Obj | undefined {
  if (!c) return undefined;
  return {
    parallelism: c["Parallelism"] ?? 0,
    delay: dur(c["Delay"] as number | undefined),
    failureAction: c["FailureAction"],
    monitor: dur(c["Monitor"] as number | undefined),
    maxFailureRatio: Number(c["MaxFailureRatio"] ?? 0).toFixed(1),
    order: c["Order"],
  };
}

/**
 * A service as the provider's Read stores it, in input names, limited to what it flattens:
 * labels and env as maps/sets, durations through shortDur, ports from the live Endpoint.
 */
export function readService(inspect: ServiceInspect): Obj {
  const spec = inspect.Spec;
  const task = spec["TaskTemplate"] as Obj;
  const c = task["ContainerSpec"] as Obj;
  const hc = c["Healthcheck"] as Obj | undefined;
  const res = task["Resources"] as { Limits?: Obj; Reservations?: Obj } | undefined;
  const restart = task["RestartPolicy"] as Obj | undefined;
  const log = task["LogDriver"] as Obj | undefined;
  // resourceDockerServiceReadRefreshFunc: the live Endpoint when its mode is set, else the spec's
  // (a service without ports has no live endpoint mode).
  const specEndpoint = spec["EndpointSpec"] as { Mode?: string; Ports?: Obj[] } | undefined;
  const endpoint = inspect.Endpoint?.Spec?.Mode
    ? { mode: inspect.Endpoint.Spec.Mode, ports: inspect.Endpoint.Ports }
    : { mode: specEndpoint?.Mode, ports: specEndpoint?.Ports };
  const env = Object.fromEntries(
    ((c["Env"] as string[] | undefined) ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
  return {
    name: spec.Name,
    labels: labelSet(spec.Labels),
    mode: { replicated: { replicas: ((spec["Mode"] as Obj)["Replicated"] as Obj | undefined)?.["Replicas"] } },
    taskSpec: {
      containerSpec: {
        image: c["Image"],
        ...(c["Args"] ? { args: c["Args"] } : {}),
        ...(c["Command"] ? { commands: c["Command"] } : {}),
        env,
        labels: labelSet(c["Labels"] as Record<string, string> | undefined),
        mounts: ((c["Mounts"] as Obj[] | undefined) ?? []).map((m) => ({
          source: m["Source"],
          target: m["Target"],
          type: m["Type"],
          ...(m["VolumeOptions"]
            ? { volumeOptions: { labels: labelSet((m["VolumeOptions"] as Obj)["Labels"] as Record<string, string>) } }
            : {}),
          ...(m["TmpfsOptions"] ? { tmpfsOptions: { sizeBytes: (m["TmpfsOptions"] as Obj)["SizeBytes"] } } : {}),
        })),
        secrets: ((c["Secrets"] as Obj[] | undefined) ?? []).map((s) => {
          const f = s["File"] as Obj;
          return {
            fileGid: f["GID"],
            fileMode: f["Mode"],
            fileName: f["Name"],
            fileUid: f["UID"],
            secretId: s["SecretID"],
            secretName: s["SecretName"],
          };
        }),
        healthcheck: hc && {
          tests: hc["Test"],
          interval: dur(hc["Interval"] as number | undefined),
          timeout: dur(hc["Timeout"] as number | undefined),
          startPeriod: dur(hc["StartPeriod"] as number | undefined),
          retries: hc["Retries"] ?? 0,
        },
        user: c["User"],
        readOnly: c["ReadOnly"] === true,
        capDrops: c["CapabilityDrop"],
        stopGracePeriod: dur(c["StopGracePeriod"] as number | undefined),
      },
      resources: res && {
        limits: { nanoCpus: res.Limits?.["NanoCPUs"] ?? 0, memoryBytes: res.Limits?.["MemoryBytes"] ?? 0 },
        reservation: {
          nanoCpus: res.Reservations?.["NanoCPUs"] ?? 0,
          memoryBytes: res.Reservations?.["MemoryBytes"] ?? 0,
        },
      },
      restartPolicy: restart && {
        condition: restart["Condition"],
        delay: dur(restart["Delay"] as number | undefined),
        maxAttempts: restart["MaxAttempts"],
        window: dur(restart["Window"] as number | undefined),
      },
      placement: { constraints: ((task["Placement"] as Obj | undefined)?.["Constraints"] as string[]) ?? [] },
      logDriver: log && { name: log["Name"], options: log["Options"] },
    },
    endpointSpec: {
      mode: endpoint.mode,
      ...(endpoint.ports
        ? {
            ports: endpoint.ports.map((p) => ({
              name: p["Name"] ?? "",
              protocol: p["Protocol"],
              publishMode: p["PublishMode"],
              publishedPort: p["PublishedPort"],
              targetPort: p["TargetPort"],
            })),
          }
        : {}),
    },
    updateConfig: readUpdate(spec["UpdateConfig"] as Obj | undefined),
    rollbackConfig: readUpdate(spec["RollbackConfig"] as Obj | undefined),
  };
}

/** Canonical JSON: object keys sorted; lists of objects sorted too where the provider keeps a set. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Obj).sort(([a], [b]) => a.localeCompare(b)))
      : val,
  );
}

/** Sets in the provider's schema (order never matters): labels, mounts, secrets. */
const SETS = new Set(["labels", "mounts", "secrets"]);

/**
 * The planned inputs that read back differently, as `path: planned -> read`. Only inputs the
 * program sets are compared (convergeConfig is not read back: the provider keeps it from the plan).
 */
export function serviceDrift(inspect: ServiceInspect, planned: Obj): string[] {
  const read = readService(inspect);
  const lines: string[] = [];
  const walk = (at: string, want: unknown, got: unknown) => {
    if (want === undefined) return;
    if (want && typeof want === "object" && !Array.isArray(want)) {
      for (const [k, v] of Object.entries(want as Obj)) walk(at ? `${at}.${k}` : k, v, (got as Obj | undefined)?.[k]);
      return;
    }
    const key = at.split(".").at(-1)!;
    const norm = (x: unknown) =>
      Array.isArray(x) && SETS.has(key) ? x.map((i) => canonical(i)).sort() : canonical(x ?? null);
    if (canonical(norm(want)) !== canonical(norm(got))) lines.push(`${at}: ${canonical(want)} -> ${canonical(got)}`);
  };
  walk("", Object.fromEntries(Object.entries(planned).filter(([k]) => k !== "convergeConfig")), read);
  return lines;
}
