#!/usr/bin/env bash
# Tears the test cluster down and leaves nothing behind: pods deleted while the kubelet still runs (so their
# network namespaces and mounts are released), then every component in reverse order, leftover container
# processes and shims, the kubepods cgroups, the namespace files and the state directory (the network namespace
# takes the bridge and its iptables rules with it). Safe after a failed or half-done up.sh, and idempotent.
# Usage: bash scripts/cluster/down.sh
source "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || cluster_die "run as root"
[ -e "$CLUSTER_STATE" ] || exit 0

# stop NAME [SECONDS]: SIGTERM to a component up.sh started, SIGKILL after SECONDS (default 10).
stop() {
  local name=$1 grace=${2:-10} pid i
  pid=$(pid_of "$name") || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    [ -d "/proc/$pid" ] || return 0
    sleep 0.1
  done
  cluster_log "$name (pid $pid) ignored SIGTERM for ${grace}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do [ -d "/proc/$pid" ] || return 0; sleep 0.1; done
}

KUBECTL=$CLUSTER_STATE/bin/kubectl
CTR=$CLUSTER_STATE/bin/ctr

# No new pods while the old ones go: the controllers and the scheduler stop first.
stop kube-controller-manager
stop kube-scheduler
if pid_of kubelet >/dev/null && pid_of kube-apiserver >/dev/null; then
  "$KUBECTL" delete pods --all --all-namespaces --grace-period=5 --timeout=60s >/dev/null 2>&1 ||
    cluster_log "deleting the pods did not finish within 60 s: their containers are killed below"
  # The kubelet stops the sandboxes (releasing the pods' network namespaces) as the pods go; what it has not
  # removed yet is removed below.
  for ((i = 0; i < 60; i++)); do
    "$CTR" tasks list 2>/dev/null | grep -q RUNNING || break
    sleep 0.5
  done
fi
stop kubelet
stop kube-proxy
stop coredns
# Whatever the kubelet left: tasks killed and removed through containerd while it still runs.
if pid_of containerd >/dev/null; then
  for task in $("$CTR" tasks list -q 2>/dev/null); do
    "$CTR" tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
  done
  sleep 1
  for task in $("$CTR" tasks list -q 2>/dev/null); do "$CTR" tasks delete -f "$task" >/dev/null 2>&1 || true; done
  for c in $("$CTR" containers list -q 2>/dev/null); do "$CTR" containers delete "$c" >/dev/null 2>&1 || true; done
fi
stop containerd
# The apiserver ignores SIGTERM for a long time once etcd is gone: it stops before etcd.
stop kube-apiserver 15
stop etcd

# Processes left in the pods' cgroups, and the runc shims of this containerd (found by its socket path, which
# only this cluster uses): killed one by one.
leftover_pids() {
  local f pid
  for f in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods /sys/fs/cgroup/unified/kubepods; do
    [ -d "$f" ] && find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    if (tr '\0' ' ' <"$f") 2>/dev/null | grep -qF -- "-address $CONTAINERD_SOCK"; then echo "$pid"; fi
  done
  true
}
for signal in TERM KILL; do
  pids=$(leftover_pids | sort -u)
  [ -z "$pids" ] && break
  for pid in $pids; do kill -"$signal" "$pid" 2>/dev/null || true; done
  sleep 1
done

# Mounts: the kubelet's and containerd's live in the private mount namespace, which ends with its last process
# and its file; a mount left in this namespace under the state directory is undone too.
for f in "$MNTNS_FILE" "$NETNS_FILE" "$CLUSTER_STATE/ns"; do
  if mountpoint -q "$f" 2>/dev/null; then umount "$f"; fi
done
for m in $(awk -v dir="$CLUSTER_STATE/" 'index($5, dir) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
  umount -l "$m" || true
done

# The kubelet's cgroups (cgroupfs driver: kubepods/… in every hierarchy), deepest first. Only that exact name:
# kubepods.slice (the systemd driver's) may belong to other tests of this machine.
for root in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
  for top in "$root"kubepods; do
    [ -d "$top" ] || continue
    find "$top" -depth -type d -exec rmdir {} + 2>/dev/null ||
      cluster_log "cannot remove cgroup $top: $(find "$top" -name cgroup.procs -exec cat {} + 2>/dev/null | head -5 | tr '\n' ' ')"
  done
done

rm -rf "$CLUSTER_STATE" || cluster_die "cannot remove $CLUSTER_STATE"
cluster_log "down"
