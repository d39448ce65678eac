// In-process fake Kubernetes API server (pods and services) speaking real list/watch semantics over plain HTTP,
// so tests can drive the real @kubernetes/client-node against it.
//
// How client-node 1.4's informer (ListWatch, dist/cache.js + dist/watch.js) reacts, and what consumers must do:
// - Watch stream ends cleanly: it re-watches from its last resourceVersion by itself (cache.js:90-128).
// - 410 Gone, as a watch ERROR event (cache.js:140-145) or an HTTP 410 (cache.js:92-95): it clears its
//   resourceVersion, so when the stream ends it relists (cache.js:105-118), diffing deletions (cache.js:115).
// - Any other failure — watch socket reset ("Premature close"), ECONNREFUSED, 503 on the list (cache.js:111-113)
//   or the watch (watch.js:66-74 -> cache.js:96-98) — fires the "error" callbacks and the informer goes idle
//   FOREVER; it never retries on its own. A consumer must therefore:
//     informer.on("error", () => { if (!stopping) setTimeout(() => void informer.start().catch(log), backoffMs) });
//   start() resumes the watch from the last resourceVersion and only relists if that gets a 410.
// - informer.stop() aborts the live watch, which itself fires "error" (an AbortError): keep your own `stopping`
//   flag so the handler above does not resurrect a stopped informer.
// - makeInformer() takes no fieldSelector in 1.4: use `new ListWatch(path, new Watch(kc), listFn, false,
//   undefined, "spec.nodeName=NODE")` (or put `?fieldSelector=...` into the path).
import { mkdir, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { V1Pod, V1Service } from "@kubernetes/client-node";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface PodSpecInput {
  namespace: string;
  name: string;
  uid?: string;
  node: string;
  ips: string[];
  hostNetwork?: boolean;
  labels?: Record<string, string>;
  owner?: { kind: string; name: string };
}

let uidSeq = 0;

export function makePod(p: PodSpecInput): V1Pod {
  const uid = p.uid ?? `00000000-0000-4000-8000-${String(++uidSeq).padStart(12, "0")}`;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid,
      labels: p.labels ?? {},
      ownerReferences: p.owner
        ? [
            {
              apiVersion: "apps/v1",
              kind: p.owner.kind,
              name: p.owner.name,
              uid: `owner-${p.owner.name}`,
              controller: true,
            },
          ]
        : [],
    },
    spec: { nodeName: p.node, hostNetwork: p.hostNetwork ?? false, containers: [] },
    status: { phase: "Running", podIP: p.ips[0], podIPs: p.ips.map((ip) => ({ ip })) },
  };
}

export interface ServiceSpecInput {
  namespace: string;
  name: string;
  clusterIP: string;
  ports: number[];
}

export function makeService(s: ServiceSpecInput): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: s.name, namespace: s.namespace, uid: `svc-${s.namespace}-${s.name}` },
    spec: {
      clusterIP: s.clusterIP,
      clusterIPs: [s.clusterIP],
      ports: s.ports.map((port) => ({ port, protocol: "TCP" })),
    },
  };
}

type Resource = "pods" | "services";
type KubeObject = V1Pod | V1Service;

interface Change {
  rv: number;
  type: WatchEventType;
  resource: Resource;
  pod: KubeObject;
  prev?: KubeObject; // previous state, so a MODIFIED that leaves/enters a selector becomes DELETED/ADDED
}

interface Filter {
  namespace?: string;
  node?: string;
}

interface Watcher {
  res: http.ServerResponse;
  resource: Resource;
  filter: Filter;
  bookmarks: boolean;
  timer?: NodeJS.Timeout;
}

const matches = (obj: KubeObject | undefined, f: Filter): boolean =>
  !!obj &&
  (f.namespace === undefined || obj.metadata?.namespace === f.namespace) &&
  (f.node === undefined || (obj as V1Pod).spec?.nodeName === f.node);

const podKey = (namespace: string, name: string) => `${namespace}/${name}`;
const resourceOf = (obj: KubeObject): Resource => (obj.kind === "Service" ? "services" : "pods");

function status(code: number, reason: string, message: string) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

export class FakeKubeApi {
  /** Number of list / watch requests answered (503s while down are not counted). */
  listCount = 0;
  watchCount = 0;
  private rv = 1;
  private compactedRv = 1;
  private readonly objects: Record<Resource, Map<string, KubeObject>> = {
    pods: new Map(),
    services: new Map(),
  };
  private readonly pods = this.objects.pods as Map<string, V1Pod>;
  private history: Change[] = [];
  private readonly watchers = new Set<Watcher>();
  private down = false;
  private readonly bookmarkTimer: NodeJS.Timeout;

  constructor(
    private readonly server: http.Server,
    bookmarkIntervalMs: number,
  ) {
    server.on("request", (req, res) => this.handle(req, res));
    this.bookmarkTimer = setInterval(() => this.sendBookmarks(), bookmarkIntervalMs);
    this.bookmarkTimer.unref();
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Writes a no-auth kubeconfig (JSON is valid YAML) pointing at this server; returns its path.
   *  client-node 1.4 refuses http:// servers unless insecure-skip-tls-verify is set (config.js:455). */
  async writeKubeconfig(dir: string): Promise<string> {
    const file = path.join(dir, "kubeconfig");
    const config = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "fake", cluster: { server: this.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "fake", user: {} }],
      contexts: [{ name: "fake", context: { cluster: "fake", user: "fake", namespace: "default" } }],
      "current-context": "fake",
    };
    await mkdir(dir, { recursive: true });
    await writeFile(file, JSON.stringify(config, null, 2));
    return file;
  }

  addPod(pod: V1Pod): V1Pod {
    const key = this.keyOf(pod);
    if (this.pods.has(key)) throw new Error(`pod ${key} already exists`);
    return this.record("ADDED", pod);
  }

  updatePod(pod: V1Pod): V1Pod {
    const prev = this.pods.get(this.keyOf(pod));
    if (!prev) throw new Error(`pod ${this.keyOf(pod)} does not exist`);
    return this.record("MODIFIED", { ...pod, metadata: { ...pod.metadata, uid: prev.metadata?.uid } }, prev);
  }

  deletePod(namespace: string, name: string): V1Pod {
    const prev = this.pods.get(podKey(namespace, name));
    if (!prev) throw new Error(`pod ${podKey(namespace, name)} does not exist`);
    return this.record("DELETED", prev, prev);
  }

  addService(svc: V1Service): V1Service {
    const key = this.keyOf(svc);
    if (this.objects.services.has(key)) throw new Error(`service ${key} already exists`);
    return this.record("ADDED", svc);
  }

  deleteService(namespace: string, name: string): V1Service {
    const prev = this.objects.services.get(podKey(namespace, name));
    if (!prev) throw new Error(`service ${podKey(namespace, name)} does not exist`);
    return this.record("DELETED", prev as V1Service, prev as V1Service);
  }

  /** Like an etcd compaction: watches resuming from any older resourceVersion now get 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  /** Ends every open watch: abruptly (socket reset, like a crash) by default, or with a clean chunked end. */
  closeWatches(opts: { graceful?: boolean } = {}): void {
    for (const w of [...this.watchers]) this.endWatch(w, !opts.graceful);
  }

  /** While down every request gets 503 and open watches are reset, exercising the client's error path. */
  setDown(down: boolean): void {
    this.down = down;
    if (down) this.closeWatches();
  }

  async stop(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    this.closeWatches();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections(); // keep-alive sockets would otherwise hold close() open
    });
  }

  private keyOf(obj: KubeObject): string {
    return podKey(obj.metadata?.namespace ?? "", obj.metadata?.name ?? "");
  }

  private record<T extends KubeObject>(type: WatchEventType, obj: T, prev?: T): T {
    this.rv++;
    const stored: T = structuredClone({
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: String(this.rv) },
    });
    const resource = resourceOf(stored);
    if (type === "DELETED") this.objects[resource].delete(this.keyOf(stored));
    else this.objects[resource].set(this.keyOf(stored), stored);
    const change: Change = { rv: this.rv, type, resource, pod: stored, prev };
    this.history.push(change);
    for (const w of this.watchers) this.send(w, change);
    return structuredClone(stored);
  }

  /** Writes a change if it is visible through the watcher's filter (selector transitions as the apiserver does). */
  private send(w: Watcher, c: Change): void {
    if (c.resource !== w.resource) return;
    const now = c.type !== "DELETED" && matches(c.pod, w.filter);
    const before = c.type !== "ADDED" && matches(c.prev, w.filter);
    if (!now && !before) return;
    const type: WatchEventType = now && before ? "MODIFIED" : now ? "ADDED" : "DELETED";
    w.res.write(`${JSON.stringify({ type, object: c.pod })}\n`);
  }

  private sendBookmarks(): void {
    const object = { kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: String(this.rv) } };
    for (const w of this.watchers)
      if (w.bookmarks) w.res.write(`${JSON.stringify({ type: "BOOKMARK", object })}\n`);
  }

  private endWatch(w: Watcher, abrupt: boolean): void {
    this.watchers.delete(w);
    clearTimeout(w.timer);
    if (abrupt) w.res.destroy();
    else w.res.end();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const reply = this.serve(req, res);
    if (reply) res.writeHead(reply[0], { "Content-Type": "application/json" }).end(JSON.stringify(reply[1]));
  }

  /** Returns [status, body] for plain replies; watches write to `res` themselves and return nothing. */
  private serve(req: http.IncomingMessage, res: http.ServerResponse): [number, unknown] | undefined {
    if (this.down) return [503, status(503, "ServiceUnavailable", "apiserver is shutting down")];
    const url = new URL(req.url ?? "/", "http://fake");
    const route = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/(pods|services)$/.exec(url.pathname);
    if (req.method !== "GET" || !route) return [404, status(404, "NotFound", "not found")];
    const resource = route[2] as Resource;

    const filter: Filter = { namespace: route[1] };
    const fieldSelector = url.searchParams.get("fieldSelector") ?? "";
    for (const term of fieldSelector.split(",").filter(Boolean)) {
      const m = /^spec\.nodeName==?(.*)$/.exec(term);
      if (!m) return [400, status(400, "BadRequest", `unsupported field selector: ${term}`)];
      filter.node = m[1];
    }

    const watch = url.searchParams.get("watch");
    if (watch !== "true" && watch !== "1") {
      this.listCount++;
      const items = [...this.objects[resource].values()].filter((p) => matches(p, filter));
      const metadata = { resourceVersion: String(this.rv) };
      const kind = resource === "pods" ? "PodList" : "ServiceList";
      return [200, { kind, apiVersion: "v1", metadata, items }];
    }
    const fromParam = url.searchParams.get("resourceVersion") ?? "";
    const from = Number(fromParam);
    if (Number.isNaN(from)) return [400, status(400, "BadRequest", `invalid resourceVersion: ${fromParam}`)];

    this.watchCount++;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.flushHeaders(); // the client only sees the watch as open once the headers arrive
    if (fromParam !== "" && from !== 0 && from < this.compactedRv) {
      // A real apiserver answers an expired watch with 200 + an ERROR event, then ends the stream.
      const message = `too old resource version: ${from} (${this.compactedRv})`;
      res.end(`${JSON.stringify({ type: "ERROR", object: status(410, "Expired", message) })}\n`);
      return;
    }

    const w: Watcher = {
      res,
      resource,
      filter,
      bookmarks: url.searchParams.get("allowWatchBookmarks") === "true",
    };
    if (fromParam === "" || from === 0) {
      // "Any"/"most recent" semantics: synthetic ADDED events for the current state, then live changes.
      for (const pod of this.objects[resource].values())
        this.send(w, { rv: this.rv, type: "ADDED", resource, pod });
    } else {
      for (const c of this.history) if (c.rv > from) this.send(w, c);
    }
    const timeout = Number(url.searchParams.get("timeoutSeconds") ?? "0");
    if (timeout > 0) w.timer = setTimeout(() => this.endWatch(w, false), timeout * 1000);
    this.watchers.add(w);
    res.on("close", () => {
      this.watchers.delete(w);
      clearTimeout(w.timer);
    });
  }
}

export async function startFakeKubeApi(opts: { bookmarkIntervalMs?: number } = {}): Promise<FakeKubeApi> {
  const server = http.createServer();
  const fake = new FakeKubeApi(server, opts.bookmarkIntervalMs ?? 1000);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return fake;
}
