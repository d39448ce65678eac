# Sourced by scripts/cluster/*.sh: the versions of the test cluster's parts and where its state lives.
# The versions work together on Debian 12 with cgroup v1/hybrid hosts (newer kubelets refuse cgroup v1 by default).
# shellcheck shell=bash
set -euo pipefail

K8S_VERSION=v1.34.4
K8S_STAGING_VERSION=v0.34.4 # the k8s.io/* staging modules released with K8S_VERSION
COREDNS_VERSION=v1.13.2

CLUSTER_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$CLUSTER_SCRIPTS/../.." && pwd)

[ -x /usr/local/go/bin/go ] && PATH=$PATH:/usr/local/go/bin

# The built binaries and images: one directory per combination of versions, reused by every later run.
CLUSTER_CACHE_ROOT=${TCPSTATE_CLUSTER_CACHE:-/var/cache/tcpstate-cluster}
# The running cluster's state (PKI, configs, logs, pids, namespace files): removed whole by down.sh.
CLUSTER_STATE=${TCPSTATE_CLUSTER_STATE:-/run/tcpstate-cluster}

cluster_die() {
  echo "tcpstate-cluster: $*" >&2
  exit 2
}

cluster_log() {
  echo "tcpstate-cluster: $*" >&2
}

# The cache key needs the Go version: a new toolchain makes different binaries.
go_version() {
  command -v go >/dev/null || cluster_die "Go is needed to build Kubernetes $K8S_VERSION (apt-get install golang-go, or Go from go.dev)"
  go env GOVERSION
}

cluster_cache_dir() {
  echo "$CLUSTER_CACHE_ROOT/k8s-$K8S_VERSION-coredns-$COREDNS_VERSION-$(go_version)"
}

# The cluster's layout: one node inside a network namespace of its own (only lo and the pod bridge), the node's
# address on the bridge; nothing leaves that namespace.
NODE_NAME=tcpstate-node
BRIDGE=cni0
POD_SUBNET=10.244.0.0/24
NODE_IP=10.244.0.1
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
CLUSTER_DOMAIN=cluster.local

NETNS_FILE=$CLUSTER_STATE/ns/net
MNTNS_FILE=$CLUSTER_STATE/ns/mnt
PKI=$CLUSTER_STATE/pki
LOGS=$CLUSTER_STATE/logs
PIDS=$CLUSTER_STATE/pids
CONTAINERD_SOCK=$CLUSTER_STATE/containerd/containerd.sock
ADMIN_KUBECONFIG=$CLUSTER_STATE/admin.kubeconfig

# in_cluster_net CMD...: runs CMD in the cluster's network namespace (kubectl, helm, curl, etcdctl).
in_cluster_net() {
  nsenter --net="$NETNS_FILE" -- "$@"
}

# log_tail NAME: the last lines of a component's log, for a failure message.
log_tail() {
  local f=$LOGS/$1.log
  [ -f "$f" ] || { echo "  (no log $f)"; return; }
  echo "  --- last 30 lines of $f ---"
  tail -n 30 "$f" | sed 's/^/  /'
}

# pid_of NAME: the pid of a component started by up.sh, when it still runs that component's binary (or, just
# started, setsid or nsenter on their way to exec it), so a recycled pid is never taken for it.
pid_of() {
  local name=$1 pid exe running
  [ -f "$PIDS/$name" ] || return 1
  read -r pid exe <"$PIDS/$name" || return 1
  running=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  case $running in
  "$exe" | */setsid | */nsenter) echo "$pid" ;;
  *) return 1 ;;
  esac
}
