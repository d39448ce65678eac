/** A list/watch of one kind of Kubernetes object that survives the API going away. */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  KubeConfig,
  type KubernetesObject,
  type ListPromise,
  ListWatch,
  Watch,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { Backoff } from "./backoff.js";

/** Whether a kube config can be had: the file given, in-cluster, $KUBECONFIG or ~/.kube/config. */
export function kubeConfigAvailable(path: string | undefined): boolean {
  return (
    path !== undefined ||
    process.env.KUBERNETES_SERVICE_HOST !== undefined ||
    process.env.KUBECONFIG !== undefined ||
    existsSync(join(homedir(), ".kube", "config"))
  );
}

/** In-cluster config when running in a pod, else the file given, else $KUBECONFIG / ~/.kube/config. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export interface KubeListWatchOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The watch path, e.g. /api/v1/pods. */
  path: string;
  list: ListPromise<T>;
  fieldSelector?: string;
  /** What is watched, for log lines ("pods", "services"). */
  what: string;
  logger: Logger;
  onUpsert(obj: T): void;
  onDelete(obj: T): void;
  backoff?: { initialMs: number; maxMs: number };
}

/**
 * client-node's informer re-watches after a clean end and relists after 410 Gone by itself, but goes idle after
 * any other error (connection refused, reset, 5xx): this restarts it with backoff, so an absent API delays
 * names and labels and never stops the process.
 */
export class KubeListWatch<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly retryBackoff: Backoff;
  synced = false;
  errors = 0;

  constructor(private readonly opts: KubeListWatchOptions<T>) {
    this.retryBackoff = new Backoff(this.opts.backoff ?? { initialMs: 1000, maxMs: 30_000 });
    this.informer = new ListWatch<T>(
      opts.path,
      new Watch(opts.kubeConfig),
      opts.list,
      false,
      undefined,
      opts.fieldSelector,
    );
    this.informer.on("add", (o) => opts.onUpsert(o));
    this.informer.on("update", (o) => opts.onUpsert(o));
    this.informer.on("delete", (o) => opts.onDelete(o));
    this.informer.on("connect", () => this.retryBackoff.reset());
    this.informer.on("error", (err) => this.retry(err));
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
        this.opts.logger.info(
          { [this.opts.what]: this.informer.list().length },
          `${this.opts.what} list synced`,
        );
      }
    } catch (err) {
      this.retry(err);
    }
  }

  private retry(err: unknown): void {
    if (this.stopping || this.retryTimer) return;
    this.errors++;
    const delay = this.retryBackoff.next();
    this.opts.logger.warn(
      { err: (err as Error)?.message ?? String(err), retryInMs: delay },
      `kube API list/watch of ${this.opts.what} failed; retrying`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopping) void this.startInformer();
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.informer.stop();
  }
}
