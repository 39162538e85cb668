/**
 * The Caddy configuration of the proxy, rendered as plain text (pure; tests compare it exactly).
 *
 * The main Caddyfile holds global options and imports one site file per instance from
 * {@link SITES_DIR}. An instance's route command writes its site file and runs `caddy reload`,
 * a graceful config swap: the proxy is never restarted and other sites are not touched.
 */

/** Where the main Caddyfile is uploaded in the proxy container (the caddy image's default). */
export const MAIN_CADDYFILE = "/etc/caddy/Caddyfile";

/** Directory of the per-instance site files: in the proxy's data volume, so a re-created proxy keeps every route. */
export const SITES_DIR = "/data/sites";

/** Site file of an instance: `/data/sites/<name>.caddy`. */
export function siteFile(instance: string): string {
  return `${SITES_DIR}/${instance}.caddy`;
}

/** The main Caddyfile: admin API on loopback only, then every site file. */
export function mainCaddyfile(args: { readonly adminPort: number }): string {
  return [
    "# Managed by fleet. Global options; each instance's site is a file in " + SITES_DIR + ".",
    "{",
    // No `persist_config off`: Caddy 2.6 (Debian bookworm) rejects it; the autosave is harmless.
    `\tadmin 127.0.0.1:${args.adminPort}`,
    "}",
    "",
    `import ${SITES_DIR}/*.caddy`,
    "",
  ].join("\n");
}

/** What a site block needs. `upstreamPort` is the loopback port Docker assigned to the app container. */
export interface SiteArgs {
  readonly instance: string;
  readonly port: number;
  readonly domain?: string;
  readonly upstreamPort: number | string;
}

/**
 * The site block of one instance: the public port (and the domain, with automatic HTTPS)
 * proxied to the app container's loopback port. `lb_try_duration` retries a failed dial for a
 * few seconds instead of failing the request, which covers the instant of a reload.
 */
export function siteBlock(args: SiteArgs): string {
  const addresses = [`:${args.port}`, ...(args.domain !== undefined ? [args.domain] : [])].join(", ");
  return [
    `# fleet instance ${args.instance}`,
    `${addresses} {`,
    `\treverse_proxy 127.0.0.1:${args.upstreamPort} {`,
    "\t\tlb_try_duration 5s",
    "\t}",
    "}",
    "",
  ].join("\n");
}

const RELOAD = `caddy reload --config ${MAIN_CADDYFILE} --adapter caddyfile --address "127.0.0.1:$2"`;

/**
 * Create/update script of a route command. Reads FLEET_PROXY (proxy container), FLEET_INSTANCE,
 * FLEET_PROXY_ADMIN_PORT and FLEET_SITE_BLOCK from the environment. Writes the site file through
 * a temp file and a rename, reloads, and puts the previous file back when the reload fails.
 */
export const ROUTE_UPSERT_SCRIPT = [
  "set -eu",
  `printf '%s\\n' "$FLEET_SITE_BLOCK" | docker exec -i "$FLEET_PROXY" sh -c '`,
  "set -eu",
  `mkdir -p ${SITES_DIR}`,
  `f="${SITES_DIR}/$1.caddy"`,
  'cat > "$f.new"',
  'if [ -f "$f" ]; then cp "$f" "$f.prev"; fi',
  'mv "$f.new" "$f"',
  `if ! ${RELOAD}; then`,
  '  if [ -f "$f.prev" ]; then mv "$f.prev" "$f"; else rm -f "$f"; fi',
  "  exit 1",
  "fi",
  'rm -f "$f.prev"',
  `' fleet-route "$FLEET_INSTANCE" "$FLEET_PROXY_ADMIN_PORT"`,
  "",
].join("\n");

/** Delete script of a route command: removes the site file and reloads (nothing to do without a proxy). */
export const ROUTE_DELETE_SCRIPT = [
  "set -eu",
  'if docker inspect "$FLEET_PROXY" >/dev/null 2>&1; then',
  `  docker exec -i "$FLEET_PROXY" sh -c 'rm -f "${SITES_DIR}/$1.caddy" && ${RELOAD}' \\`,
  '    fleet-route "$FLEET_INSTANCE" "$FLEET_PROXY_ADMIN_PORT"',
  "fi",
  "",
].join("\n");
