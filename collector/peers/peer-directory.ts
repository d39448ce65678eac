import { CoreV1Api, type KubeConfig, type V1Pod, type V1Service } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { splitEndpoint } from "../../agent/wire/endpoint.js";
import { KubeListWatch } from "../../common/kube-list-watch.js";

export type PeerKind = "service" | "pod";

export interface Peer {
  kind: PeerKind;
  /** namespace/name */
  name: string;
}

/** Who an address belongs to, cluster-wide. */
export interface PeerLookup {
  byIp(ip: string): Peer | undefined;
}

/** "payments/postgres:5432" for an endpoint whose address is a known Service or pod, else null. */
export function peerName(peers: PeerLookup, endpoint: string): { peer: string; kind: PeerKind } | null {
  const split = splitEndpoint(endpoint);
  const found = split && peers.byIp(split.address);
  return found && split ? { peer: `${found.name}:${split.port}`, kind: found.kind } : null;
}

/**
 * Every pod and Service address in the cluster (one read-only list/watch of each), so top destinations read
 * "payments/postgres:5432" rather than an IP. A Service's cluster IP wins over a pod IP (they never collide in
 * a sane cluster; if they do, the Service is what clients dialled). hostNetwork pods share the node's address
 * and so name nobody.
 */
export class PeerDirectory implements PeerLookup {
  private readonly pods = new Map<string, Peer>();
  private readonly services = new Map<string, Peer>();
  /** object uid → the addresses it registered, so an update or delete removes exactly those. */
  private readonly addresses = new Map<string, string[]>();
  private readonly watches: KubeListWatch<V1Pod | V1Service>[];

  constructor(kubeConfig: KubeConfig, logger: Logger) {
    const api = kubeConfig.makeApiClient(CoreV1Api);
    const pods = new KubeListWatch<V1Pod>({
      kubeConfig,
      path: "/api/v1/pods",
      list: () => api.listPodForAllNamespaces(),
      what: "pods",
      logger,
      onUpsert: (p) =>
        this.set(
          this.pods,
          p,
          p.spec?.hostNetwork ? [] : (p.status?.podIPs?.map((a) => a.ip) ?? [p.status?.podIP ?? ""]),
        ),
      onDelete: (p) => this.set(this.pods, p, []),
    });
    const services = new KubeListWatch<V1Service>({
      kubeConfig,
      path: "/api/v1/services",
      list: () => api.listServiceForAllNamespaces(),
      what: "services",
      logger,
      onUpsert: (s) =>
        this.set(
          this.services,
          s,
          (s.spec?.clusterIPs ?? [s.spec?.clusterIP ?? ""]).filter((ip) => ip !== "None"),
        ),
      onDelete: (s) => this.set(this.services, s, []),
    });
    this.watches = [pods, services] as KubeListWatch<V1Pod | V1Service>[];
  }

  private set(into: Map<string, Peer>, obj: V1Pod | V1Service, ips: string[]): void {
    const uid = obj.metadata?.uid ?? `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    const kind: PeerKind = into === this.services ? "service" : "pod";
    const name = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    for (const ip of this.addresses.get(uid) ?? []) if (into.get(ip)?.name === name) into.delete(ip);
    const kept = ips.filter(Boolean);
    for (const ip of kept) into.set(ip, { kind, name });
    if (kept.length) this.addresses.set(uid, kept);
    else this.addresses.delete(uid);
  }

  get synced(): boolean {
    return this.watches.every((w) => w.synced);
  }

  byIp(ip: string): Peer | undefined {
    return this.services.get(ip) ?? this.pods.get(ip);
  }

  async start(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.stop()));
  }
}
