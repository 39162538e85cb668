/**
 * Inputs in the form the docker provider reads back.
 *
 * Every `pulumi up` after the first diffs the program's inputs against what the provider's Read
 * stored (kreuzwerker/terraform-provider-docker v4.5, wrapped by pulumi-docker 5.2:
 * `internal/provider/resource_docker_container_funcs.go` resourceDockerContainerRead). A value
 * that reads back in another form is a diff, and with `replaceOnChanges: ["*"]` a replacement.
 * Instance files keep their friendly forms (`60s`, `cpus: 1`); the program sends these.
 * Pure functions, no Pulumi.
 */

/** Log rotation of every fleet container. */
export const LOG_OPTS = { "max-size": "10m", "max-file": "3" };

/**
 * Inputs whose read-back the program cannot predict. `logOpts`: moby merges the daemon's default
 * log options (daemon.json `log-opts`) into a container whose driver is the daemon's default
 * (daemon/logs.go mergeAndVerifyLogConfig), and the provider's Read stores the merged map
 * (resource_docker_container_funcs.go containerLogOptsForState); the Engine API does not show
 * the daemon's options, so the program cannot send them. They are constants here, so ignoring
 * their changes loses nothing a user sets.
 */
export const IGNORE_CHANGES = ["logOpts"];

const NS = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };
const SECOND = NS.s;

/** Nanoseconds in a duration such as `10s`, `1500ms`, `1m30s` (Go's `time.ParseDuration` units). */
export function durationNanos(text: string): bigint {
  let rest = text;
  let total = 0n;
  if (rest === "" || rest === "0") return 0n;
  while (rest.length > 0) {
    const m = /^(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (use a number and a unit: ms, s, m or h)`);
    const unit = NS[(m[3] === "µs" ? "us" : m[3]) as keyof typeof NS];
    const frac = m[2] ?? "";
    total += BigInt(m[1]!) * unit + (BigInt(frac || "0") * unit) / 10n ** BigInt(frac.length);
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** `v / 10^prec` as Go's `fmtFrac` prints its fraction: trailing zeros dropped, no dot when zero. */
function frac(v: bigint, prec: number): [string, bigint] {
  let digits = "";
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print = print || digit !== 0n;
    if (print) digits = `${digit}${digits}`;
    v /= 10n;
  }
  return [print ? `.${digits}` : "", v];
}

/**
 * A duration as Go's `time.Duration.String()` prints it, which is how the provider's Read stores
 * healthcheck durations (`Config.Healthcheck.Interval.String()`): `60s` -> `1m0s`,
 * `1500ms` -> `1.5s`, `500ms` -> `500ms`, `1h` -> `1h0m0s`.
 */
export function goDuration(text: string): string {
  const d = durationNanos(text);
  if (d === 0n) return "0s";
  if (d < SECOND) {
    const [unit, prec] = d < NS.us ? ["ns", 0] : d < NS.ms ? ["µs", 3] : ["ms", 6];
    const [fraction, whole] = frac(d, prec as number);
    return `${whole}${fraction}${unit}`;
  }
  const [fraction, seconds] = frac(d, 9);
  const s = `${seconds % 60n}${fraction}s`;
  const minutes = seconds / 60n;
  if (minutes === 0n) return s;
  const m = `${minutes % 60n}m${s}`;
  const hours = minutes / 60n;
  return hours === 0n ? m : `${hours}h${m}`;
}

/**
 * A duration as the provider's Read stores a swarm service's durations (healthcheck, update and
 * rollback config, restart policy, stop grace period): Go's `Duration.String()` with a trailing
 * `m0s` and then `h0m` cut (`shortDur` in internal/provider/resource_docker_service_structures.go):
 * `60s` -> `1m`, `90s` -> `1m30s`, `1h` -> `1h`, `2s` -> `2s`.
 */
export function shortDuration(text: string): string {
  let s = goDuration(text);
  if (s.endsWith("m0s")) s = s.slice(0, -2);
  if (s.endsWith("h0m")) s = s.slice(0, -2);
  return s;
}

/** `nano / 1e9` with `digits` decimals, rounded half away from zero (Go's `big.Rat.FloatString`). */
function floatString(nano: bigint, digits: number): string {
  const scale = 10n ** BigInt(9 - digits);
  const scaled = (nano + scale / 2n) / scale;
  if (digits === 0) return String(scaled);
  const unit = 10n ** BigInt(digits);
  return `${scaled / unit}.${String(scaled % unit).padStart(digits, "0")}`;
}

/**
 * The provider's `nanoInt64ToDecimalString` (`internal/provider/helpers.go`), which Read uses for
 * `cpus`: nine decimals; exactly nine "0" characters in that text means a round value, printed
 * with one decimal; otherwise trailing zeros are trimmed. Faithful to its quirks: 10 CPUs read
 * back as `10.` (ten zeros, so the trim path) and 0.05 as `0.1` (nine zeros, so the one-decimal
 * path rounds).
 */
export function nanoCpusToDecimalString(nano: bigint): string {
  if (nano === 0n) return "0";
  const nine = floatString(nano, 9);
  if ([...nine].filter((c) => c === "0").length === 9) return floatString(nano, 1);
  return nine.replace(/0+$/, "");
}

/** Docker's `opts.ParseCPUs`: a decimal number of CPUs in nano-CPUs; more than nine decimals is refused. */
export function parseCpus(text: string): bigint {
  const m = /^(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) throw new Error(`not a number of CPUs: ${JSON.stringify(text)}`);
  const decimals = (m[2] ?? "").replace(/0+$/, "");
  if (decimals.length > 9) throw new Error(`${text} CPUs is too precise (at most 9 decimals)`);
  return BigInt(m[1]!) * SECOND + BigInt(decimals.padEnd(9, "0"));
}

/**
 * The `cpus` string to send: the one the provider reads back (1 -> `1.0`, 0.5 -> `0.5`). Throws
 * for a value the provider cannot keep: one whose read-back text parses to another limit
 * (0.05 reads back as `0.1`, 0.01 as `0.0`), which would replace the container on every `up`.
 */
export function cpusString(cpus: number): string {
  // A JS number's shortest decimal form is the text a user wrote (0.5, 1.25).
  const nano = parseCpus(String(cpus));
  const text = nanoCpusToDecimalString(nano);
  if (parseCpus(text) !== nano) {
    throw new Error(
      `${cpus} CPUs cannot be kept by the docker provider: it reads back as ${text}, so every up would replace the container; use ${text === "0.0" ? "0.1" : text} or a value with two decimals such as 0.25`,
    );
  }
  return text;
}

/** The memory inputs for a limit in MB. */
export interface MemoryInputs {
  /** The limit in MB. */
  readonly memory: number;
  /** memory + swap in MB: equal to `memory`, i.e. no swap. */
  readonly memorySwap: number;
}

/**
 * `memory` with an explicit `memorySwap`. Unset, moby stores `MemorySwap = 2 x Memory`
 * (daemon/daemon_unix.go adaptContainerSettings) and Read writes it back into `memory_swap`,
 * which is Optional and not Computed in the schema: a diff on every `up`. Equal to `memory`
 * means no swap: the limit is what the instance file says, and an instance that exceeds it is
 * OOM-killed and restarted rather than slowed by swapping. On a host without swap accounting
 * moby stores -1 instead (verifyPlatformContainerResources); the docker tier's drift check and
 * the e2e job's `preview --expect-no-changes` would show that.
 */
export function memoryInputs(megabytes: number): MemoryInputs {
  return { memory: megabytes, memorySwap: megabytes };
}
