import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  CoreV1Api,
  type Informer,
  KubeConfig,
  ListWatch,
  makeInformer,
  type ObjectCache,
  type V1Pod,
  Watch,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "./fake-kube-api.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const names = (pods: readonly V1Pod[]) =>
  pods.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort();

interface Harness {
  informer: Informer<V1Pod> & ObjectCache<V1Pod>;
  events: string[];
  errors: Array<{ code?: unknown; statusCode?: unknown; message?: string }>;
  stop(): Promise<void>;
}

/** The consumer pattern client-node 1.4 needs: restart the informer from its "error" handler (see fake-kube-api.ts). */
function nodeInformer(
  kc: KubeConfig,
  node: string,
  how: "makeInformer" | "ListWatch" = "makeInformer",
): Harness {
  const api = kc.makeApiClient(CoreV1Api);
  const fieldSelector = `spec.nodeName=${node}`;
  const listFn = () => api.listPodForAllNamespaces({ fieldSelector });
  const informer =
    how === "makeInformer"
      ? // makeInformer has no fieldSelector parameter: it has to ride along in the path's query string.
        makeInformer<V1Pod>(
          kc,
          `/api/v1/pods?allowWatchBookmarks=true&fieldSelector=${encodeURIComponent(fieldSelector)}`,
          listFn,
        )
      : new ListWatch<V1Pod>("/api/v1/pods", new Watch(kc), listFn, false, undefined, fieldSelector);
  const h: Harness = { informer, events: [], errors: [], stop: async () => {} };
  let stopping = false;
  let restart: NodeJS.Timeout | undefined;
  for (const verb of ["add", "update", "delete"] as const) {
    informer.on(verb, (p) => h.events.push(`${verb}:${p.metadata?.name}`));
  }
  informer.on("error", (err) => {
    h.errors.push(err);
    if (stopping) return; // stop() itself reports an AbortError here
    restart = setTimeout(() => void informer.start().catch(() => {}), 200);
  });
  h.stop = async () => {
    stopping = true;
    clearTimeout(restart);
    await informer.stop();
  };
  return h;
}

describe("fake kube API", () => {
  let fake: FakeKubeApi;
  let kc: KubeConfig;
  let dir: string;
  const harnesses: Harness[] = [];
  const start = async (h: Harness) => {
    harnesses.push(h);
    await h.informer.start();
    return h;
  };

  beforeEach(async () => {
    fake = await startFakeKubeApi({ bookmarkIntervalMs: 100 });
    dir = await mkdtemp(path.join(os.tmpdir(), "fake-kube-"));
    kc = new KubeConfig();
    kc.loadFromFile(await fake.writeKubeconfig(dir));
    fake.addPod(makePod({ namespace: "ns1", name: "a1", node: "node-a", ips: ["10.0.0.1"] }));
    fake.addPod(
      makePod({ namespace: "ns2", name: "a2", node: "node-a", ips: ["10.0.0.2"], labels: { app: "x" } }),
    );
    fake.addPod(makePod({ namespace: "ns1", name: "b1", node: "node-b", ips: ["10.0.1.1"] }));
  });

  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.stop();
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves PodLists through CoreV1Api, filtered by node and namespace", async () => {
    const api = kc.makeApiClient(CoreV1Api);
    const all = await api.listPodForAllNamespaces();
    expect(names(all.items)).toEqual(["ns1/a1", "ns1/b1", "ns2/a2"]);
    expect(all.metadata?.resourceVersion).toBe(fake.resourceVersion);

    const onA = await api.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=node-a" });
    expect(names(onA.items)).toEqual(["ns1/a1", "ns2/a2"]);
    const a1 = onA.items.find((p) => p.metadata?.name === "a1");
    expect(a1?.status?.podIPs).toEqual([{ ip: "10.0.0.1" }]);
    expect(a1?.spec?.nodeName).toBe("node-a");

    const ns1OnA = await api.listNamespacedPod({ namespace: "ns1", fieldSelector: "spec.nodeName=node-a" });
    expect(names(ns1OnA.items)).toEqual(["ns1/a1"]);
    await expect(
      api.listPodForAllNamespaces({ fieldSelector: "status.phase=Running" }),
    ).rejects.toMatchObject({
      code: 400,
    });

    const before = Number(fake.resourceVersion);
    fake.deletePod("ns1", "b1");
    expect(Number(fake.resourceVersion)).toBe(before + 1);
    expect(fake.listCount).toBe(3); // the rejected (400) request is not a served list
  });

  it("streams watch events, bookmarks, timeoutSeconds and 410 Expired like an apiserver", async () => {
    type Event = { type: string; object: { metadata?: { name?: string } } };
    const watchOnce = (query: Record<string, string | number | boolean>) =>
      new Promise<{ events: Event[]; err: unknown }>((resolve) => {
        const events: Event[] = [];
        void new Watch(kc).watch(
          "/api/v1/namespaces/ns1/pods",
          query,
          (type, object) => events.push({ type, object }),
          (err) => resolve({ events, err }),
        );
      });

    // Replay from RV 1 (before any pod existed), bookmarks interleaved, stream ended by timeoutSeconds.
    const t0 = Date.now();
    const replay = await watchOnce({ resourceVersion: "1", allowWatchBookmarks: true, timeoutSeconds: 1 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(replay.err).toBeNull();
    expect(
      replay.events.filter((e) => e.type !== "BOOKMARK").map((e) => `${e.type}:${e.object.metadata?.name}`),
    ).toEqual(["ADDED:a1", "ADDED:b1"]);
    expect(replay.events.some((e) => e.type === "BOOKMARK")).toBe(true);

    fake.compact();
    const expired = await watchOnce({ resourceVersion: "1" });
    expect(expired.err).toBeNull(); // a 200 stream that ends, not an HTTP error
    expect(expired.events).toEqual([
      {
        type: "ERROR",
        object: expect.objectContaining({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          reason: "Expired",
          code: 410,
          message: `too old resource version: 1 (${fake.resourceVersion})`,
        }),
      },
    ]);

    // watch=1 works too, and no bookmarks are sent unless asked for.
    const res = await fetch(`${fake.url}/api/v1/pods?watch=1&resourceVersion=0&timeoutSeconds=1`);
    const lines = (await res.text()).trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(["ADDED", "ADDED", "ADDED"]);
    expect(fake.watchCount).toBe(3);
  });

  it.each(["makeInformer", "ListWatch"] as const)(
    "%s: initial list is filtered to one node, then add/update/delete arrive as events",
    async (how) => {
      const h = await start(nodeInformer(kc, "node-a", how));
      await waitFor("initial list", () => h.informer.list().length === 2);
      expect(names(h.informer.list())).toEqual(["ns1/a1", "ns2/a2"]);
      expect(h.events.sort()).toEqual(["add:a1", "add:a2"]);
      h.events.length = 0;

      fake.addPod(makePod({ namespace: "ns1", name: "a3", node: "node-a", ips: ["10.0.0.3"] }));
      fake.addPod(makePod({ namespace: "ns1", name: "b2", node: "node-b", ips: ["10.0.1.2"] }));
      fake.updatePod(makePod({ namespace: "ns1", name: "a1", node: "node-a", ips: ["10.0.0.11"] }));
      fake.updatePod(makePod({ namespace: "ns1", name: "b1", node: "node-b", ips: ["10.0.1.11"] }));
      fake.deletePod("ns2", "a2");
      await waitFor("events", () => h.events.length === 3);
      await sleep(300); // several bookmarks go by; none may surface as an event
      expect(h.events).toEqual(["add:a3", "update:a1", "delete:a2"]);
      expect(h.informer.get("a1", "ns1")?.status?.podIP).toBe("10.0.0.11");
      expect(names(h.informer.list())).toEqual(["ns1/a1", "ns1/a3"]);
      expect(h.errors).toEqual([]);
      expect(fake.listCount).toBe(1);
    },
  );

  it("after compact() + closeWatches() the informer relists and converges", async () => {
    const h = await start(nodeInformer(kc, "node-a"));
    await waitFor("initial list", () => h.informer.list().length === 2);
    const lists = fake.listCount;
    h.events.length = 0;

    fake.closeWatches(); // abrupt: the informer reports "Premature close" and goes idle until restarted
    await waitFor("watch error", () => h.errors.length === 1);
    expect(h.errors[0]?.code).toBe("ERR_STREAM_PREMATURE_CLOSE");
    // While disconnected (the harness restarts after 200 ms): churn, then compact past the informer's RV.
    fake.addPod(makePod({ namespace: "ns1", name: "a3", node: "node-a", ips: ["10.0.0.3"] }));
    fake.deletePod("ns1", "a1");
    fake.compact();

    await waitFor("relist", () => fake.listCount > lists);
    await waitFor("converged", () => names(h.informer.list()).join() === "ns1/a3,ns2/a2");
    expect(h.events.sort()).toEqual(["add:a3", "delete:a1"]);
    expect(h.errors).toHaveLength(1); // the 410 itself is handled inside the informer

    fake.addPod(makePod({ namespace: "ns1", name: "a4", node: "node-a", ips: ["10.0.0.4"] }));
    await waitFor("live after relist", () => h.informer.get("a4", "ns1") !== undefined);
  });

  it("a graceful watch close is resumed by the informer itself; with compaction it relists via 410", async () => {
    const h = await start(nodeInformer(kc, "node-a"));
    await waitFor("initial list", () => h.informer.list().length === 2);
    const { listCount, watchCount } = fake;

    // Resume from the last RV: the change made in the gap is replayed, no relist.
    fake.closeWatches({ graceful: true });
    fake.addPod(makePod({ namespace: "ns1", name: "a3", node: "node-a", ips: ["10.0.0.3"] }));
    await waitFor("replayed add", () => h.informer.get("a3", "ns1") !== undefined);
    expect(fake.watchCount).toBe(watchCount + 1);
    expect(fake.listCount).toBe(listCount);

    // A change invisible to this node's watch leaves the informer's RV behind the compaction point.
    fake.updatePod(makePod({ namespace: "ns1", name: "b1", node: "node-b", ips: ["10.0.1.11"] }));
    fake.compact();
    fake.closeWatches({ graceful: true });
    await waitFor("relist", () => fake.listCount === listCount + 1);
    await waitFor("new watch", () => fake.watchCount === watchCount + 3);
    expect(names(h.informer.list())).toEqual(["ns1/a1", "ns1/a3", "ns2/a2"]);
    expect(h.errors).toEqual([]);
  });

  it("recovers from an outage (503s) once restarted from the error handler", async () => {
    const h = await start(nodeInformer(kc, "node-a"));
    await waitFor("initial list", () => h.informer.list().length === 2);

    fake.setDown(true);
    fake.addPod(makePod({ namespace: "ns1", name: "a3", node: "node-a", ips: ["10.0.0.3"] }));
    fake.deletePod("ns1", "a1");
    await sleep(2000);
    expect(h.errors.length).toBeGreaterThan(2); // the reset watch, then each restart is refused
    expect(h.errors.some((e) => e.statusCode === 503)).toBe(true);
    expect(names(h.informer.list())).toEqual(["ns1/a1", "ns2/a2"]); // stale while down

    fake.setDown(false);
    await waitFor("converged", () => names(h.informer.list()).join() === "ns1/a3,ns2/a2");
    fake.addPod(makePod({ namespace: "ns1", name: "a4", node: "node-a", ips: ["10.0.0.4"] }));
    await waitFor("live after outage", () => h.informer.get("a4", "ns1") !== undefined);
  });

  it("informer.stop() reports an AbortError through 'error' (why consumers need their own stop flag)", async () => {
    const h = await start(nodeInformer(kc, "node-a"));
    await waitFor("initial list", () => h.informer.list().length === 2);
    await h.stop();
    await waitFor("abort error", () => h.errors.length === 1);
    expect(h.errors[0]?.message).toMatch(/aborted/);
    await sleep(400); // the guarded handler must not have restarted it
    expect(fake.watchCount).toBe(1);
  });
});
