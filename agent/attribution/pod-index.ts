import {
  type CoreV1Api,
  type Informer,
  type KubeConfig,
  ListWatch,
  type V1Pod,
  Watch,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
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

/**
 * A list/watch of the pods whose spec.nodeName is this node. client-node's informer re-watches after a clean
 * end and relists after 410 Gone by itself, but goes idle after any other error (connection refused, reset,
 * 5xx): this restarts it with backoff, so an absent API delays labels and never stops the agent.
 */
export class PodIndex implements PodLookup {
  private readonly pods = new Map<string, PodMeta>();
  private readonly ipToUid = new Map<string, string>();
  private readonly informer: Informer<V1Pod> & ListWatch<V1Pod>;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  synced = false;
  errors = 0;

  constructor(private readonly opts: PodIndexOptions) {
    const { coreApi, nodeName } = opts;
    const fieldSelector = `spec.nodeName=${nodeName}`;
    this.backoffMs = this.backoff.initialMs;
    this.informer = new ListWatch<V1Pod>(
      "/api/v1/pods",
      new Watch(opts.kubeConfig),
      () => coreApi.listPodForAllNamespaces({ fieldSelector }),
      false,
      undefined,
      fieldSelector,
    );
    this.informer.on("add", (pod) => this.upsert(pod));
    this.informer.on("update", (pod) => this.upsert(pod));
    this.informer.on("delete", (pod) => this.remove(pod));
    this.informer.on("connect", () => {
      this.backoffMs = this.backoff.initialMs;
    });
    this.informer.on("error", (err) => this.retry(err));
  }

  private get backoff() {
    return this.opts.backoff ?? { initialMs: 1000, maxMs: 30_000 };
  }

  async start(): Promise<void> {
    this.stopping = false;
    await this.startInformer();
  }

  private async startInformer(): Promise<void> {
    try {
      // start() lists (unless it can resume a watch) and starts the watch; a failed list only fires "error",
      // so a resourceVersion is what says the list arrived.
      await this.informer.start();
      if (!this.synced && this.informer.latestResourceVersion() !== "") {
        this.synced = true;
        this.opts.logger.info({ pods: this.pods.size }, "pod list synced from the kube API");
      }
    } catch (err) {
      this.retry(err);
    }
  }

  private retry(err: unknown): void {
    if (this.stopping || this.retryTimer) return;
    this.errors++;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.backoff.maxMs);
    this.opts.logger.warn(
      { err: (err as Error)?.message ?? String(err), retryInMs: delay },
      "kube API list/watch of pods failed; retrying",
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopping) void this.startInformer();
    }, delay);
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

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.informer.stop();
  }
}
