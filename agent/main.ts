import { fileURLToPath } from "node:url";
import { CoreV1Api } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { loadKubeConfig } from "../common/kube-list-watch.js";
import { packageVersion } from "../common/version.js";
import { AgentMetrics } from "./agent-metrics.js";
import type { CgroupIndex } from "./attribution/cgroup-index.js";
import { chooseCgroup2Root } from "./attribution/cgroup2-root.js";
import { NetnsAttributor } from "./attribution/netns-attributor.js";
import { PodIndex } from "./attribution/pod-index.js";
import type { AgentConfig } from "./config.js";
import { NetnsGaugeReader } from "./gauges/netns-gauges.js";
import { TransitionLedger } from "./gauges/transition-ledger.js";
import { startAgentHttp } from "./http/agent-http.js";
import { EventStream } from "./probe/event-stream.js";
import { preflight } from "./probe/preflight.js";
import { BpftraceSupervisor } from "./probe/supervisor.js";
import { EventPublisher } from "./publish/event-publisher.js";
import { SummaryPublisher } from "./publish/summary-publisher.js";
import { NodeWindow } from "./window/node-window.js";
import { TransitionCounter } from "./window/transition-counter.js";
import { WindowCycle } from "./window/window-cycle.js";
import type { TransitionEvent } from "./wire/events.js";
import { natsAuthFromConfig } from "./wire/nats-connection.js";
import type { NodeSummary, Owner } from "./wire/summary.js";

export const PROBE_DIR = fileURLToPath(new URL("./probe/", import.meta.url));
const SELF_PROC = "/proc";

export interface RunningAgent {
  readonly metricsPort: number;
  /** The counting probes are attached (bpftrace ran its BEGIN). */
  readonly probesAttached: boolean;
  /** Live transitions (starts the per-event bpftrace program; the returned function stops it). */
  subscribeEvents(fn: (event: TransitionEvent) => void): () => Promise<void>;
  stop(): Promise<void>;
}

/** What this host must have for the agent (bpftrace, root, tracefs, BTF); a ProbeError says what is missing. */
export function agentPreflight(config: AgentConfig): Promise<{ version: string }> {
  return preflight({
    bpftrace: config.bpftrace,
    tracefs: config.tracefs,
    selfProc: SELF_PROC,
    btf: "/sys/kernel/btf/vmlinux",
  });
}

export interface AgentOptions {
  /** Where summaries go without NATS. */
  emit(summary: NodeSummary): void;
  /** Re-addresses owners on the way out, summaries and live events alike (`tcpstate local`: netns as pods). */
  ownerView?: (owner: Owner) => Owner;
  /** The caller ran agentPreflight already (before creating anything); not run again. */
  preflighted?: { version: string };
}

/**
 * The cgroup v2 tree hostNetwork pods' sockets are told apart by, found and said at start: on a hybrid host the
 * configured root (the host's /sys/fs/cgroup) holds only v1 controllers and cgroup2 is mounted below it.
 */
async function cgroupIndexFor(config: AgentConfig, logger: Logger): Promise<CgroupIndex | null> {
  const choice = await chooseCgroup2Root({
    configured: config.cgroupRoot,
    procRoot: config.procRoot,
    selfProc: SELF_PROC,
  });
  switch (choice.kind) {
    case "found":
      logger.info(
        { cgroupRoot: choice.root, configured: config.cgroupRoot ?? null, podCgroups: choice.podCgroups },
        "cgroup v2 root: hostNetwork pods' sockets are told apart by their cgroups under it",
      );
      return choice.index;
    case "no-pods":
      logger.warn(
        { cgroupRoot: choice.root, configured: config.cgroupRoot ?? null, tried: choice.tried },
        "no pod cgroups under any cgroup v2 root found (kubepods): hostNetwork pods' sockets count as the host's until some appear there",
      );
      return choice.index;
    case "none":
      logger.warn(
        { configured: config.cgroupRoot ?? null, tried: choice.tried },
        "no cgroup v2 mount found (set --cgroup-root): hostNetwork pods' sockets count as the host's",
      );
      return null;
    default:
      return choice satisfies never;
  }
}

/** Wires the agent: bpftrace → counts → per-pod windows → summaries (NATS, else `emit`) and /metrics. */
export async function runAgent(
  config: AgentConfig,
  logger: Logger,
  opts: AgentOptions,
): Promise<RunningAgent> {
  const { emit, ownerView = (owner: Owner) => owner } = opts;
  const { version } = opts.preflighted ?? (await agentPreflight(config));
  logger.info(
    {
      version: packageVersion(),
      nodejs: process.version,
      bpftrace: version,
      node: config.nodeName,
      standalone: config.standalone,
    },
    "starting agent",
  );

  const metrics = new AgentMetrics();
  // Filled in below: the per-event stream needs the attributor, the publisher's connection serves both.
  let eventPublisher: EventPublisher | undefined;
  // With NATS, summaries go to JetStream (buffered while it is away); without, to `emit` (stdout).
  const publisher = config.natsUrl
    ? new SummaryPublisher({
        servers: config.natsUrl,
        auth: natsAuthFromConfig(config),
        node: config.nodeName,
        bufferWindows: config.bufferWindows,
        logger: logger.child({ part: "publish" }),
        onPublished: (seconds) => metrics.publishLatency.observe(seconds),
        onConnected: (nc) => eventPublisher?.attach(nc),
      })
    : null;
  const kubeConfig = config.standalone ? null : loadKubeConfig(config.kubeconfig);
  const pods = !kubeConfig
    ? null
    : new PodIndex({
        kubeConfig,
        coreApi: kubeConfig.makeApiClient(CoreV1Api),
        nodeName: config.nodeName,
        logger: logger.child({ part: "pod-index" }),
        maxLabels: config.maxLabels,
      });
  const cgroups = pods ? await cgroupIndexFor(config, logger) : null;
  const attributor = new NetnsAttributor({
    procRoot: config.procRoot,
    netnsDir: config.netnsDir,
    pods,
    cgroups,
  });
  await attributor.refresh();
  const window = new NodeWindow(Date.now(), (inode) => attributor.splitsByCgroup(inode));
  // The exact transition flows per netns: busy netns's full-socket gauges come from them, not a table walk.
  const ledger = new TransitionLedger();
  const gaugeReader = new NetnsGaugeReader({
    procRoot: config.procRoot,
    concurrency: 2,
    splitByPod: (inode) => attributor.splitsByCgroup(inode),
    ledger,
  });
  const counter = new TransitionCounter(window, logger.child({ part: "counter" }), metrics, ledger);
  const supervisor = new BpftraceSupervisor(
    {
      name: "transitions",
      bpftrace: config.bpftrace,
      program: `${PROBE_DIR}transitions.bt`,
      tracefs: config.tracefs,
      selfProc: SELF_PROC,
      logger: logger.child({ part: "bpftrace" }),
    },
    counter,
  );
  const events = new EventStream({
    bpftrace: config.bpftrace,
    program: `${PROBE_DIR}events.bt`,
    tracefs: config.tracefs,
    selfProc: SELF_PROC,
    logger: logger.child({ part: "events" }),
    maxPerSecond: config.eventsPerSecond,
    node: config.nodeName,
    ownerOf: (inode) => ownerView(attributor.ownerOf(inode)),
  });
  if (publisher)
    eventPublisher = new EventPublisher({
      node: config.nodeName,
      mode: config.events,
      subscribe: (fn) => events.subscribe(fn),
      logger: logger.child({ part: "event-publisher" }),
    });
  const http = await startAgentHttp({
    host: config.metricsAddr.host,
    port: config.metricsAddr.port,
    registry: metrics.registry,
    logger,
    subscribeEvents: (fn) => events.subscribe(fn),
    httpEvents: config.httpEvents,
    nats: publisher !== null,
    readiness: () => {
      const waitingFor: string[] = [];
      if (!supervisor.isReady) waitingFor.push("bpftrace probes");
      if (pods && !pods.synced) waitingFor.push("pod list from the kube API");
      if (publisher && !publisher.connected) waitingFor.push("NATS connection");
      return {
        ready: waitingFor.length === 0,
        waitingFor,
        details: { bpftraceRestarts: supervisor.restarts, lastError: supervisor.lastError?.message ?? null },
      };
    },
  });
  metrics.bindEventCounts({ lost: () => counter.lostEvents + events.lost, dropped: () => events.dropped });
  supervisor.start();
  void pods?.start();
  if (publisher) {
    metrics.bindPublisher(publisher);
    publisher.start();
  }

  const cycle = new WindowCycle({
    node: config.nodeName,
    window,
    attributor,
    pods,
    gaugeReader,
    supervisor,
    counter,
    events,
    metrics,
    deliver: (raw) => {
      const summary = { ...raw, pods: raw.pods.map((p) => ({ ...p, owner: ownerView(p.owner) })) };
      if (publisher) publisher.enqueue(summary);
      else emit(summary);
    },
  });
  const closeWindow = () => cycle.close();
  let closing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    closing = closing
      .then(closeWindow)
      .catch((err: Error) => logger.error({ err: err.message }, "window failed"));
  }, config.interval);

  return {
    metricsPort: http.port,
    get probesAttached() {
      return supervisor.isReady;
    },
    subscribeEvents: (fn) => events.subscribe(fn),
    async stop() {
      clearInterval(timer);
      await closing;
      await eventPublisher?.stop();
      await events.stop();
      // SIGINT runs the program's END: the counts not yet read arrive before it exits.
      await supervisor.stop();
      await closeWindow();
      await publisher?.stop();
      await pods?.stop();
      await http.close();
      logger.info("agent stopped");
    },
  };
}
