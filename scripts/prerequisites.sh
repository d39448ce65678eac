# Sourced by scripts/start.sh and scripts/test.sh: installs what tcpstate needs on a Debian/Ubuntu host, or stops
# with a message that says exactly what is missing.
set -euo pipefail

die() {
  echo "tcpstate: $*" >&2
  exit 2
}

require_root() {
  [ "$(id -u)" = 0 ] || die "run as root (sudo $0): bpftrace loads kernel programs and tests create network namespaces"
}

require_node() {
  command -v node >/dev/null || die "Node.js >= 20 is required (https://nodejs.org or apt-get install nodejs)"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "Node.js >= 20 is required, found $(node --version)"
}

# apt_install CMD PACKAGE: installs PACKAGE when CMD is not on PATH.
apt_install() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null && return 0
  command -v apt-get >/dev/null || die "$cmd is missing and this is no Debian/Ubuntu host: install the package $pkg"
  echo "tcpstate: installing $pkg (for $cmd)" >&2
  if [ -z "${TCPSTATE_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed: cannot install $pkg"
    export TCPSTATE_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null || die "apt-get install $pkg failed"
  command -v "$cmd" >/dev/null || die "$pkg installed but $cmd is still not on PATH"
}

require_tracefs() {
  local tracefs=/sys/kernel/tracing
  [ -d "$tracefs/events" ] && return 0
  mount -t tracefs nodev "$tracefs" 2>/dev/null || die "tracefs is not mounted at $tracefs and mounting it failed: mount -t tracefs nodev $tracefs"
}

require_btf() {
  [ -r /sys/kernel/btf/vmlinux ] || die "kernel BTF (/sys/kernel/btf/vmlinux) is missing: a kernel with CONFIG_DEBUG_INFO_BTF=y is needed"
}

# npm dependencies, when package-lock.json changed since the last install.
require_node_modules() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund >&2 || die "npm ci failed"
  fi
}

# What running the agent on this host needs (the start line and the test line alike).
require_agent_host() {
  require_root
  require_node
  apt_install bpftrace bpftrace
  apt_install ip iproute2
  apt_install ss iproute2
  require_tracefs
  require_btf
  require_node_modules
}

# What the chart and image tests need (test/helm, test/image): helm built from the Go module proxy
# (scripts/helm.sh), promtool (Debian's prometheus package), podman with runc and the Dockerfile's base images
# made locally (scripts/image-bases.sh). Each step is skipped when already done.
require_deploy_test_tools() {
  bash scripts/helm.sh || die "installing helm failed (scripts/helm.sh)"
  apt_install promtool prometheus
  bash scripts/image-bases.sh || die "preparing podman and the base images failed (scripts/image-bases.sh)"
}
