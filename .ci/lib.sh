# shellcheck shell=bash
# Shared helpers for the .ci/ engine and image scripts. Source it; it defines functions only.

# Seconds since the epoch, for phase timings.
fleet_now() { date +%s; }

# Prints "name: message" on stderr, so stdout stays free for results.
fleet_log() { printf '%s: %s\n' "${FLEET_LOG_NAME:-fleet}" "$*" >&2; }

# Prints an error with its fix and exits 1.
fleet_die() {
  fleet_log "error: $*"
  exit 1
}

# Runs "$@" and logs how long it took under the label $1 (the command is the rest).
fleet_timed() {
  local label="$1" start
  shift
  start="$(fleet_now)"
  "$@"
  fleet_log "$label took $(($(fleet_now) - start)) s"
}

# Installs the Debian packages that are missing (by package name), with one apt-get update.
fleet_apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || fleet_die "missing Debian packages: ${missing[*]}; run as root or install them first"
  fleet_log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The plain-HTTP Debian mirror the host's apt uses (FLEET_DEBIAN_MIRROR overrides), without a
# trailing slash. Falls back to deb.debian.org.
fleet_debian_mirror() {
  if [ -n "${FLEET_DEBIAN_MIRROR:-}" ]; then
    echo "${FLEET_DEBIAN_MIRROR%/}"
    return
  fi
  local found
  found="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -E '^[[:space:]]*(deb|URIs:)[[:space:]]' |
    grep -oE 'http://[^[:space:]]+/debian/?([[:space:]]|$)' | head -n 1 | tr -d '[:space:]' || true)"
  found="${found:-http://deb.debian.org/debian}"
  echo "${found%/}"
}

# True when the image (name:tag) exists in the local engine.
fleet_image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Uncompressed size of a local image in MB.
fleet_image_mb() { echo $(($(docker image inspect -f '{{.Size}}' "$1") / 1000 / 1000)); }

# docker pull IMAGE, or stop with what to do instead (VAR, DEFAULT as for fleet_image_ready).
fleet_pull() {
  docker pull -q "$1" >&2 || fleet_die "cannot pull $1 (no registry reachable?); unset $2 to build $3 locally"
}

# The common start of an image script: `fleet_image_ready IMAGE LOCAL_PREFIX VAR DEFAULT`.
# A name outside LOCAL_PREFIX (e.g. node:24-bookworm-slim on GitHub) is pulled when missing; a
# local image that exists is reused unless FORCE=1. Then it prints IMAGE and returns 0: nothing to
# build. It returns 1 when the caller must build IMAGE.
fleet_image_ready() {
  local image="$1" prefix="$2" var="$3" default="$4"
  if [ "${image#"$prefix"}" = "$image" ]; then
    # fleet_timed returns its log line's status, so the pull fails inside the timed command.
    fleet_image_exists "$image" || fleet_timed "docker pull $image" fleet_pull "$image" "$var" "$default"
    fleet_log "using $image ($(fleet_image_mb "$image") MB)"
  elif fleet_image_exists "$image" && [ "${FORCE:-0}" != 1 ]; then
    fleet_log "$image exists ($(fleet_image_mb "$image") MB); FORCE=1 rebuilds it"
  else
    return 1
  fi
  echo "$image"
}

# debootstrap --variant=minbase of Debian bookworm into $1, with the extra packages $2
# (comma-separated, may be empty). Then makes the tree look like Debian's official slim image:
# apt sources for updates and security, no docs/man pages/translations (now or on later
# installs), no apt lists or downloaded archives.
fleet_debootstrap() {
  local dir="$1" include="${2:-}" mirror
  mirror="$(fleet_debian_mirror)"
  fleet_apt_install debootstrap
  fleet_log "debootstrap --variant=minbase bookworm from $mirror${include:+ (+ $include)}"
  debootstrap --variant=minbase ${include:+--include="$include"} bookworm "$dir" "$mirror" \
    >"$dir.debootstrap.log" 2>&1 || {
    tail -n 30 "$dir.debootstrap.log" >&2
    fleet_die "debootstrap failed (log above); check that $mirror answers over plain HTTP"
  }
  rm -f "$dir.debootstrap.log"

  rm -f "$dir/etc/apt/sources.list"
  cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror}-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # Same intent as the official Debian slim images: later `apt-get install`s skip docs too.
  cat >"$dir/etc/dpkg/dpkg.cfg.d/fleet-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
  cat >"$dir/etc/apt/apt.conf.d/fleet-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
  find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/* \
    "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin \
    "$dir"/var/log/*.log "$dir"/var/log/apt/* "$dir"/tmp/*
  # The image gets Docker's resolv.conf and hostname at run time.
  : >"$dir/etc/resolv.conf"
  echo localhost >"$dir/etc/hostname"
}
