import type { CoreV1Api, KubeConfig, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { KubeListWatch } from "../../common/kube-list-watch.js";
import { type PodMeta, podMetaOf } from "./pod-meta.js";

/** The pods known to run on this node, by uid and by address. */
export interface PodLookup {
  readonly synced: boolean;
  byUid(uid: string): PodMeta | undefined;
  byIp(ip: string): PodMeta | undefined;
  all(): Iterable<PodMeta>;
}

export interface PodIndexOptions {
  kubeConfig: KubeConfig;
  coreApi: CoreV1Api;
  nodeName: string;
  logger: Logger;
  maxLabels: number;
  backoff?: { initialMs: number; maxMs: number };
}

/** A list/watch of the pods whose spec.nodeName is this node (restarted with backoff when the API fails). */
export class PodIndex implements PodLookup {
  private readonly pods = new Map<string, PodMeta>();
  private readonly ipToUid = new Map<string, string>();
  private readonly listWatch: KubeListWatch<V1Pod>;

  constructor(private readonly opts: PodIndexOptions) {
    const fieldSelector = `spec.nodeName=${opts.nodeName}`;
    this.listWatch = new KubeListWatch<V1Pod>({
      kubeConfig: opts.kubeConfig,
      path: "/api/v1/pods",
      list: () => opts.coreApi.listPodForAllNamespaces({ fieldSelector }),
      fieldSelector,
      what: "pods",
      logger: opts.logger,
      backoff: opts.backoff,
      onUpsert: (pod) => this.upsert(pod),
      onDelete: (pod) => this.remove(pod),
    });
  }

  get synced(): boolean {
    return this.listWatch.synced;
  }

  get errors(): number {
    return this.listWatch.errors;
  }

  start(): Promise<void> {
    return this.listWatch.start();
  }

  private upsert(pod: V1Pod): void {
    const meta = podMetaOf(pod, this.opts.maxLabels);
    if (!meta) return;
    this.forgetAddresses(meta.uid);
    this.pods.set(meta.uid, meta);
    // hostNetwork pods carry the node's address: it identifies the node, not them.
    if (!meta.hostNetwork) for (const ip of meta.ips) this.ipToUid.set(ip, meta.uid);
  }

  private remove(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    this.forgetAddresses(uid);
    this.pods.delete(uid);
  }

  /** Drops the address → pod entries of `uid` (an address may already point at a newer pod: kept). */
  private forgetAddresses(uid: string): void {
    for (const ip of this.pods.get(uid)?.ips ?? []) if (this.ipToUid.get(ip) === uid) this.ipToUid.delete(ip);
  }

  byUid(uid: string): PodMeta | undefined {
    return this.pods.get(uid);
  }

  byIp(ip: string): PodMeta | undefined {
    const uid = this.ipToUid.get(ip);
    return uid === undefined ? undefined : this.pods.get(uid);
  }

  all(): Iterable<PodMeta> {
    return this.pods.values();
  }

  stop(): Promise<void> {
    return this.listWatch.stop();
  }
}
