#!/bin/sh
# The node's dockerd. The container is not privileged (the engine's own capability set may lack
# some that --privileged asks for), so the cgroup hierarchies it is given are read-only mounts of
# its own cgroup: made writable here (a bind remount changes only this mount point) for the
# nested dockerd to create its containers' cgroups below them.
set -eu
for d in /sys/fs/cgroup /sys/fs/cgroup/*/; do mount -o remount,bind,rw "$d" 2>/dev/null || true; done
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  # cgroup v2: move this shell out of the root so controllers can be delegated (as moby's dind does).
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs || :
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control || :
fi
exec dockerd "$@"
