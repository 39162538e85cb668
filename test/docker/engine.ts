/**
 * Docker-tier helpers: engine detection, image builds with the real app/Dockerfile, rendering
 * through `npm run render`, HTTP against the proxy, and clean-up of exactly what the tier made.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { cp, mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { labelFilter } from "../../components/app-contract";
import { docker, type Render } from "./replay";

const run = promisify(execFile);

/** The repository root. */
export const ROOT = resolve(__dirname, "../..");

/** The label every image the tier builds carries, so clean-up touches nothing else. */
export const TIER_LABEL = "fleet.test=docker-tier";

/** Base image for app builds: the local one made by .ci/build-base-image.sh, or the real one on GitHub. */
export const BASE_IMAGE = process.env.FLEET_BASE_IMAGE ?? "fleet-base:bookworm-node24";

/** Proxy image: the local one made by .ci/build-proxy-image.sh, or caddy:2 on GitHub. */
export const PROXY_IMAGE = process.env.FLEET_PROXY_IMAGE ?? "fleet-caddy:local";

/** True when a Docker engine answers (synchronous, so a test file can decide what to run). */
export function engineAvailable(): boolean {
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: 15_000, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a tier file can run: an engine answers. Without one it says so, except in CI, where the
 * tier is required and this throws.
 */
export function tierEngine(): boolean {
  const engine = engineAvailable();
  if (!engine) {
    if (process.env.CI) throw new Error("docker tier: no Docker engine answers, and CI requires this tier to run");
    console.log("skipped: no Docker engine");
  }
  return engine;
}

/** The stack config of a tier fleet: its image repository, the tier's proxy image, an admin port. */
export function tierConfig(repo: string, adminPort: number): Record<string, string> {
  return { "fleet:image": repo, "fleet:proxyImage": PROXY_IMAGE, "fleet:proxyAdminPort": String(adminPort) };
}

/** Prints a phase with its duration since the previous one. */
export function phases(): (name: string) => void {
  const start = Date.now();
  let last = start;
  return (name) => {
    const now = Date.now();
    console.log(`phase ${name}: ${((now - last) / 1000).toFixed(1)}s (total ${((now - start) / 1000).toFixed(1)}s)`);
    last = now;
  };
}

/** A free TCP port on the loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

let registry: Promise<string> | undefined;

/**
 * A registry of this process on the loopback (Debian's docker-registry, distribution 2.8), for
 * the repo digests a real registry gives: the docker provider's RemoteImage `repoDigest` is the
 * image's RepoDigests entry (`<repo>@sha256:<manifest digest>`), which only a push or a pull
 * creates, and "" for an image built locally. Docker allows plain HTTP to 127.0.0.0/8. Stopped,
 * with its storage removed, when the process is gone.
 */
export function localRegistry(): Promise<string> {
  registry ??= (async () => {
    if (!execFileSync("sh", ["-c", "command -v docker-registry || true"], { encoding: "utf8" }).trim())
      throw new Error("docker tier: docker-registry is not installed (apt-get install docker-registry)");
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), "fleet-tier-registry-"));
    const config = join(dir, "config.yml");
    await writeFile(
      config,
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`,
    );
    // A watchdog shell runs the registry and stops it, and removes its storage, once this process
    // is gone: test workers are killed by signal, and "exit" handlers do not run then.
    const watchdog = [
      'docker-registry serve "$1" & r=$!',
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 "$r" 2>/dev/null; do sleep 1; done`,
      'kill "$r" 2>/dev/null; wait "$r"; rm -rf "$2"',
    ].join("; ");
    const child = spawn("sh", ["-c", watchdog, "registry", config, dir], { stdio: "ignore", detached: true });
    child.unref();
    for (let i = 0; i < 100; i++) {
      const up = await fetch(`http://127.0.0.1:${port}/v2/`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) return `127.0.0.1:${port}`;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`docker tier: the local registry did not answer on 127.0.0.1:${port}`);
  })();
  return registry;
}

/**
 * Gives a local image the repo digest a registry gives: pushes it to the local registry, so its
 * RepoDigests holds `127.0.0.1:<port>/<repo>@sha256:<manifest digest>` (one entry, which the
 * provider's determineRepoDigest returns). The registry tag stays: untagging the last tag of a
 * repository also drops its digest reference; clean-up removes images by ID, with every tag.
 */
export async function pushForDigest(tag: string): Promise<string> {
  const remote = `${await localRegistry()}/${tag}`;
  await run("docker", ["tag", tag, remote]);
  await run("docker", ["push", "--quiet", remote], { maxBuffer: 64 * 1024 * 1024 });
  const { stdout } = await run("docker", ["image", "inspect", "--format", "{{json .RepoDigests}}", tag]);
  const digests = JSON.parse(stdout) as string[];
  const repo = remote.slice(0, remote.lastIndexOf(":"));
  const digest = digests.find((d) => d.startsWith(`${repo}@sha256:`));
  if (!digest) throw new Error(`docker tier: ${tag} has no repo digest after the push: ${stdout.trim()}`);
  return digest;
}

/**
 * Builds an image with the real app/Dockerfile (context may be a modified copy of app/), and
 * gives it a repo digest ({@link pushForDigest}), as a release image pulled from a registry has.
 */
export async function buildAppImage(tag: string, context: string, version: string): Promise<void> {
  await run(
    "docker",
    [
      "build",
      "--quiet",
      "--build-arg",
      `NODE_IMAGE=${BASE_IMAGE}`,
      "--build-arg",
      `VERSION=${version}`,
      "--build-arg",
      "REVISION=docker-tier",
      "--build-arg",
      `BUILD_DATE=${new Date().toISOString()}`,
      "--label",
      TIER_LABEL,
      "--tag",
      tag,
      "--file",
      join(context, "Dockerfile"),
      context,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  await pushForDigest(tag);
}

/** Builds the off-site image from app/offsite on `appTag`, as the program's docker.Image does (the replayer builds nothing). */
export async function buildOffsiteImage(appTag: string, tag: string): Promise<void> {
  await run(
    "docker",
    [
      "build",
      "--quiet",
      "--build-arg",
      `APP_IMAGE=${appTag}`,
      "--label",
      TIER_LABEL,
      "--tag",
      tag,
      join(ROOT, "app/offsite"),
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
}

/** A copy of app/ with one extra migration, as the v2 of an upgrade test. */
export async function appWithExtraMigration(name: string, sql: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fleet-tier-app-"));
  await cp(join(ROOT, "app"), dir, {
    recursive: true,
    filter: (src) => !/\/(node_modules|dist|test\/artifacts)(\/|$)/.test(src),
  });
  await writeFile(join(dir, "migrations", name), sql);
  return dir;
}

/** Renders a fleet through the real program, exactly as a user would with `npm run render`. */
export async function render(args: {
  instances: string;
  version: string;
  stack: string;
  config: Record<string, string>;
}): Promise<Render> {
  const flags = [
    "run",
    "--silent",
    "render",
    "--",
    "--json",
    "--show-secrets",
    "--instances",
    args.instances,
    "--version",
    args.version,
    "--stack",
    args.stack,
  ];
  for (const [k, v] of Object.entries(args.config)) flags.push("--config", `${k}=${v}`);
  const { stdout } = await run("npm", flags, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as Render;
}

/** Removes every container and volume of a tier stack, and the tier's images. */
export async function cleanUp(stack: string, imageRepos: string[]): Promise<void> {
  const ids = await docker(["ps", "-aq", ...labelFilter("stack", stack)]);
  if (ids) await docker(["rm", "--force", "--volumes", ...ids.split("\n")]);
  const vols = await docker(["volume", "ls", "-q", ...labelFilter("stack", stack)]);
  if (vols) await docker(["volume", "rm", "--force", ...vols.split("\n")]);
  for (const repo of imageRepos) {
    const imgs = await docker(["images", "-q", "--filter", `label=${TIER_LABEL}`, "--filter", `reference=${repo}`]);
    if (imgs) await docker(["rmi", "--force", ...new Set(imgs.split("\n"))]).catch(() => undefined);
  }
}

/** JSON over HTTP with the admin token. */
export async function api<T>(
  port: number,
  path: string,
  token?: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  if (init.body && typeof init.body === "string") headers.set("content-type", "application/json");
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: body as T };
}

/**
 * The first port of a block of `size` ports in [from, from + span) that no other live process on
 * this host holds, so two runs on one host never share ports: the block is claimed with a lock file
 * in the temporary folder (created exclusively, holding the pid; a lock whose process is gone is
 * taken over) and released when this process exits. The search starts at a random block. Keep the
 * range below 32768, where Linux picks the local ports of outgoing connections. The tier's files
 * use separate ranges: tier.test.ts 19000–19899, routes 11000–12999, daemon restart 13000–13999,
 * bench:roll 14000–17999.
 */
export function portBlock(from: number, span: number, size = 10): number {
  const blocks = Math.floor(span / size);
  const start = Math.floor(Math.random() * blocks);
  for (let k = 0; k < blocks; k++) {
    const first = from + size * ((start + k) % blocks);
    if (claimLock(join(tmpdir(), `fleet-ports-${first}-${size}.lock`))) return first;
  }
  throw new Error(
    `docker tier: every block of ${size} ports in ${from}–${from + span - 1} is held by a live process ` +
      `(lock files ${join(tmpdir(), "fleet-ports-*.lock")}); wait for those runs to end`,
  );
}

/** Creates `file` exclusively with this pid (or takes it over from a process that is gone); false when a live process holds it. */
function claimLock(file: string, retry = true): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    let owner: number;
    try {
      owner = Number(readFileSync(file, "utf8").trim());
    } catch {
      return retry && claimLock(file, false); // released meanwhile
    }
    // An empty file is a lock being written: held.
    if (!retry || !(owner > 0) || processAlive(owner)) return false;
    rmSync(file, { force: true });
    return claimLock(file, false);
  }
  process.once("exit", () => rmSync(file, { force: true }));
  return true;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A temporary instance directory: one file per instance with a one-second healthcheck (as
 * test/docker/fleet; `defaultHealthcheck` keeps the schema's defaults), backups off, every
 * instance in wave 0 unless `wave` says otherwise.
 */
export async function writeFleet(
  instances: readonly { name: string; port: number; wave?: number }[],
  opts: { readonly defaultHealthcheck?: boolean } = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fleet-tier-fleet-"));
  const healthcheck = ["healthcheck:", "  interval: 1s", "  timeout: 3s", "  startPeriod: 10s", "  retries: 3"];
  for (const i of instances) {
    const lines = [
      `title: ${i.name}`,
      `port: ${i.port}`,
      ...(opts.defaultHealthcheck === true ? [] : healthcheck),
      "backup:",
      "  enabled: false",
      "rollout:",
      `  wave: ${i.wave ?? 0}`,
    ];
    await writeFile(join(dir, `${i.name}.yaml`), `${lines.join("\n")}\n`);
  }
  return dir;
}

/**
 * Polls `GET path` on a public port of the proxy until it answers 200, and returns the
 * milliseconds that took; fails after `timeoutMs` with the last answer or error.
 */
export async function answersWithin(port: number, path: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  let last = "nothing yet";
  while (Date.now() - start < timeoutMs) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return Date.now() - start;
      last = `status ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`port ${port}${path} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}
