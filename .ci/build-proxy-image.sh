#!/usr/bin/env bash
# Makes a local Caddy image for the docker tier, once per machine, without any image registry:
# Debian bookworm's `caddy` package on a minimal debootstrap, imported as one layer.
# It behaves like the official caddy:2 image where the fleet relies on it: `caddy` and `sh` on
# PATH, XDG_CONFIG_HOME=/config, XDG_DATA_HOME=/data, WORKDIR /srv, runs as root, and the
# default command `caddy run --config /etc/caddy/Caddyfile --adapter caddyfile`.
# Difference: Debian's caddy is 2.6.x, the official caddy:2 is newer (see docs/docker-tier.md).
#
# Env:
#   FLEET_PROXY_IMAGE    image to provide (default fleet-caddy:local). A name that does not
#                        start with "fleet-caddy:" is pulled instead, e.g. caddy:2 on runners
#                        that reach Docker Hub.
#   FORCE=1              rebuild even when the image exists
#   FLEET_DEBIAN_MIRROR  Debian mirror (default: the host's apt mirror, else deb.debian.org)
# Prints the image name as the last line of stdout.
# shellcheck disable=SC2317 # functions run through fleet_timed look unreachable
set -euo pipefail
FLEET_LOG_NAME=build-proxy-image
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

image="${FLEET_PROXY_IMAGE:-fleet-caddy:local}"

fleet_image_ready "$image" fleet-caddy: FLEET_PROXY_IMAGE fleet-caddy:local && exit 0

[ "$(id -u)" -eq 0 ] || fleet_die "building $image needs root (debootstrap); run as root"
started="$(fleet_now)"
replaced="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"

work="$(mktemp -d /tmp/fleet-caddy.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

fleet_timed "debootstrap" fleet_debootstrap "$root" caddy,ca-certificates

# The package's systemd unit and its `caddy` user are not used: like caddy:2, this runs as root.
mkdir -p "$root/config/caddy" "$root/data/caddy" "$root/srv"
caddy_version="$(chroot "$root" /usr/bin/caddy version | cut -d' ' -f1)"

import_image() {
  tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV XDG_CONFIG_HOME=/config' \
    -c 'ENV XDG_DATA_HOME=/data' \
    -c 'EXPOSE 80 443 443/udp 2019' \
    -c 'WORKDIR /srv' \
    -c 'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]' \
    -c "LABEL fleet.proxy-image=true org.opencontainers.image.version=$caddy_version" \
    -m "fleet proxy: Debian caddy $caddy_version" \
    - "$image" >/dev/null
}
fleet_timed "docker import" import_image
# The image this one replaced (FORCE=1) goes, unless images built from it still need it.
if [ -n "$replaced" ] && [ "$replaced" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
  docker image rm "$replaced" >/dev/null 2>&1 || true
fi

fleet_log "built $image: caddy $caddy_version, $(fleet_image_mb "$image") MB, in $(($(fleet_now) - started)) s"
echo "$image"
