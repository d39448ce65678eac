/**
 * Derived socket gauges, for real: the gauge reader fed by transitions.bt (through the counter and the ledger)
 * keeps each pod netns's gauges equal to `ss` in that netns, while reading its socket table only at first sight,
 * after the count stream broke, and for what has no transition — not in every window the netns was busy.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentMetrics } from "../../agent/agent-metrics.js";
import { type NetnsHandle, processHandle } from "../../agent/attribution/netns-handle.js";
import { NetnsGaugeReader, type NetnsGauges } from "../../agent/gauges/netns-gauges.js";
import { TransitionLedger } from "../../agent/gauges/transition-ledger.js";
import { BpftraceSupervisor } from "../../agent/probe/supervisor.js";
import { NodeWindow } from "../../agent/window/node-window.js";
import { TransitionCounter } from "../../agent/window/transition-counter.js";
import { GAUGE_STATES, type GaugeState } from "../../agent/wire/gauges.js";
import { bpftraceChildrenOf } from "../support/agent-process.js";
import { createPodNetwork, exec, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { runChurn, runClient, type ServerHandle, startServer } from "../support/traffic.js";

const PROGRAM = fileURLToPath(new URL("../../agent/probe/transitions.bt", import.meta.url));

/** ss's state filter names. */
const SS_STATE: Record<GaugeState, string> = {
  ESTABLISHED: "established",
  SYN_SENT: "syn-sent",
  SYN_RECV: "syn-recv",
  FIN_WAIT1: "fin-wait-1",
  FIN_WAIT2: "fin-wait-2",
  TIME_WAIT: "time-wait",
  CLOSE_WAIT: "close-wait",
  LAST_ACK: "last-ack",
  CLOSING: "closing",
  LISTEN: "listening",
};

/** Every state's count in the pod's netns, as ss lists them. */
async function ssGauges(pod: Pod): Promise<Record<GaugeState, number>> {
  const out = {} as Record<GaugeState, number>;
  for (const s of GAUGE_STATES)
    out[s] = (await exec(pod, ["ss", "-Htan", "state", SS_STATE[s]])).split("\n").filter(Boolean).length;
  return out;
}

/** Opens `n` connections from the pod to host:port and keeps them (ESTABLISHED on both ends). */
function holdOpen(
  pod: Pod,
  host: string,
  port: number,
  n: number,
): { child: ChildProcess; ready: Promise<void> } {
  const script = `
const net = require("node:net");
let open = 0; const keep = [];
for (let i = 0; i < ${n}; i++) keep.push(net.connect(${port}, "${host}", () => { if (++open === ${n}) console.log("{}"); }));
setInterval(() => {}, 1 << 30);`;
  const child = spawn("ip", ["netns", "exec", pod.netns, process.execPath, "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", () => resolve());
    child.once("exit", (code) => reject(new Error(`holder exited ${code}`)));
  });
  return { child, ready };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("derived socket gauges (real kernel, bpftrace, two pod netns)", () => {
  let net: PodNetwork;
  let a: Pod;
  let b: Pod;
  let ledger: TransitionLedger;
  let supervisor: BpftraceSupervisor;
  let reader: NetnsGaugeReader;
  let netns: Map<number, NetnsHandle>;
  const servers: ServerHandle[] = [];
  const children: ChildProcess[] = [];
  let ready: Promise<void>;

  const pass = async (): Promise<Map<number, NetnsGauges>> => reader.read(netns, new Set());
  const reads = () => Object.fromEntries(reader.readsByReason);
  const readsOf = (reason: string) => reader.readsByReason.get(reason) ?? 0;

  beforeAll(async () => {
    net = await createPodNetwork({ prefix: "td" });
    a = await net.addPod("a", { ipv4: "10.244.7.11", ipv6: "fd00:244:7::11" });
    b = await net.addPod("b", { ipv4: "10.244.7.12", ipv6: "fd00:244:7::12" });
    netns = new Map([
      [a.netnsInode, processHandle(a.pausePid)],
      [b.netnsInode, processHandle(b.pausePid)],
    ]);
    ledger = new TransitionLedger();
    const logger = pino({ level: "silent" });
    const counter = new TransitionCounter(new NodeWindow(Date.now()), logger, new AgentMetrics(), ledger);
    let onReady: () => void = () => {};
    ready = new Promise<void>((resolve) => {
      onReady = resolve;
    });
    supervisor = new BpftraceSupervisor(
      {
        name: "transitions",
        bpftrace: "bpftrace",
        program: PROGRAM,
        tracefs: "/sys/kernel/tracing",
        selfProc: "/proc",
        logger,
        backoff: { initialMs: 100, maxMs: 1000, stableMs: 60_000 },
      },
      {
        line: (l) => counter.line(l),
        ready: () => {
          counter.ready();
          onReady();
        },
        exit: (e) => counter.exit(e),
      },
    );
    reader = new NetnsGaugeReader({ procRoot: "/proc", concurrency: 2, ledger });
    supervisor.start();
    await ready;
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    for (const s of servers) await s.stop().catch(() => undefined);
    await supervisor?.stop();
    await net?.destroy();
  });

  /** Passes until the ticks have settled every read (a baseline is adopted ~2 s after its read). */
  async function settle(): Promise<Map<number, NetnsGauges>> {
    let last = await pass();
    for (let i = 0; i < 4; i++) {
      await sleep(1000);
      last = await pass();
    }
    return last;
  }

  async function expectEqualToSs(): Promise<void> {
    const g = await settle();
    for (const pod of [a, b]) {
      const truth = await ssGauges(pod);
      expect({ pod: pod.name, ...g.get(pod.netnsInode)?.sockets }).toEqual({ pod: pod.name, ...truth });
    }
  }

  it("reads each table once at first sight, then derives: equal to ss", async () => {
    await expectEqualToSs();
    expect(readsOf("first")).toBe(2);
    expect(readsOf("changed")).toBe(0);
  }, 30_000);

  it("stays equal to ss through churn, held connections and a CLOSE_WAIT leak, without a read per busy pass", async () => {
    servers.push(await startServer(b, b.ipv4, 9001));
    servers.push(await startServer(b, b.ipv4, 9002, { hold: true }));
    const holder = holdOpen(a, b.ipv4, 9001, 12);
    children.push(holder.child);
    await holder.ready;
    const before = reader.tableReads;
    // Churn for 4 s while passes run every second: both netns are busy in every pass.
    const churn = runChurn(a, { host: b.ipv4, port: 9001, seconds: 4, concurrency: 4, rate: 200 });
    let busyPasses = 0;
    const done = churn.then(() => true);
    while (!(await Promise.race([done, sleep(1000).then(() => false)]))) {
      await pass();
      busyPasses++;
    }
    expect((await churn).connections).toBeGreaterThan(400);
    // The server in B that never closes: each client's FIN leaves B in CLOSE_WAIT.
    const leak = await runClient(a, {
      host: b.ipv4,
      port: 9002,
      count: 7,
      concurrency: 7,
      mode: "close-first",
      attemptTimeoutMs: 1500,
    });
    expect(leak.failed).toBe(7);
    await expectEqualToSs();
    const g = await pass();
    expect(g.get(b.netnsInode)?.sockets).toMatchObject({ ESTABLISHED: 12, CLOSE_WAIT: 7, LISTEN: 2 });
    expect(g.get(a.netnsInode)?.sockets.ESTABLISHED).toBe(12);
    // Legacy reading would read both tables in every busy pass; derived reads are for listeners, TIME_WAIT
    // peers and queues only.
    expect(busyPasses).toBeGreaterThanOrEqual(3);
    expect(readsOf("changed")).toBe(0);
    expect(reader.tableReads - before).toBeLessThan(2 * busyPasses + 10);
    console.log("table reads by reason", reads(), "busy passes", busyPasses);
  }, 60_000);

  it("re-baselines after bpftrace restarts (counts in between are unknown), and stays equal to ss", async () => {
    const pids = bpftraceChildrenOf(process.pid);
    expect(pids.length).toBe(1);
    const generation = ledger.generation;
    process.kill(pids[0] as number, "SIGKILL");
    // While it is down, connections come and go that no count will ever show.
    const closing = runClient(a, { host: b.ipv4, port: 9001, count: 30, concurrency: 3 });
    await closing;
    const holder = holdOpen(a, b.ipv4, 9001, 5);
    children.push(holder.child);
    await holder.ready;
    await expect.poll(() => ledger.ready && ledger.generation > generation, { timeout: 20_000 }).toBe(true);
    await expectEqualToSs();
    expect(readsOf("stream-broke")).toBe(2);
    expect((await pass()).get(a.netnsInode)?.sockets.ESTABLISHED).toBe(17);
  }, 60_000);
});
