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
import { type CpuHog, startCpuHog } from "../support/cpu-hog.js";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "../support/fake-kube-api.js";
import { cgroup2Root, createHostPod, type HostPod } from "../support/host-pod.js";
import { pacedChurnArgv, watchPacedChurn } from "../support/paced-churn.js";
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

/** Starts a traffic server on a free loopback port (in the pod's cgroup with `pod`); resolves with its port. */
async function listen(children: ChildProcess[], extra: string[] = [], pod?: HostPod): Promise<string> {
  const server = traffic(["server", "--host", "127.0.0.1", "--port", "0", ...extra], pod);
  children.push(server.child);
  return String((await server.firstLine).port);
}

/** A process of the host outside kubepods. */
const host = "host" as const;

/**
 * Keeps `slots` connections to 127.0.0.1:port cycling, each reconnecting every `everyMs` from its own local
 * port and closing first: every connect reuses the TIME_WAIT socket its port left (tcp_tw_reuse on loopback).
 */
const RECYCLE_PORTS = `
const net = require("node:net");
const port = Number(process.argv[1]), slots = Number(process.argv[2]), everyMs = Number(process.argv[3]);
const cycle = (localPort) => {
  const s = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0.1", localPort }, () => s.end());
  let bound = localPort;
  s.on("connect", () => { bound = s.localPort; });
  s.on("error", () => {});
  s.on("close", () => setTimeout(() => cycle(bound), everyMs));
  s.resume();
};
for (let i = 0; i < slots; i++) cycle(undefined);
console.log("{}");`;

/** Opens `n` connections to 127.0.0.1:port and keeps them. */
const HOLD_OPEN = `
const net = require("node:net");
const port = Number(process.argv[1]), n = Number(process.argv[2]);
let open = 0; const keep = [];
for (let i = 0; i < n; i++) keep.push(net.connect(port, "127.0.0.1", () => { if (++open === n) console.log("{}"); }));
setInterval(() => {}, 1 << 30);`;

/** Runs a `node -e` script in the pod's cgroup, or the host's (`host`). */
function nodeScript(
  pod: HostPod | typeof host,
  script: string,
  args: string[],
): { child: ChildProcess; firstLine: Promise<unknown> } {
  const argv = [process.execPath, "-e", script, ...args];
  const child =
    pod === host
      ? spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] })
      : pod.spawn(argv);
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

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
  let hog: CpuHog | undefined;
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
    // PROC_ROOT as the chart sets it: the agent's own reads honour it, the ss it runs must not (iproute2's ss
    // falls back to /proc/net/tcp with it, whose lines name no cgroup, and the pod's gauges would be lost).
    agent = await startAgent(kubeAgentArgs(NODE, await api.writeKubeconfig(dir)), { PROC_ROOT: "/proc" });
    await waitReady(agent);
  });

  afterAll(async () => {
    await hog?.stop();
    for (const c of children) c.kill("SIGKILL");
    const code = await agent?.stop();
    await pod?.destroy();
    await api?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  it("says at start which cgroup v2 root it tells hostNetwork pods apart by", async () => {
    expect(agent.logs).toContainEqual(
      expect.objectContaining({ level: 30, cgroupRoot: await cgroup2Root(), podCgroups: expect.any(Number) }),
    );
  });

  it("attributes the pod's transitions by cgroup exactly; the host's server stays host", async () => {
    const port = await listen(children);
    const before = await next(1);
    const N = 60;
    const client = traffic(["client", "--host", "127.0.0.1", "--port", port, "--count", String(N)], pod);
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
    const holder = nodeScript(pod, HOLD_OPEN, [await listen(children), "12"]);
    children.push(holder.child);
    await holder.firstLine;
    const leakPort = await listen(children, ["--hold"], pod);
    const closer = traffic([
      "client",
      "--host",
      "127.0.0.1",
      "--port",
      leakPort,
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
    expect(podEntry(s).listeners).toContainEqual(expect.objectContaining({ port: Number(leakPort) }));
    // Not counted twice: the host keeps only the host's CLOSE_WAIT (none, unless another process on this
    // machine holds some, which ss sees too).
    const hostCloseWait = ssLines(["state", "close-wait"]).length;
    expect(entryOf(s, "host")?.sockets?.CLOSE_WAIT ?? 0).toBeLessThanOrEqual(hostCloseWait - 15);
  });

  // What a busy node does to the estimate (issue 15, read 86 off of ~600): both cores busy, and the host's own
  // loopback traffic beside the pod's, whose TIME_WAIT sockets leave early (reused by tcp_tw_reuse). Neither
  // may move the pod's estimate (shared out by entries, the host's shortfall took 14% off the pod's).
  it("estimates the pod's TIME_WAIT within 5% after 60 s of steady traffic on a busy node, marked estimated", async () => {
    hog = startCpuHog(2);
    const port = await listen(children);
    // The host's own loopback clients reconnect from the same local ports: each connect reuses its port's
    // TIME_WAIT socket (tcp_tw_reuse), so the host makes ~1,600 entries a minute and holds 40.
    const recycler = nodeScript(host, RECYCLE_PORTS, [await listen(children), "40", "1500"]);
    children.push(recycler.child);
    await recycler.firstLine;
    // 10 connections/s, paced by the clock: the rate holds while the cores are busy.
    const churn = await watchPacedChurn(pod.spawn(pacedChurnArgv("127.0.0.1", Number(port), [[0, 10]])));
    children.push(churn.child);
    await new Promise((r) => setTimeout(r, 63_000));
    // Five windows, each beside what ss sees right after it: the count itself moves by a few percent from one
    // second to the next (the timer wheel expires 2 s of entries at once; a busy core stalls the churn for a
    // moment), so the medians are compared.
    const estimates: number[] = [];
    const truths: number[] = [];
    let s = await next(1);
    for (let i = 0; i < 5; i++) {
      if (i > 0) s = await next(1);
      truths.push(ssTimeWaitTo(Number(port)));
      estimates.push(podEntry(s).sockets?.TIME_WAIT ?? 0);
      expect(podEntry(s).estimated).toEqual(["TIME_WAIT"]);
    }
    churn.child.kill("SIGKILL");
    recycler.child.kill("SIGKILL");
    await hog.stop();
    const estimate = median(estimates);
    const truth = median(truths);
    expect(truth).toBeGreaterThan(500);
    expect(Math.abs(estimate - truth), `estimates ${estimates}, ss ${truths}`).toBeLessThanOrEqual(
      truth * 0.05,
    );
    expect((await agent.get("/metrics")).text).toMatch(
      /tcpstate_agent_pod_sockets\{namespace="kube-system",pod="hostnet",workload="",state="TIME_WAIT",estimated="true"\} \d+/,
    );
  }, 120_000);
});
