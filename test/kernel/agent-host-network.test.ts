/**
 * A hostNetwork pod, for real: processes in a kubepods cgroup in the host netns, listed as hostNetwork in the
 * fake kube API. Its transitions and full-socket gauges go by the socket's cgroup (exact); its TIME_WAIT, which
 * has no owner, is estimated; a host process outside kubepods stays `host`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { zeroCounters } from "../../agent/wire/counters.js";
import type { Counters, NodeSummary, PodEntry } from "../../agent/wire/summary.js";
import {
  type AgentProcess,
  entryOf,
  kubeAgentArgs,
  startAgent,
  waitReady,
} from "../support/agent-process.js";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "../support/fake-kube-api.js";
import { createHostPod, type HostPod } from "../support/host-pod.js";
import { TRAFFIC_SCRIPT } from "../support/traffic.js";

const NODE = "test-node";

/** Runs traffic.mjs in the host netns (optionally inside the pod's cgroup) and resolves with its JSON line. */
function traffic(
  args: string[],
  pod?: HostPod,
): { child: ChildProcess; firstLine: Promise<Record<string, unknown>> } {
  const argv = [process.execPath, TRAFFIC_SCRIPT, ...args];
  const child = pod
    ? pod.spawn(argv)
    : spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  const firstLine = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", (l) =>
      resolve(JSON.parse(l)),
    );
    child.once("exit", (code) => reject(new Error(`traffic ${args.join(" ")} exited ${code}`)));
  });
  return { child, firstLine };
}

/** Connects to 127.0.0.1:port every `everyMs` and closes first, until killed (a steady TIME_WAIT source). */
const PACED_CHURN = `
const net = require("node:net");
const port = Number(process.argv[1]), every = Number(process.argv[2]);
setInterval(() => { const s = net.connect(port, "127.0.0.1", () => s.end()); s.on("error", () => {}); s.resume(); }, every);
console.log("{}");`;

/** Opens `n` connections to 127.0.0.1:port and keeps them. */
const HOLD_OPEN = `
const net = require("node:net");
const port = Number(process.argv[1]), n = Number(process.argv[2]);
let open = 0; const keep = [];
for (let i = 0; i < n; i++) keep.push(net.connect(port, "127.0.0.1", () => { if (++open === n) console.log("{}"); }));
setInterval(() => {}, 1 << 30);`;

function nodeScript(
  pod: HostPod,
  script: string,
  args: string[],
): { child: ChildProcess; firstLine: Promise<unknown> } {
  const child = pod.spawn([process.execPath, "-e", script, ...args]);
  const firstLine = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`script exited ${code}`)));
  });
  return { child, firstLine };
}

/** Host-netns sockets in `state` that belong to the pod's cgroup, as ss sees them. */
/** The host's sockets as `ss -Htan <filter>` lists them, a line each. */
function ssLines(filter: string[], extended = false): string[] {
  return execFileSync("ss", [extended ? "-Htane" : "-Htan", ...filter], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
}

function ssInPod(pod: HostPod, state: string): number {
  const scope = path.basename(pod.scope);
  return ssLines(["state", state], true).filter((l) => l.includes(scope)).length;
}

function ssTimeWaitTo(port: number): number {
  return ssLines(["state", "time-wait", "dport", "=", `:${port}`]).length;
}

function diff(after: Counters, before: Counters): Counters {
  const out = zeroCounters();
  for (const k of Object.keys(out) as (keyof Counters)[]) out[k] = after[k] - before[k];
  return out;
}

describe("agent: a hostNetwork pod (real kernel, cgroup v2, fake kube API)", () => {
  let api: FakeKubeApi;
  let dir: string;
  let pod: HostPod;
  let agent: AgentProcess;
  const children: ChildProcess[] = [];
  const podEntry = (s: NodeSummary): PodEntry => {
    const e = entryOf(s, "hostnet");
    if (!e) throw new Error(`no hostnet entry: ${JSON.stringify(s.pods.map((p) => p.owner))}`);
    return e;
  };
  const next = (n: number) => {
    const target = agent.summaries.length + n;
    return agent.waitForSummary(() => agent.summaries.length >= target, n * 3000 + 10_000);
  };

  beforeAll(async () => {
    pod = await createHostPod();
    api = await startFakeKubeApi();
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-hostnet-"));
    api.addPod(
      makePod({
        namespace: "kube-system",
        name: "hostnet",
        uid: pod.uid,
        node: NODE,
        ips: ["192.0.2.10"],
        hostNetwork: true,
      }),
    );
    agent = await startAgent(kubeAgentArgs(NODE, await api.writeKubeconfig(dir)));
    await waitReady(agent);
  });

  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    const code = await agent?.stop();
    await pod?.destroy();
    await api?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  it("attributes the pod's transitions by cgroup exactly; the host's server stays host", async () => {
    const server = traffic(["server", "--host", "127.0.0.1", "--port", "18080"]);
    children.push(server.child);
    await server.firstLine;
    const before = await next(1);
    const N = 60;
    const client = traffic(["client", "--host", "127.0.0.1", "--port", "18080", "--count", String(N)], pod);
    expect(await client.firstLine).toMatchObject({ ok: N });
    const after = await next(4);
    expect(podEntry(after).owner).toMatchObject({ kind: "pod", namespace: "kube-system", hostNetwork: true });
    expect(diff(podEntry(after).total, podEntry(before).total)).toEqual({
      ...zeroCounters(),
      active_opens: N,
      established: N,
      closes: N,
      time_wait_entries: N,
    });
    const host = (s: NodeSummary) => entryOf(s, "host")?.total.passive_opens ?? 0;
    expect(host(after) - host(before)).toBeGreaterThanOrEqual(N);
  });

  it("reports the pod's ESTABLISHED and CLOSE_WAIT exactly as ss sees its cgroup's sockets", async () => {
    const holder = nodeScript(pod, HOLD_OPEN, ["18080", "12"]);
    children.push(holder.child);
    await holder.firstLine;
    const leak = traffic(["server", "--host", "127.0.0.1", "--port", "18081", "--hold"], pod);
    children.push(leak.child);
    await leak.firstLine;
    const closer = traffic([
      "client",
      "--host",
      "127.0.0.1",
      "--port",
      "18081",
      "--count",
      "15",
      "--concurrency",
      "15",
      "--timeout",
      "1500",
    ]);
    expect(await closer.firstLine).toMatchObject({ failed: 15 });
    const s = await next(2);
    expect(ssInPod(pod, "established")).toBe(12);
    expect(ssInPod(pod, "close-wait")).toBe(15);
    expect(podEntry(s).sockets).toMatchObject({ ESTABLISHED: 12, CLOSE_WAIT: 15, LISTEN: 1 });
    expect(podEntry(s).listeners).toContainEqual(expect.objectContaining({ port: 18081 }));
    // Not counted twice: the host keeps only the host's CLOSE_WAIT (none, unless another process on this
    // machine holds some, which ss sees too).
    const hostCloseWait = ssLines(["state", "close-wait"]).length;
    expect(entryOf(s, "host")?.sockets?.CLOSE_WAIT ?? 0).toBeLessThanOrEqual(hostCloseWait - 15);
  });

  it("estimates the pod's TIME_WAIT within 5% after 60 s of steady traffic, marked estimated", async () => {
    const server = traffic(["server", "--host", "127.0.0.1", "--port", "18082"]);
    children.push(server.child);
    await server.firstLine;
    const churn = nodeScript(pod, PACED_CHURN, ["18082", "100"]);
    children.push(churn.child);
    await churn.firstLine;
    await new Promise((r) => setTimeout(r, 63_000));
    const s = await next(1);
    const truth = ssTimeWaitTo(18082);
    churn.child.kill("SIGKILL");
    expect(truth).toBeGreaterThan(500);
    const estimate = podEntry(s).sockets?.TIME_WAIT ?? 0;
    expect(Math.abs(estimate - truth)).toBeLessThanOrEqual(truth * 0.05);
    expect(podEntry(s).estimated).toEqual(["TIME_WAIT"]);
    expect((await agent.get("/metrics")).text).toMatch(
      /tcpstate_pod_sockets\{namespace="kube-system",pod="hostnet",workload="",state="TIME_WAIT",estimated="true"\} \d+/,
    );
  }, 120_000);
});
