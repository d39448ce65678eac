#!/usr/bin/env bash
# Builds the test cluster's parts once and caches them; later runs reuse them (a few seconds to check).
#   - kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl (k8s.io/kubernetes
#     from the Go module proxy) and CoreDNS: 6–9 minutes on 2 cores with empty Go caches;
#   - a pause image (a static C program that waits in pause()) and a NATS image (Debian's nats-server), as
#     docker-archive tarballs for `ctr images import`: nothing comes from a container registry;
#   - etcd, containerd, runc and the CNI plugins from Debian, when missing.
# Prints the cache directory (bin/ and images/ inside it) on stdout.
# Usage: bash scripts/cluster/build.sh
source "$(dirname "$0")/common.sh"
source "$REPO_ROOT/scripts/prerequisites.sh"

require_root
apt_install etcd etcd-server
apt_install etcdctl etcd-client
apt_install containerd containerd
apt_install runc runc
if [ ! -x /usr/lib/cni/bridge ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containernetworking-plugins >/dev/null ||
    cluster_die "apt-get install containernetworking-plugins failed"
fi
apt_install gcc gcc
apt_install nats-server nats-server
apt_install openssl openssl
apt_install iptables iptables
apt_install conntrack conntrack

CACHE=$(cluster_cache_dir)
BIN=$CACHE/bin
IMAGES=$CACHE/images
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

all_built() {
  local b
  for b in "${K8S_BINARIES[@]}" coredns; do [ -x "$BIN/$b" ] || return 1; done
  [ -s "$IMAGES/pause.tar" ] && [ -s "$IMAGES/nats.tar" ]
}

# go.mod of a scratch module that builds k8s.io/kubernetes's commands: `go install …@version` refuses a module
# whose go.mod has replace directives, so every k8s.io/* staging module it replaces with ./staging/… is pinned
# here to its released version instead.
write_scratch_module() {
  local dir=$1 gomod
  gomod=$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
  [ -s "$gomod" ] || cluster_die "go mod download k8s.io/kubernetes@$K8S_VERSION gave no go.mod"
  {
    echo "module tcpstate.local/cluster-build"
    echo
    echo "go 1.24.0"
    echo
    echo "godebug default=go1.24"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/.*#replace \1 => \1 '"$K8S_STAGING_VERSION"'#p' "$gomod"
  } >"$dir/go.mod"
  grep -q '^replace k8s.io/api ' "$dir/go.mod" || cluster_die "no staging replaces found in $gomod"
}

build_kubernetes() {
  local work=$1 missing=() b
  for b in "${K8S_BINARIES[@]}"; do [ -x "$BIN/$b" ] || missing+=("$b"); done
  [ ${#missing[@]} = 0 ] && return 0
  mkdir -p "$work/k8s"
  echo 'package main' >"$work/k8s/main.go"
  write_scratch_module "$work/k8s"
  local pkg="k8s.io/component-base/version" ldflags="-s -w"
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean"
  ldflags+=" -X $pkg.gitCommit=0000000000000000000000000000000000000000 -X $pkg.buildDate=1970-01-01T00:00:00Z"
  local targets=()
  for b in "${missing[@]}"; do targets+=("k8s.io/kubernetes/cmd/$b"); done
  cluster_log "building ${missing[*]} $K8S_VERSION (6–9 minutes on 2 cores with empty Go caches)"
  mkdir -p "$work/out"
  (cd "$work/k8s" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$work/out/" "${targets[@]}") >&2 ||
    cluster_die "go build of ${missing[*]} failed"
  for b in "${missing[@]}"; do install -m 0755 "$work/out/$b" "$BIN/$b"; done
}

build_coredns() {
  local work=$1
  [ -x "$BIN/coredns" ] && return 0
  cluster_log "building coredns $COREDNS_VERSION (about 2 minutes)"
  (cd "$work" && GOBIN="$work/out" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION") >&2 ||
    cluster_die "go install github.com/coredns/coredns@$COREDNS_VERSION failed"
  install -m 0755 "$work/out/coredns" "$BIN/coredns"
}

# docker_archive OUT TAG ROOTFS ENTRYPOINT...: a one-layer image tarball (docker-archive format, which
# `ctr images import` reads) made from a directory, without any container engine.
docker_archive() {
  local out=$1 tag=$2 rootfs=$3
  shift 3
  local dir entrypoint diff_id config_id
  dir=$(mktemp -d)
  tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$rootfs" -cf "$dir/layer.tar" .
  diff_id=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  entrypoint=$(printf '"%s",' "$@")
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Entrypoint":[%s],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"tcpstate scripts/cluster/build.sh"}]}' \
    "${entrypoint%,}" "$diff_id" >"$dir/config.json"
  config_id=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  mv "$dir/config.json" "$dir/$config_id.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$config_id" "$tag" >"$dir/manifest.json"
  tar -C "$dir" -cf "$out.tmp" manifest.json "$config_id.json" layer.tar
  mv "$out.tmp" "$out"
  rm -rf "$dir"
}

build_pause_image() {
  local work=$1
  [ -s "$IMAGES/pause.tar" ] && return 0
  mkdir -p "$work/pause-root"
  cat >"$work/pause.c" <<'C'
/* The pod sandbox's process: holds the pod's namespaces and reaps nothing; exits on TERM/INT. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
static void stop(int sig) { (void)sig; exit(0); }
int main(void) {
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  for (;;) pause();
}
C
  gcc -static -O2 -o "$work/pause-root/pause" "$work/pause.c" || cluster_die "gcc -static pause.c failed (is libc6-dev installed?)"
  docker_archive "$IMAGES/pause.tar" "$PAUSE_IMAGE" "$work/pause-root" /pause
}

# NATS from Debian's nats-server: the binary and the shared libraries it links, at the path the chart runs.
build_nats_image() {
  local work=$1 lib
  [ -s "$IMAGES/nats.tar" ] && return 0
  local root=$work/nats-root
  mkdir -p "$root/usr/sbin" "$root/tmp"
  cp /usr/sbin/nats-server "$root/usr/sbin/nats-server"
  ln -s usr/sbin/nats-server "$root/nats-server"
  for lib in $(ldd /usr/sbin/nats-server | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  chmod 1777 "$root/tmp"
  docker_archive "$IMAGES/nats.tar" "$NATS_IMAGE" "$root" /usr/sbin/nats-server
}

PAUSE_IMAGE=localhost/tcpstate-cluster/pause:1
NATS_IMAGE=localhost/tcpstate-cluster/nats:$(dpkg-query -W -f '${Version}' nats-server | sed 's/[^A-Za-z0-9_.-]/_/g')

if ! all_built; then
  mkdir -p "$BIN" "$IMAGES"
  WORK=$(mktemp -d /var/tmp/tcpstate-cluster-build.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  start=$SECONDS
  build_pause_image "$WORK"
  build_nats_image "$WORK"
  build_kubernetes "$WORK"
  build_coredns "$WORK"
  cluster_log "built in $((SECONDS - start)) s into $CACHE"
fi
printf '%s\n' "$PAUSE_IMAGE" >"$IMAGES/pause.tag"
printf '%s\n' "$NATS_IMAGE" >"$IMAGES/nats.tag"
echo "$CACHE"
