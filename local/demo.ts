/**
 * `tcpstate local --demo`: three demo "pods" (network namespaces under /run/netns, on a bridge of their own) with
 * traffic that shows every feature — steady churn, a TIME_WAIT buildup that fires the alert, a half-open SYN
 * backlog on a listener — removed again on stop.
 */
import type { Logger } from "pino";
import { createPodNetwork, type Pod, type PodNetwork } from "../netns-lab/pod-network.js";
import { runChurn, type ServerHandle, startServer, synBurst } from "../netns-lab/traffic.js";

/** The demo's pods, by role; their netns are named `<prefix>-<role>`. */
export const DEMO_ROLES = {
  /** Serves :8080 (everyone's destination) and listens on :9000, whose SYN queue fills with half-open connections. */
  web: { ipv4: "10.253.0.10", ipv6: "fd00:253::10" },
  /** Steady, moderate churn toward web: a healthy client. */
  client: { ipv4: "10.253.0.11", ipv6: "fd00:253::11" },
  /** Hundreds of short connections a second it closes first: TIME_WAIT piles up here. */
  batch: { ipv4: "10.253.0.12", ipv6: "fd00:253::12" },
} as const;
export type DemoRole = keyof typeof DEMO_ROLES;

/** Connections a second: client's TIME_WAIT stays under the alert floor (500); batch's passes the cold-start floor (10,000) in ≈ 35 s. */
export const DEMO_RATES = { client: 5, batch: 300 } as const;
/** Half-open connections sent to web:9000 every 10 s (web's backlog there is 128: the queue fills). */
const SYNS_PER_BURST = 100;
const SYN_SOURCE = "10.253.0.250"; // nobody has it: SYN-ACKs go nowhere

export interface Demo {
  pods: Record<DemoRole, Pod>;
  stop(): Promise<void>;
}

export async function startDemo(logger: Logger): Promise<Demo> {
  const net: PodNetwork = await createPodNetwork({ prefix: "demo" });
  const abort = new AbortController();
  const servers: ServerHandle[] = [];
  let synTimer: NodeJS.Timeout | undefined;
  const stop = async () => {
    abort.abort();
    clearInterval(synTimer);
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    await net.destroy();
    logger.info({ prefix: net.prefix }, "demo pods removed");
  };
  try {
    const pods = {} as Record<DemoRole, Pod>;
    for (const [role, addrs] of Object.entries(DEMO_ROLES))
      pods[role as DemoRole] = await net.addPod(role, addrs);
    servers.push(await startServer(pods.web, pods.web.ipv4, 8080));
    servers.push(await startServer(pods.web, pods.web.ipv4, 9000, { hold: true, backlog: 128 }));
    const churn = (role: "client" | "batch") =>
      runChurn(pods[role], {
        host: pods.web.ipv4,
        port: 8080,
        seconds: 86_400,
        concurrency: 4,
        rate: DEMO_RATES[role],
        signal: abort.signal,
      }).catch((err: Error) => {
        if (!abort.signal.aborted) logger.error({ role, err: err.message }, "demo traffic stopped");
      });
    void churn("client");
    void churn("batch");
    const burst = () =>
      synBurst(pods.client, SYN_SOURCE, pods.web.ipv4, 9000, SYNS_PER_BURST).catch((err: Error) => {
        if (!abort.signal.aborted) logger.error({ err: err.message }, "demo SYN burst failed");
      });
    void burst();
    synTimer = setInterval(burst, 10_000);
    logger.info(
      { prefix: net.prefix, pods: Object.values(pods).map((p) => p.netns) },
      "demo pods up: client churns steadily, batch builds up TIME_WAIT, web:9000 gets half-open connections",
    );
    return { pods, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
