#!/usr/bin/env bash
# The README's `npm test` on a fresh clone, in a plain Debian container that has nothing but
# Debian's own nodejs (18) and npm (9) and git (.ci/build-debian-node-image.sh): no Node 24, no
# node_modules, no cache, no Chromium, no Docker. It proves that the README's test command
# installs everything itself and runs on the distribution's Node.
#
# Env:
#   FLEET_DEBIAN_NODE_IMAGE  the image (default fleet-debian-node:bookworm; built when missing)
# Prints the time from `git clone` to the end of `npm test`, then runs the bootstrap again with
# nothing changed: it must install nothing, and the check prints what that no-op costs.
set -euo pipefail
FLEET_LOG_NAME=front-door-check
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

repo="$(cd "$(dirname "$0")/.." && pwd)"
image="$(bash "$repo/.ci/build-debian-node-image.sh")"
commit="$(git -C "$repo" rev-parse HEAD)"
work="$(mktemp -d /tmp/fleet-front-door.XXXXXX)"
name="fleet-front-door-$$"
trap 'docker rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# A bundle of the commit is what `git clone` needs, whether the repository is a clone or a worktree.
git -C "$repo" bundle create "$work/fleet.bundle" HEAD 2>/dev/null
fleet_log "npm test in $image on a fresh clone of $commit"
status=0
docker run --name "$name" --rm -v "$work/fleet.bundle:/fleet.bundle:ro" -e COMMIT="$commit" "$image" bash -c '
  set -euo pipefail
  echo "front-door: $(node --version) and npm $(npm --version) at $(command -v node); /usr/local/bin: $(ls /usr/local/bin | wc -l) files"
  start=$(date +%s)
  git clone -q /fleet.bundle /home/fleet && cd /home/fleet && git -c advice.detachedHead=false checkout -q "$COMMIT"
  npm test
  echo "front-door: git clone + npm test took $(( $(date +%s) - start )) s"
  t=$(date +%s%N)
  again="$(node ops/core/bootstrap.cjs 2>&1)"
  ms=$(( ($(date +%s%N) - t) / 1000000 ))
  if printf "%s\n" "$again" | grep "running npm"; then
    echo "front-door: the bootstrap installed again although nothing changed" >&2
    exit 1
  fi
  echo "front-door: the bootstrap with nothing changed took $ms ms"
' 2>&1 | grep --line-buffered -iv "npm WARN EBADENGINE" | tee "$work/log" || status=$?
if [ "$status" -ne 0 ] || ! tail -n 1 "$work/log" | grep -q "^front-door: the bootstrap with nothing changed took"; then
  fleet_die "npm test failed in the fresh container, or its second bootstrap installed again (output above)"
fi
