/**
 * A netns with no process in it (`ip netns add`, everything in it exited) still has sockets: TIME_WAIT outlives
 * its process. The agent reads such a netns through its bind mount under /run/netns, for real.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindMountHandle } from "../../agent/attribution/netns-handle.js";
import { readNetnsCounters } from "../../agent/gauges/proc-counters.js";
import type { NodeSummary } from "../../agent/wire/summary.js";
import { type AgentProcess, entryOf, startAgent, waitReady } from "../support/agent-process.js";
import { exec } from "../support/netns-pods.js";
import { runClient, startServer } from "../support/traffic.js";

const execFileAsync = promisify(execFile);
const ip = (args: string[]) => execFileAsync("ip", args, { timeout: 10_000 });

describe("agent: a network namespace with no process (real kernel, standalone)", () => {
  const pod = { netns: `tpl${randomBytes(3).toString("hex")}` };
  let agent: AgentProcess;

  /** Sockets in `state` inside the netns, as ss counts them. */
  const ssCount = async (state: string) =>
    (await exec(pod, ["ss", "-Htan", "state", state])).split("\n").filter(Boolean).length;

  beforeAll(async () => {
    await ip(["netns", "add", pod.netns]);
    await exec(pod, ["ip", "link", "set", "lo", "up"]);
    agent = await startAgent(["--standalone", "--interval", "1s"]);
    await waitReady(agent);
  });

  afterAll(async () => {
    const code = await agent?.stop();
    await ip(["netns", "del", pod.netns]).catch(() => undefined);
    expect(code).toBe(0);
  });

  it("reports its TIME_WAIT sockets as ss in the netns counts them, once every process in it has exited", async () => {
    const N = 40;
    const server = await startServer(pod, "127.0.0.1", 0);
    expect(
      await runClient(pod, { host: "127.0.0.1", port: server.port, count: N, mode: "close-first" }),
    ).toMatchObject({ ok: N });
    await server.stop();
    // No process is left in the netns: only its bind mount holds it.
    expect((await ip(["netns", "pids", pod.netns])).stdout.trim()).toBe("");

    // The counters come through the bind mount: the kernel's per-netns TIME_WAIT count, as ss lists it.
    const counters = await readNetnsCounters("/proc", bindMountHandle(`/run/netns/${pod.netns}`));
    const finWait2 = await ssCount("fin-wait-2"); // orphans' FIN_WAIT2: timewait socks, counted in tw
    expect(counters?.sockstat.tw).toBe((await ssCount("time-wait")) + finWait2);

    // A window that began after the last process left.
    const target = agent.summaries.length + 2;
    const s: NodeSummary = await agent.waitForSummary(() => agent.summaries.length >= target, 16_000);
    const truth = await ssCount("time-wait");
    expect(truth).toBeGreaterThan(0);
    const sockets = entryOf(s, pod.netns)?.sockets;
    expect(sockets, `no socket gauges for ${pod.netns}`).toBeDefined();
    expect(sockets?.TIME_WAIT).toBe(truth);
    expect(sockets?.FIN_WAIT2).toBe(await ssCount("fin-wait-2"));
    expect(sockets?.ESTABLISHED).toBe(0);
    expect(sockets?.LISTEN).toBe(0);
  }, 60_000);
});
