#!/usr/bin/env bash
# Asserts that every instance of instances/ has its data volume fleet-$STACK-<name>-data and that
# the volume holds files (the app's database). Runs before and after `pulumi destroy`: data
# volumes are retainOnDelete and must survive it.
set -euo pipefail
: "${STACK:?STACK is not set}"
probe_image="${FLEET_PROBE_IMAGE:-node:24-bookworm-slim}"

failures=0
for name in $(node .github/scripts/fleet-instances.mjs); do
  volume="fleet-$STACK-$name-data"
  if ! docker volume inspect "$volume" >/dev/null 2>&1; then
    echo "::error::data volume $volume does not exist"
    failures=$((failures + 1))
    continue
  fi
  files="$(docker run --rm --network none -v "$volume:/data:ro" "$probe_image" find /data -type f | wc -l)"
  if [ "$files" -eq 0 ]; then
    echo "::error::data volume $volume is empty"
    failures=$((failures + 1))
  else
    echo "ok: $volume holds $files file(s)"
  fi
done
[ "$failures" -eq 0 ] || exit 1
