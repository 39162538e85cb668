#!/usr/bin/env bash
# Makes a plain Debian bookworm image with Debian's own Node.js and npm, installed the way a user
# installs them (`apt-get install nodejs npm git`, Recommends included: npm recommends the build
# tools through node-gyp). No other Node is in it: not Node 24 from the npm registry, not
# /usr/local. For the fresh-clone check of the README's commands (.ci/front-door-check.sh).
# Besides the packages, the image only gets the host's extra CA certificates, so HTTPS works behind
# a TLS-intercepting proxy as it does on the host.
#
# Env:
#   FLEET_DEBIAN_NODE_IMAGE  image to provide (default fleet-debian-node:bookworm)
#   FORCE=1                  rebuild even when the image exists
#   FLEET_DEBIAN_MIRROR      Debian mirror (default: the host's apt mirror, else deb.debian.org)
# Prints the image name as the last line of stdout.
# shellcheck disable=SC2317 # functions run through fleet_timed look unreachable
set -euo pipefail
FLEET_LOG_NAME=build-debian-node-image
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

image="${FLEET_DEBIAN_NODE_IMAGE:-fleet-debian-node:bookworm}"
if fleet_image_exists "$image" && [ "${FORCE:-0}" != 1 ]; then
  fleet_log "$image exists ($(fleet_image_mb "$image") MB); FORCE=1 rebuilds it"
  echo "$image"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || fleet_die "building $image needs root (debootstrap); run as root"
started="$(fleet_now)"

work="$(mktemp -d /tmp/fleet-debian-node.XXXXXX)"
stage="fleet-debian-node-stage-$$"
trap 'rm -rf "$work"; docker rm -f "$stage" >/dev/null 2>&1 || true; docker image rm "$image-stage" >/dev/null 2>&1 || true' EXIT
root="$work/rootfs"

fleet_timed "debootstrap" fleet_debootstrap "$root" ca-certificates
shopt -s nullglob
extra_cas=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob
if [ "${#extra_cas[@]}" -gt 0 ]; then
  cp "${extra_cas[@]}" "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null
fi
fleet_timed "docker import" sh -c "tar -C '$root' -c . | docker import - '$image-stage' >/dev/null"

# As a user would: apt-get install with Recommends.
install_node() {
  docker run --name "$stage" -e DEBIAN_FRONTEND=noninteractive "$image-stage" \
    sh -c 'apt-get update -qq && apt-get install -y -qq nodejs npm git >/dev/null' >&2
}
fleet_timed "apt-get install nodejs npm git" install_node
# NODE_EXTRA_CA_CERTS: Node builds from the npm registry carry their own CA list; the host's
# extra CAs (see above) reach them through this, as on the host.
docker commit \
  -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  -c 'CMD ["bash"]' \
  -c 'LABEL fleet.debian-node=true' \
  "$stage" "$image" >/dev/null

versions="$(docker run --rm "$image" sh -c 'echo "node $(node --version), npm $(npm --version)"; command -v node; ls /usr/local/bin')"
fleet_log "built $image ($versions) $(fleet_image_mb "$image") MB in $(($(fleet_now) - started)) s"
echo "$image"
