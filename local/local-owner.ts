import type { Owner } from "../agent/wire/summary.js";

/** The namespace `tcpstate local` shows this host's network namespaces under. */
export const LOCAL_NAMESPACE = "local";

/**
 * On one host without Kubernetes every network namespace is a "pod": named by `ip netns`, by its container
 * (docker-…, podman-…) or by its process, in the namespace "local", so the API, `top` and the dashboard address
 * it like any pod. The host stays the host.
 */
export function localOwner(owner: Owner): Owner {
  if (owner.kind !== "netns") return owner;
  return {
    kind: "pod",
    namespace: LOCAL_NAMESPACE,
    name: owner.name,
    uid: `${LOCAL_NAMESPACE}/${owner.name}`,
    hostNetwork: false,
    workload: null,
    labels: {},
  };
}
