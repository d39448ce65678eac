#!/usr/bin/env bash
# Brings up a one-node Kubernetes cluster for tests, inside a network namespace of its own: etcd, kube-apiserver
# (Node,RBAC), controller-manager, scheduler, containerd and the kubelet (in a private mount namespace, see
# below), kube-proxy (iptables, inside that namespace only) and CoreDNS. The host's iptables, sysctls and routes
# are not touched. State: $TCPSTATE_CLUSTER_STATE (default /run/tcpstate-cluster); scripts/cluster/down.sh
# removes all of it, also after a failed run. Reuses a cluster that is already up.
# Prints the state directory on stdout; $STATE/bin/kubectl, helm and ctr run against the cluster.
# Usage: bash scripts/cluster/up.sh   (builds the parts first when they are not cached: scripts/cluster/build.sh)
source "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || cluster_die "run as root: the cluster needs namespaces, mounts and cgroups"

if [ -f "$CLUSTER_STATE/ready" ] && [ -x "$CLUSTER_STATE/bin/kubectl" ] &&
  "$CLUSTER_STATE/bin/kubectl" get --raw /readyz >/dev/null 2>&1; then
  echo "$CLUSTER_STATE"
  exit 0
fi
# A half-done or stale cluster goes first.
[ -e "$CLUSTER_STATE" ] && bash "$CLUSTER_SCRIPTS/down.sh"

CACHE=$(bash "$CLUSTER_SCRIPTS/build.sh")
BIN=$CACHE/bin
started=$SECONDS
# Any other failing step names itself.
trap 'cluster_log "up failed at scripts/cluster/up.sh:$LINENO: $BASH_COMMAND"' ERR

fail() {
  local component=$1
  shift
  {
    echo "tcpstate-cluster: up failed: $*"
    [ -n "$component" ] && log_tail "$component"
  } >&2
  exit 1
}

step() {
  cluster_log "$(printf '%3d s  %s' $((SECONDS - started)) "$*")"
}

# wait_for SECONDS COMPONENT WHAT CMD...: polls CMD until it succeeds; on timeout names what and shows the log.
wait_for() {
  local timeout=$1 component=$2 what=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$component" ] && ! pid_of "$component" >/dev/null; then
      fail "$component" "$component exited while waiting for $what"
    fi
    [ $SECONDS -lt $deadline ] || fail "$component" "$what not within ${timeout}s"
    sleep 0.5
  done
}

# start NAME [--mnt] BINARY ARGS...: runs a component in the cluster's network namespace (and, with --mnt, its
# mount namespace), detached, its output in $LOGS/NAME.log; records its pid and binary for down.sh.
start() {
  local name=$1 ns=(--net="$NETNS_FILE")
  shift
  if [ "$1" = --mnt ]; then
    ns+=(--mount="$MNTNS_FILE")
    shift
  fi
  local exe
  exe=$(readlink -f "$(command -v "$1")")
  setsid nsenter "${ns[@]}" -- "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo "$! $exe" >"$PIDS/$name"
}

mkdir -p "$CLUSTER_STATE"/{ns,pki,logs,pids,bin,etcd,containerd,kubelet,cni/net.d,cni/ipam,sysctl,pod-logs,run-netns}
cd "$CLUSTER_STATE"

# --- namespaces -------------------------------------------------------------------------------------------------
# Namespace files can be bind-mounted only under a private mount.
mount --bind "$CLUSTER_STATE/ns" "$CLUSTER_STATE/ns"
mount --make-private "$CLUSTER_STATE/ns"
touch "$NETNS_FILE" "$MNTNS_FILE"
unshare --net="$NETNS_FILE" true || fail "" "cannot create the network namespace $NETNS_FILE"
in_cluster_net sh -euc "
  ip link set lo up
  ip link add $BRIDGE type bridge
  # A bridge whose address was never set takes the lowest of its ports' and changes it as pods come and go,
  # leaving stale gateway entries in the pods' ARP caches: a fixed, locally administered one (from the node IP).
  ip link set $BRIDGE address 02:00:0a:f4:00:01
  ip addr add $NODE_IP/24 dev $BRIDGE
  ip link set $BRIDGE up
  # The node itself reaches ClusterIPs (kube-proxy DNATs them in OUTPUT): a route for the Service range.
  ip route add $SERVICE_CIDR dev $BRIDGE src $NODE_IP
  # Per-namespace settings of this namespace only: routing between pods, Service NAT for bridged traffic.
  echo 1 >/proc/sys/net/ipv4/ip_forward
  if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables; fi
" || fail "" "cannot set up the network namespace (lo, bridge $BRIDGE $NODE_IP)"

# The kubelet wants these kernel settings and, with protectKernelDefaults, refuses to start when they differ
# instead of changing them on the host. In a private mount namespace (shared by containerd and the kubelet, so
# the kubelet's volume mounts are visible to containerd), each differing /proc/sys file is covered by a read-only
# bind mount of a file that holds the wanted value. The same namespace hides the pods' netns mounts (/run/netns)
# from the host, and the kubelet's volume mounts.
mount_script=""
for kv in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
  kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
  key=${kv%%=*} value=${kv#*=}
  [ "$(cat "/proc/sys/$key")" = "$value" ] && continue
  file=$CLUSTER_STATE/sysctl/${key//\//.}
  echo "$value" >"$file"
  mount_script+="mount --bind $file /proc/sys/$key && mount -o remount,bind,ro /proc/sys/$key && "
done
mount_script+="mount --bind $CLUSTER_STATE/run-netns /run/netns && "
# Shared inside this namespace only (its mounts were made private copies first, so nothing reaches the host), as
# on a systemd host: containerd refuses HostToContainer propagation (the agent's /var/run/netns) from a private
# mount.
mount_script+="mount --make-rshared /"
unshare --mount="$MNTNS_FILE" --propagation private sh -euc "$mount_script" ||
  fail "" "cannot create the mount namespace $MNTNS_FILE"
step "namespaces"

# --- PKI -----------------------------------------------------------------------------------------------------------
# cert NAME CN [O] [SANS]: a client or serving certificate signed by the cluster CA.
cert() {
  local name=$1 cn=$2 o=${3:-} sans=${4:-} subj="/CN=$2"
  [ -n "$o" ] && subj="/O=$o/CN=$cn"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$sans" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$sans"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 30 \
    -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
}

# kubeconfig NAME: a kubeconfig for the certificate NAME, against the apiserver on the node address.
kubeconfig() {
  local name=$1
  cat >"$CLUSTER_STATE/$name.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: tcpstate
    cluster:
      server: https://$NODE_IP:6443
      certificate-authority: $PKI/ca.crt
users:
  - name: $name
    user:
      client-certificate: $PKI/$name.crt
      client-key: $PKI/$name.key
contexts:
  - name: tcpstate
    context: {cluster: tcpstate, user: $name}
current-context: tcpstate
KC
}

openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -subj "/CN=tcpstate-cluster-ca" -days 30 \
  -out "$PKI/ca.crt" 2>/dev/null || fail "" "openssl: cannot make the cluster CA"
openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
cert apiserver kube-apiserver "" \
  "IP:$NODE_IP,IP:$KUBERNETES_SERVICE_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,DNS:localhost"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
cert front-proxy-client front-proxy-client
cert admin kubernetes-admin system:masters
cert controller-manager system:kube-controller-manager
cert scheduler system:kube-scheduler
cert kubelet "system:node:$NODE_NAME" system:nodes
cert kube-proxy system:kube-proxy
cert coredns system:coredns
for name in admin controller-manager scheduler kubelet kube-proxy coredns; do kubeconfig "$name"; done
step "PKI"

# --- etcd and the control plane --------------------------------------------------------------------------------------
start etcd etcd --name tcpstate --data-dir "$CLUSTER_STATE/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster tcpstate=http://127.0.0.1:2380
wait_for 30 etcd "etcd health" in_cluster_net etcdctl --endpoints=http://127.0.0.1:2379 endpoint health
step "etcd"

start kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers=http://127.0.0.1:2379 \
  --advertise-address="$NODE_IP" --bind-address=0.0.0.0 --secure-port=6443 \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --authorization-mode=Node,RBAC --allow-privileged=true \
  --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --kubelet-preferred-address-types=InternalIP \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --requestheader-client-ca-file="$PKI/ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key"

cat >"$CLUSTER_STATE/bin/kubectl" <<SH
#!/bin/sh
# kubectl against the tcpstate test cluster (its API server is inside the cluster's network namespace).
exec nsenter --net=$NETNS_FILE -- $BIN/kubectl --kubeconfig=$ADMIN_KUBECONFIG "\$@"
SH
cat >"$CLUSTER_STATE/bin/helm" <<SH
#!/bin/sh
# helm against the tcpstate test cluster.
exec nsenter --net=$NETNS_FILE -- env KUBECONFIG=$ADMIN_KUBECONFIG HELM_CACHE_HOME=$CLUSTER_STATE/helm/cache \
  HELM_CONFIG_HOME=$CLUSTER_STATE/helm/config HELM_DATA_HOME=$CLUSTER_STATE/helm/data helm "\$@"
SH
cat >"$CLUSTER_STATE/bin/ctr" <<SH
#!/bin/sh
# ctr against the cluster's containerd, in the namespace the kubelet uses.
exec ctr --address $CONTAINERD_SOCK --namespace k8s.io "\$@"
SH
chmod +x "$CLUSTER_STATE"/bin/*
KUBECTL=$CLUSTER_STATE/bin/kubectl
wait_for 60 kube-apiserver "kube-apiserver /readyz" "$KUBECTL" get --raw /readyz
step "kube-apiserver"

start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig="$CLUSTER_STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$CLUSTER_STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$CLUSTER_STATE/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR"
start kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig="$CLUSTER_STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig="$CLUSTER_STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig="$CLUSTER_STATE/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false

# --- containerd and the kubelet (private mount namespace) ---------------------------------------------------------
PAUSE_IMAGE=$(cat "$CACHE/images/pause.tag")
cat >"$CLUSTER_STATE/containerd/config.toml" <<TOML
version = 2
root = "$CLUSTER_STATE/containerd/root"
state = "$CLUSTER_STATE/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CLUSTER_STATE/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CLUSTER_STATE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This machine's processes lack CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below the caller's.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_STATE/cni/net.d"
TOML
cat >"$CLUSTER_STATE/cni/net.d/10-tcpstate.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "tcpstate-cluster",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CLUSTER_STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "loopback"}
  ]
}
JSON
start containerd --mnt containerd --config "$CLUSTER_STATE/containerd/config.toml"
wait_for 30 containerd "containerd's socket" "$CLUSTER_STATE/bin/ctr" version
for image in "$CACHE"/images/*.tar; do
  "$CLUSTER_STATE/bin/ctr" images import "$image" >>"$LOGS/images.log" 2>&1 ||
    fail images "ctr images import $image failed"
done
step "containerd (images imported)"

echo "nameserver $NODE_IP" >"$CLUSTER_STATE/kubelet/resolv.conf"
cat >"$CLUSTER_STATE/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
# With the kernel settings it wants bind-mounted in its mount namespace (up.sh): it changes nothing on the host.
protectKernelDefaults: true
# Otherwise it writes KUBE-FIREWALL rules into the host's iptables.
makeIPTablesUtilChains: false
resolvConf: $CLUSTER_STATE/kubelet/resolv.conf
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
podLogsDir: $CLUSTER_STATE/pod-logs
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: $CLUSTER_DOMAIN
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
staticPodPath: ""
serializeImagePulls: false
# A shared test machine: disk usage of other work must not evict the test's pods.
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML
start kubelet --mnt "$BIN/kubelet" --config="$CLUSTER_STATE/kubelet/config.yaml" \
  --kubeconfig="$CLUSTER_STATE/kubelet.kubeconfig" --root-dir="$CLUSTER_STATE/kubelet/root" \
  --cert-dir="$CLUSTER_STATE/kubelet/pki" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP"

cat >"$CLUSTER_STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $CLUSTER_STATE/kube-proxy.kubeconfig}
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_SUBNET
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# 0: leave the (partly host-wide) conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false}
YAML
start kube-proxy "$BIN/kube-proxy" --config="$CLUSTER_STATE/kube-proxy.yaml"

# The controller-manager makes the default ServiceAccount, without which no pod can be created.
wait_for 60 kube-controller-manager "the default ServiceAccount" "$KUBECTL" -n default get serviceaccount default
step "controller-manager, scheduler"
wait_for 90 kubelet "node $NODE_NAME Ready" "$KUBECTL" wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
step "kubelet (node Ready)"

# --- CoreDNS: a process on the node behind the kube-dns Service ---------------------------------------------------
"$KUBECTL" apply -f - >>"$LOGS/bootstrap.log" 2>&1 <<YAML || fail bootstrap "kubectl apply of the CoreDNS objects failed"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  clusterIP: $DNS_SERVICE_IP
  ports:
    - {name: dns, port: 53, protocol: UDP, targetPort: 53}
    - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-node
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: tcpstate-cluster}
addressType: IPv4
endpoints:
  - addresses: [$NODE_IP]
    conditions: {ready: true}
ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
YAML
cat >"$CLUSTER_STATE/Corefile" <<COREFILE
.:53 {
    bind $NODE_IP
    errors
    ready 127.0.0.1:8181
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $CLUSTER_STATE/coredns.kubeconfig tcpstate
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
COREFILE
start coredns "$BIN/coredns" -conf "$CLUSTER_STATE/Corefile"
wait_for 30 coredns "CoreDNS /ready" in_cluster_net curl -fsS http://127.0.0.1:8181/ready
wait_for 30 kube-proxy "kube-proxy /healthz" in_cluster_net curl -fsS http://127.0.0.1:10256/healthz
step "CoreDNS, kube-proxy"

touch "$CLUSTER_STATE/ready"
cluster_log "up in $((SECONDS - started)) s: $CLUSTER_STATE/bin/kubectl get pods -A"
echo "$CLUSTER_STATE"
