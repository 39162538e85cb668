/**
 * The Caddy configuration of the proxy and the route scripts, rendered as plain text (pure; tests
 * compare them exactly).
 *
 * The main Caddyfile holds global options and imports one site file per instance from
 * {@link SITES_DIR}. A site proxies to the instance's route, a symlink in {@link ROUTES_DIR} to the
 * unix socket of the instance's current app container (in the sockets volume, {@link SOCKETS_DIR}).
 *
 * Why a socket behind a symlink, and not a port: a port published without a host port gets a new
 * one at every container start (moby#31926), so after a restart, a crash or a reboot the proxy
 * would point at a dead port until the next `pulumi up`. The socket's path is
 * `/sockets/<instance>/<container short id>.sock`, and the short id is also the container's
 * hostname, so the app re-creates the same path at every start. A roll switches the symlink
 * atomically (`rename(2)`): Caddy resolves it at every dial, so a roll needs no reload at all.
 * A reload only happens when a site file changes (an instance is added or removed, its public port
 * or domain changes), and reloads are serialized with `flock`, because `caddy reload` builds the
 * whole config in its own process and two concurrent ones can apply a stale config.
 *
 * The route also retires the containers it no longer points at (see `retire`): app containers
 * are `retainOnDelete`, so the engine never stops one that still serves.
 */

/** Where the main Caddyfile is uploaded in the proxy container (the caddy image's default). */
export const MAIN_CADDYFILE = "/etc/caddy/Caddyfile";

/** Directory of the per-instance site files: in the proxy's data volume, so a re-created proxy keeps every route. */
export const SITES_DIR = "/data/sites";

/** Mount point of the stack's sockets volume, in the proxy and in every app container. */
export const SOCKETS_DIR = "/sockets";

/** Directory of the per-instance route symlinks: in the proxy's data volume, so they survive the proxy. */
export const ROUTES_DIR = "/data/routes";

/** Lock file that serializes site-file changes and reloads (`flock`, in the proxy container). */
export const ROUTES_LOCK = `${SITES_DIR}/.lock`;

/** The directory in which an instance's app containers create their sockets (`APP_SOCKET_DIR`). */
export function socketDir(instance: string): string {
  return `${SOCKETS_DIR}/${instance}`;
}

/** Route symlink of an instance, the upstream of its site: `/data/routes/<name>.sock`. */
export function routeLink(instance: string): string {
  return `${ROUTES_DIR}/${instance}.sock`;
}

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

/** What a site block needs. */
export interface SiteArgs {
  readonly instance: string;
  readonly port: number;
  readonly domain?: string;
}

/**
 * The site block of one instance: the public port (and the domain, with automatic HTTPS)
 * proxied to the instance's route symlink. It does not depend on the app container, so a roll
 * leaves it unchanged.
 *
 * - `keepalive off`: a pooled upstream connection would stay on the old container after the
 *   symlink switched (and be cut when it stops); a new unix-socket connection per request is cheap.
 * - `lb_try_duration`: a failed dial (the app restarting and re-creating its socket) is retried
 *   for a few seconds instead of failing the request at once.
 */
export function siteBlock(args: SiteArgs): string {
  const addresses = [`:${args.port}`, ...(args.domain !== undefined ? [args.domain] : [])].join(", ");
  return [
    `# fleet instance ${args.instance}`,
    `${addresses} {`,
    `\treverse_proxy unix/${routeLink(args.instance)} {`,
    "\t\tlb_try_duration 5s",
    "\t\ttransport http {",
    "\t\t\tkeepalive off",
    "\t\t}",
    "\t}",
    "}",
    "",
  ].join("\n");
}

const RELOAD = `caddy reload --config ${MAIN_CADDYFILE} --adapter caddyfile --address "127.0.0.1:$2"`;

/** How long the route command waits for the new container's socket (it exists once the container is healthy). */
export const SOCKET_WAIT_SECONDS = 30;

/**
 * Shell lines (run where `pulumi up` runs) that stop and remove the route's containers other than
 * FLEET_CONTAINER_ID, or all of them when `keep` is false: those labelled with every `key=value` of
 * FLEET_RETIRE_LABELS. Each gets SIGTERM and FLEET_STOP_GRACE seconds to drain (`docker stop -t`),
 * as the provider's delete with `destroyGraceSeconds` would, then is removed (its named volumes stay).
 *
 * Why the route and not the engine: a container replaced by an apply that then failed (another
 * container not healthy in time) is pending-delete, and the next apply deletes pending-delete
 * resources before anything else (pulumi/pulumi pkg/resource/deploy/deployment_executor.go
 * `retirePendingDeletes`). That container still serves, since the route was never switched, so
 * the instance was down until its replacement got healthy. A `retainOnDelete` resource's delete
 * is a no-op for the provider (step.go `DeleteStep.Apply`), pending or not, so app containers are
 * retained and the route, which knows which container serves, retires the others after the switch.
 * A container that cannot be stopped (already gone) is reported and skipped; the next switch of
 * the route finds it again.
 */
function retire(keep: boolean): string[] {
  return [
    // Never without the stack's label: no filter at all would list every container of the host.
    'case " $FLEET_RETIRE_LABELS " in *" fleet.stack="[!\' \']*) ;; *)',
    '  echo "fleet route $FLEET_INSTANCE: FLEET_RETIRE_LABELS names no stack: $FLEET_RETIRE_LABELS" >&2; exit 1 ;;',
    "esac",
    "set --",
    'for l in $FLEET_RETIRE_LABELS; do set -- "$@" --filter "label=$l"; done',
    'for c in $(docker ps -aq --no-trunc "$@"); do',
    ...(keep ? ['  [ "$c" = "$FLEET_CONTAINER_ID" ] && continue'] : []),
    '  docker stop -t "$FLEET_STOP_GRACE" "$c" >/dev/null || echo "fleet route $FLEET_INSTANCE: could not stop $c" >&2',
    '  docker rm "$c" >/dev/null || echo "fleet route $FLEET_INSTANCE: could not remove $c" >&2',
    "done",
  ];
}

/**
 * Create/update script of a route command, run where `pulumi up` runs. Reads FLEET_PROXY (proxy
 * container), FLEET_INSTANCE, FLEET_PROXY_ADMIN_PORT, FLEET_SITE_BLOCK, FLEET_CONTAINER_ID (the
 * app container's id, whose first 12 characters are its hostname), FLEET_RETIRE_LABELS and
 * FLEET_STOP_GRACE from the environment. In the
 * proxy container (POSIX sh; flock is in util-linux and in busybox):
 *
 * 1. waits until the container's socket exists;
 * 2. points the route symlink at it: a new link, then `mv` over the old one, an atomic rename
 *    (the link never points at a directory, so `mv` never moves into one);
 * 3. under the lock, writes the site file only if it changed, reloads only then, and puts the
 *    previous file back when the reload fails (a bad file would fail every later reload);
 * 4. back on the host, retires the route's other containers (`retire`).
 */
export const ROUTE_UPSERT_SCRIPT = [
  "set -eu",
  'socket="' + SOCKETS_DIR + '/$FLEET_INSTANCE/$(printf %.12s "$FLEET_CONTAINER_ID").sock"',
  `printf '%s\\n' "$FLEET_SITE_BLOCK" | docker exec -i "$FLEET_PROXY" sh -c '`,
  "set -eu",
  "i=0",
  'until [ -S "$3" ]; do',
  "  i=$((i + 1))",
  `  if [ "$i" -gt ${SOCKET_WAIT_SECONDS} ]; then`,
  `    echo "fleet route $1: no socket $3 after ${SOCKET_WAIT_SECONDS} s; is the app container running, and does its version listen on APP_SOCKET_DIR?" >&2`,
  "    exit 1",
  "  fi",
  "  sleep 1",
  "done",
  `mkdir -p ${ROUTES_DIR} ${SITES_DIR}`,
  `link="${ROUTES_DIR}/$1.sock"`,
  'ln -sfn "$3" "$link.new"',
  'mv -f "$link.new" "$link"',
  `exec 9>${ROUTES_LOCK}`,
  "flock 9",
  `f="${SITES_DIR}/$1.caddy"`,
  'cat > "$f.new"',
  'if [ -f "$f" ] && [ "$(cat "$f")" = "$(cat "$f.new")" ]; then',
  '  rm -f "$f.new"',
  "  exit 0",
  "fi",
  'if [ -f "$f" ]; then cp "$f" "$f.prev"; fi',
  'mv "$f.new" "$f"',
  `if ! ${RELOAD}; then`,
  '  if [ -f "$f.prev" ]; then mv "$f.prev" "$f"; else rm -f "$f"; fi',
  "  exit 1",
  "fi",
  'rm -f "$f.prev"',
  `' fleet-route "$FLEET_INSTANCE" "$FLEET_PROXY_ADMIN_PORT" "$socket"`,
  ...retire(true),
  "",
].join("\n");

/**
 * Delete script of a route command: under the lock, removes the site file and reloads, then the
 * route symlink (nothing to do without a proxy); then stops and removes every container of the
 * route (`retire`), which the engine retains.
 */
export const ROUTE_DELETE_SCRIPT = [
  "set -eu",
  'if docker inspect "$FLEET_PROXY" >/dev/null 2>&1; then',
  `  docker exec -i "$FLEET_PROXY" sh -c 'set -eu; mkdir -p ${SITES_DIR}; exec 9>${ROUTES_LOCK}; flock 9; rm -f "${SITES_DIR}/$1.caddy"; ${RELOAD}; rm -f "${ROUTES_DIR}/$1.sock"' \\`,
  '    fleet-route "$FLEET_INSTANCE" "$FLEET_PROXY_ADMIN_PORT"',
  "fi",
  ...retire(false),
  "",
].join("\n");
