#!/usr/bin/env bash
# Makes sure a Docker engine answers `docker info`. If one already does, it is left alone.
# Otherwise installs Debian's docker.io (when dockerd is missing), starts dockerd in the
# background (detached, so it outlives this script) and waits for its socket.
#
# Env:
#   FLEET_DOCKERD_LOG    dockerd's log file (default /var/log/fleet-dockerd.log)
#   FLEET_DOCKERD_WAIT   seconds to wait for the engine (default 60)
#   FLEET_DOCKERD_FLAGS  extra dockerd flags, e.g. "--storage-driver=vfs --iptables=false"
#                        for sandboxes without overlayfs or netfilter (not needed on Debian 12)
set -euo pipefail
FLEET_LOG_NAME=setup-docker
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

log_file="${FLEET_DOCKERD_LOG:-/var/log/fleet-dockerd.log}"
wait_s="${FLEET_DOCKERD_WAIT:-60}"
start="$(fleet_now)"

engine_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }
engine_version() { docker version --format '{{.Server.Version}}' 2>/dev/null; }

# Two callers at once (e.g. two shells) must not start two daemons.
exec 9>/tmp/fleet-setup-docker.lock
flock 9

# The proxy (Caddy, host network) opens a new SO_REUSEPORT listener on every reload and closes
# the old one; without this the kernel resets connections still queued on the old socket
# (https://lwn.net/Articles/542629/; Caddy: listen_unix.go, listenReusable). With it they
# migrate to the new listener (Linux >= 5.14).
# Host-wide and harmless for everything else; FLEET_TCP_MIGRATE_REQ=0 skips it.
tune_host() {
  local key=net.ipv4.tcp_migrate_req
  [ "${FLEET_TCP_MIGRATE_REQ:-1}" = 1 ] || return 0
  if [ "$(sysctl -n "$key" 2>/dev/null)" = 1 ]; then
    return 0
  elif [ "$(id -u)" -eq 0 ] && sysctl -qw "$key=1" 2>/dev/null; then
    fleet_log "set $key=1 (proxy reloads keep queued connections)"
  else
    fleet_log "warning: could not set $key=1; proxy reloads may reset a few new connections"
  fi
}

if engine_answers; then
  tune_host
  fleet_log "engine $(engine_version) already answers; leaving it alone"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || fleet_die "no Docker engine answers and starting one needs root; run as root or start Docker yourself"

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
  fleet_timed "installing docker.io" fleet_apt_install docker.io
fi

pid_file=/var/run/docker.pid
if [ -s "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  fleet_log "dockerd (pid $(cat "$pid_file")) is running but not answering yet; waiting for it"
else
  # A pid file left by a dockerd that died makes the next one refuse to start.
  rm -f "$pid_file"
  mkdir -p "$(dirname "$log_file")"
  fleet_log "starting dockerd${FLEET_DOCKERD_FLAGS:+ $FLEET_DOCKERD_FLAGS} (log: $log_file)"
  # 9>&- : the daemon must not inherit (and hold forever) the lock.
  # shellcheck disable=SC2086 # FLEET_DOCKERD_FLAGS is a list of flags
  setsid -f dockerd ${FLEET_DOCKERD_FLAGS:-} >>"$log_file" 2>&1 </dev/null 9>&-
fi

launched="$(fleet_now)"
deadline=$((launched + wait_s))
until engine_answers; do
  # A dockerd that exited (bad flags, no overlayfs, ...) will not come back: fail at once.
  if [ "$(fleet_now)" -ge "$deadline" ] || { [ "$(fleet_now)" -ge $((launched + 5)) ] && ! pgrep -x dockerd >/dev/null; }; then
    fleet_log "dockerd did not answer (waited up to ${wait_s} s); last lines of $log_file:"
    grep -v 'module=grpc' "$log_file" | tail -n 30 >&2 || true
    fleet_die "no Docker engine; see the log above (FLEET_DOCKERD_FLAGS can pass e.g. --storage-driver=vfs --iptables=false)"
  fi
  sleep 0.5
done

tune_host
fleet_log "engine $(engine_version) up ($(docker info --format '{{.Driver}}') storage) in $(($(fleet_now) - start)) s"
