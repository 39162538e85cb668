/**
 * Docker-tier helpers: engine detection, image builds with the real app/Dockerfile, rendering
 * through `npm run render`, HTTP against the proxy, and clean-up of exactly what the tier made.
 */
import { execFile, execFileSync } from "node:child_process";
import { cp, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
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

/** Builds an image with the real app/Dockerfile (context may be a modified copy of app/). */
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
  const ids = await docker(["ps", "-aq", "--filter", `label=fleet.stack=${stack}`]);
  if (ids) await docker(["rm", "--force", "--volumes", ...ids.split("\n")]);
  const vols = await docker(["volume", "ls", "-q", "--filter", `label=fleet.stack=${stack}`]);
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
