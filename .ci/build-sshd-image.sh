#!/usr/bin/env bash
# Makes the docker tier's SFTP server image (test/docker/offsite-drill.test.ts), once per machine:
# Debian bookworm's openssh-server on the base image the app images build on.
#
# Env:
#   FLEET_BASE_IMAGE   the base image (required: .ci/build-base-image.sh, or node:24-bookworm-slim)
#   FLEET_SSHD_IMAGE   image to provide (default fleet-tier-sshd:bookworm)
#   FORCE=1            rebuild even when the image exists
# Prints the image name as the last line of stdout.
set -euo pipefail
image="${FLEET_SSHD_IMAGE:-fleet-tier-sshd:bookworm}"
base="${FLEET_BASE_IMAGE:?FLEET_BASE_IMAGE names the base image (.ci/build-base-image.sh prints it)}"
if [ "${FORCE:-0}" != 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi
printf '%s\n' \
  "FROM $base" \
  "RUN apt-get update && apt-get install -y --no-install-recommends openssh-server && rm -rf /var/lib/apt/lists/*" |
  docker build --quiet --label fleet.test=docker-tier --tag "$image" - >/dev/null
echo "$image"
