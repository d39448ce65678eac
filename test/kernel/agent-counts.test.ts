/**
 * The agent's kernel pipeline for real: bpftrace on the host's tracepoint, "pods" as network namespaces with
 * pod IPs, listed in a fake kube API driven through the real client library.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { zeroCounters } from "../../agent/wire/counters.js";
import type { Counters, NodeSummary } from "../../agent/wire/summary.js";
import {
  type AgentProcess,
  bpftraceChildren,
  entryOf,
  kubeAgentArgs,
  startAgent,
  waitReady,
} from "../support/agent-process.js";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "../support/fake-kube-api.js";
import { createPodNetwork, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { runChurn, runClient, type ServerHandle, startServer } from "../support/traffic.js";

const NODE = "test-node";
const N = 40;
const PORT = 8080;
const ZERO: Counters = zeroCounters();

function totals(summary: NodeSummary, name: string): Counters {
  return entryOf(summary, name)?.total ?? ZERO;
}

function diff(after: Counters, before: Counters): Counters {
  const out = { ...ZERO };
  for (const k of Object.keys(out) as (keyof Counters)[]) out[k] = after[k] - before[k];
  return out;
}

/** Waits for `windows` more summaries: the kernel maps are read every second and reach a window ≤ 2 s late. */
async function settle(agent: AgentProcess, windows = 4): Promise<NodeSummary> {
  const target = agent.summaries.length + windows;
  return agent.waitForSummary(() => agent.summaries.length >= target, windows * 3000 + 10_000);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("agent: exact per-pod transition counts (real kernel, fake kube API)", () => {
  let net: PodNetwork;
  let a: Pod;
  let b: Pod;
  let c: Pod;
  let d: Pod;
  let api: FakeKubeApi;
  let kubeconfig: string;
  let dir: string;
  let agent: AgentProcess;
  let server: ServerHandle;

  beforeAll(async () => {
    net = await createPodNetwork({ prefix: "tk" });
    a = await net.addPod("a", { ipv4: "10.244.1.11", ipv6: "fd00:244:1::11" });
    b = await net.addPod("b", { ipv4: "10.244.1.12", ipv6: "fd00:244:1::12" });
    c = await net.addPod("c", { ipv4: "10.244.1.13", ipv6: "fd00:244:1::13" });
    d = await net.addPod("d", { ipv4: "10.244.1.14", ipv6: "fd00:244:1::14" });
    api = await startFakeKubeApi();
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-kernel-"));
    kubeconfig = await api.writeKubeconfig(dir);
    const owner = { kind: "ReplicaSet", name: "client-7d9f8b6c5" };
    api.addPod(
      makePod({
        namespace: "shop",
        name: "a",
        node: NODE,
        ips: [a.ipv4, a.ipv6],
        owner,
        labels: { "pod-template-hash": "7d9f8b6c5" },
      }),
    );
    api.addPod(makePod({ namespace: "shop", name: "b", node: NODE, ips: [b.ipv4, b.ipv6] }));
    api.addPod(makePod({ namespace: "shop", name: "c", node: NODE, ips: [c.ipv4, c.ipv6] }));
    // Same IPs on another node: must never be picked for this node's netns.
    api.addPod(makePod({ namespace: "other", name: "elsewhere", node: "node-2", ips: ["10.244.9.9"] }));
    server = await startServer(b, "::", PORT);
    agent = await startAgent(kubeAgentArgs(NODE, kubeconfig));
    await waitReady(agent);
  });

  afterAll(async () => {
    const children = agent ? bpftraceChildren(agent) : [];
    const code = await agent?.stop();
    await server?.stop().catch(() => undefined);
    await api?.stop();
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
    expect(code).toBe(0);
    // No orphan: the bpftrace processes the agent ran are gone with it.
    expect(children.length).toBeGreaterThan(0);
    expect(children.filter(isAlive)).toEqual([]);
  });

  it("labels pods with their workload and reports an idle pod with zeros", async () => {
    const s = await settle(agent, 2);
    const podA = entryOf(s, "a")?.owner;
    expect(podA).toMatchObject({
      kind: "pod",
      namespace: "shop",
      workload: { kind: "Deployment", name: "client" },
    });
    expect(entryOf(s, "c")).toMatchObject({ owner: { kind: "pod", namespace: "shop" }, total: ZERO });
    expect(entryOf(s, "elsewhere")).toBeUndefined();
  });

  for (const family of ["ipv4", "ipv6"] as const) {
    it(`counts N client-closed connections exactly on both ends (${family})`, async () => {
      const before = await settle(agent, 1);
      const result = await runClient(a, { host: b[family], port: PORT, count: N, mode: "close-first" });
      expect(result).toMatchObject({ ok: N, failed: 0 });
      const after = await settle(agent);
      expect(diff(totals(after, "a"), totals(before, "a"))).toEqual({
        ...ZERO,
        active_opens: N,
        established: N,
        closes: N,
        time_wait_entries: N,
      });
      expect(diff(totals(after, "b"), totals(before, "b"))).toEqual({
        ...ZERO,
        passive_opens: N,
        established: N,
        closes: N,
      });
      expect(totals(after, "c")).toEqual(ZERO);
      // Nothing of A or B lands on an unlabelled netns or the host.
      const stray = after.pods.filter(
        (p) => p.owner.kind !== "pod" && p.netns.some((i) => i === a.netnsInode || i === b.netnsInode),
      );
      expect(stray).toEqual([]);
    });
  }

  it("counts refused connects as failed_connects and RSTs as resets", async () => {
    const before = await settle(agent, 1);
    const refused = await runClient(a, { host: b.ipv4, port: PORT + 1, count: 10, mode: "refused" });
    expect(refused.failed).toBe(10);
    const reset = await runClient(a, { host: b.ipv4, port: PORT, count: 10, mode: "reset" });
    expect(reset.ok).toBe(10);
    const after = await settle(agent);
    const da = diff(totals(after, "a"), totals(before, "a"));
    expect(da).toMatchObject({
      active_opens: 20,
      failed_connects: 10,
      established: 10,
      resets: 10,
      closes: 10,
    });
    const db = diff(totals(after, "b"), totals(before, "b"));
    expect(db).toMatchObject({ passive_opens: 10, resets: 10 });
  });

  it("counts a pod's traffic before the kube API knows it, and labels it from the next window", async () => {
    const before = await settle(agent, 1);
    expect(entryOf(before, "d")).toBeUndefined();
    await runClient(d, { host: b.ipv4, port: PORT, count: N, mode: "close-first" });
    const unlabelled = await settle(agent);
    const asNetns = unlabelled.pods.find((p) => p.netns.includes(d.netnsInode));
    expect(asNetns?.owner).toEqual({ kind: "netns", name: d.netns });
    expect(asNetns?.total.active_opens).toBe(N);
    api.addPod(makePod({ namespace: "shop", name: "d", node: NODE, ips: [d.ipv4, d.ipv6] }));
    const labelled = await agent.waitForSummary((s) => entryOf(s, "d")?.owner.kind === "pod", 10_000);
    expect(totals(labelled, "d").active_opens).toBe(N);
    expect(labelled.pods.filter((p) => p.owner.kind === "netns" && p.netns.includes(d.netnsInode))).toEqual(
      [],
    );
  });

  it("survives 410 Gone mid-watch: relists, loses no count", async () => {
    const before = await settle(agent, 1);
    const lists = api.listCount;
    const traffic = runClient(a, { host: b.ipv4, port: PORT, count: N, concurrency: 4, mode: "close-first" });
    // The watch breaks, the pod set changes meanwhile and the history is compacted: resuming gets 410 Gone.
    api.closeWatches();
    api.addPod(makePod({ namespace: "shop", name: "e", node: NODE, ips: ["10.244.1.15"] }));
    api.compact();
    await traffic;
    const after = await settle(agent, 6);
    expect(api.listCount).toBeGreaterThan(lists);
    expect(entryOf(after, "e")?.owner.kind).toBe("pod");
    expect(diff(totals(after, "a"), totals(before, "a")).active_opens).toBe(N);
    expect(entryOf(after, "a")?.owner.kind).toBe("pod");
  });

  it("streams live transitions with their pod on /events, only while a client listens", async () => {
    expect(bpftraceChildren(agent)).toHaveLength(1);
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${agent.metricsPort}/events`, { signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const events: { owner: { name: string }; from: string; to: string; daddr: string; dport: number }[] = [];
    const reading = (async () => {
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buf += new TextDecoder().decode(value);
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        for (const l of lines) if (l) events.push(JSON.parse(l));
      }
    })();
    // The stream's bpftrace attaches asynchronously: keep connecting until its events arrive.
    const deadline = Date.now() + 15_000;
    while (!events.some((e) => e.owner.name === "a" && e.to === "SYN_SENT") && Date.now() < deadline)
      await runClient(a, { host: b.ipv4, port: PORT, count: 2, mode: "close-first" });
    controller.abort();
    await reading;
    const fromA = events.filter((e) => e.owner.name === "a");
    expect(
      fromA.some((e) => e.from === "CLOSE" && e.to === "SYN_SENT" && e.daddr === b.ipv4 && e.dport === PORT),
    ).toBe(true);
    expect(events.some((e) => e.owner.name === "b" && e.from === "LISTEN" && e.to === "SYN_RECV")).toBe(true);
    await expect.poll(() => bpftraceChildren(agent), { timeout: 10_000 }).toHaveLength(1);
  });

  it("ends a deleted pod's series (summary and /metrics)", async () => {
    await settle(agent, 1);
    expect((await agent.get("/metrics")).text).toContain('pod="c"');
    api.deletePod("shop", "c");
    const s = await agent.waitForSummary((x) => entryOf(x, "c") === undefined, 10_000);
    expect(s.pods.some((p) => p.owner.kind === "pod" && p.owner.name === "c")).toBe(false);
    expect((await agent.get("/metrics")).text).not.toContain('pod="c"');
  });

  it("restarts a SIGKILLed bpftrace: marks the window incomplete, never double counts, counts exactly after", async () => {
    const before = await settle(agent, 1);
    const [victim] = bpftraceChildren(agent);
    expect(victim).toBeGreaterThan(0);
    const churn = runChurn(a, { host: b.ipv4, port: PORT, seconds: 3, concurrency: 4 });
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(victim as number, "SIGKILL");
    const churned = await churn;
    expect(churned.connections).toBeGreaterThan(0);
    const restarted = await agent.waitForSummary(
      (s) => s.health.bpftraceRestarts >= 1 && s.health.bpftraceUp,
      20_000,
    );
    expect(
      agent.summaries.some(
        (s) => !s.complete && s.incompleteReasons.some((r) => r.includes("bpftrace exited")),
      ),
    ).toBe(true);
    // Running totals never go backwards, and what was counted is never more than what happened.
    const seen = agent.summaries.filter((s) => s.seq >= before.seq).map((s) => totals(s, "a").active_opens);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] as number);
    expect(totals(restarted, "a").active_opens - totals(before, "a").active_opens).toBeLessThanOrEqual(
      churned.connections,
    );
    expect((await agent.get("/metrics")).text).toMatch(/^tcpstate_agent_bpftrace_restarts_total [1-9]/m);
    // After the restart: exact again. The restarted bpftrace saw the churn's last second: let those counts
    // arrive (a few windows) before the baseline, or they land in the measured interval.
    await waitReady(agent);
    const mid = await settle(agent);
    await runClient(a, { host: b.ipv4, port: PORT, count: N, mode: "close-first" });
    const after = await settle(agent);
    expect(diff(totals(after, "a"), totals(mid, "a"))).toMatchObject({
      active_opens: N,
      closes: N,
      time_wait_entries: N,
    });
    expect(after.complete).toBe(true);
  });
});

describe("agent: kube API absent at start-up", () => {
  it("delays labels, not counts", async () => {
    const net = await createPodNetwork({ prefix: "tk" });
    const api = await startFakeKubeApi();
    const dir = await mkdtemp(path.join(tmpdir(), "tcpstate-kernel-"));
    let agent: AgentProcess | undefined;
    let server: ServerHandle | undefined;
    try {
      const a = await net.addPod("a", { ipv4: "10.244.2.11", ipv6: "fd00:244:2::11" });
      const b = await net.addPod("b", { ipv4: "10.244.2.12", ipv6: "fd00:244:2::12" });
      api.addPod(makePod({ namespace: "web", name: "a", node: NODE, ips: [a.ipv4] }));
      api.addPod(makePod({ namespace: "web", name: "b", node: NODE, ips: [b.ipv4] }));
      api.setDown(true);
      server = await startServer(b, "0.0.0.0", PORT);
      agent = await startAgent(kubeAgentArgs(NODE, await api.writeKubeconfig(dir)));
      await agent.waitForSummary((s) => s.health.bpftraceUp, 15_000);
      expect((await agent.get("/readyz")).status).toBe(503);
      await runClient(a, { host: b.ipv4, port: PORT, count: N, mode: "close-first" });
      const unlabelled = await settle(agent);
      expect(unlabelled.health.podListSynced).toBe(false);
      expect(unlabelled.pods.find((p) => p.netns.includes(a.netnsInode))?.total.active_opens).toBe(N);
      api.setDown(false);
      const labelled = await agent.waitForSummary((s) => entryOf(s, "a")?.owner.kind === "pod", 40_000);
      expect(totals(labelled, "a")).toMatchObject({ active_opens: N, time_wait_entries: N });
      expect(totals(labelled, "b")).toMatchObject({ passive_opens: N });
      await waitReady(agent);
    } finally {
      expect(await agent?.stop()).toBe(0);
      await server?.stop().catch(() => undefined);
      await api.stop();
      await net.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
