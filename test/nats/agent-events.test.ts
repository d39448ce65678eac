/** The live event stream over NATS: on demand under a lease (as `tail` uses it), or always. */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TransitionEvent, TransitionEventSchema } from "../../agent/wire/events.js";
import { EVENTS_CONTROL_SUBJECT, eventsSubject } from "../../agent/wire/subjects.js";
import { bpftraceChildren, startAgent, waitReady } from "../support/agent-process.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { createPodNetwork, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { runClient, type ServerHandle, startServer } from "../support/traffic.js";

const NODE = "events-node";

describe("agent events on NATS (real kernel, real nats-server)", () => {
  let server: NatsServer;
  let net: PodNetwork;
  let a: Pod;
  let b: Pod;
  let http: ServerHandle;
  let nc: NatsConnection;
  const events: TransitionEvent[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    net = await createPodNetwork({ prefix: "te" });
    a = await net.addPod("a", { ipv4: "10.244.5.11", ipv6: "fd00:244:5::11" });
    b = await net.addPod("b", { ipv4: "10.244.5.12", ipv6: "fd00:244:5::12" });
    http = await startServer(b, b.ipv4, 8080);
    nc = await connect({ servers: server.url });
    nc.subscribe(eventsSubject(NODE), {
      callback: (_e, m) => {
        events.push(TransitionEventSchema.parse(m.json()));
      },
    });
  });

  afterAll(async () => {
    await nc?.close();
    await http?.stop().catch(() => undefined);
    await net?.destroy();
    await server?.destroy();
  });

  /** Connects A→B until A's CLOSE→SYN_SENT toward B shows up on the stream (it attaches asynchronously). */
  async function seeTrafficFromA(timeoutMs = 15_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await runClient(a, { host: b.ipv4, port: 8080, count: 2, mode: "close-first" });
      await new Promise((r) => setTimeout(r, 200));
      if (events.some((e) => e.owner.name === a.netns && e.to === "SYN_SENT" && e.daddr === b.ipv4))
        return true;
    }
    return false;
  }

  it("streams only while a lease holds, with owners resolved, and stops bpftrace's event program after", async () => {
    const agent = await startAgent([
      "--standalone",
      "--node-name",
      NODE,
      "--interval",
      "1s",
      "--nats-url",
      server.url,
    ]);
    try {
      await waitReady(agent);
      expect(bpftraceChildren(agent)).toHaveLength(1);
      const bad = await nc.request(EVENTS_CONTROL_SUBJECT, JSON.stringify({ leaseSeconds: 0 }), {
        timeout: 5000,
      });
      expect(bad.json()).toMatchObject({ node: NODE, error: expect.stringContaining("leaseSeconds") });
      // Held as `tail` holds it: a short lease, renewed every second. A single 4 s lease could lapse before a slow
      // bpftrace start attaches, or between seeing the traffic and counting the programs.
      const lease = async () =>
        (
          await nc.request(`${EVENTS_CONTROL_SUBJECT}.${NODE}`, JSON.stringify({ leaseSeconds: 4 }), {
            timeout: 5000,
          })
        ).json();
      expect(await lease()).toMatchObject({ node: NODE, until: expect.any(Number) });
      const renew = setInterval(() => void lease().catch(() => undefined), 1000);
      try {
        expect(await seeTrafficFromA()).toBe(true);
        expect(bpftraceChildren(agent)).toHaveLength(2);
      } finally {
        clearInterval(renew);
      }
      expect(
        events.find((e) => e.owner.name === b.netns && e.from === "LISTEN" && e.to === "SYN_RECV")?.node,
      ).toBe(NODE);
      // The lease ends: the event program stops and nothing more is published.
      await expect.poll(() => bpftraceChildren(agent), { timeout: 15_000 }).toHaveLength(1);
      const seen = events.length;
      await runClient(a, { host: b.ipv4, port: 8080, count: 5, mode: "close-first" });
      await new Promise((r) => setTimeout(r, 1500));
      expect(events.length).toBe(seen);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });

  it("streams from the start with --events always", async () => {
    events.length = 0;
    const agent = await startAgent([
      "--standalone",
      "--node-name",
      NODE,
      "--interval",
      "1s",
      "--nats-url",
      server.url,
      "--events",
      "always",
    ]);
    try {
      await waitReady(agent);
      expect(await seeTrafficFromA()).toBe(true);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });
});
