import { execFileSync } from "node:child_process";
import { readdir, readlink } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPodNetwork, exec, type Pod, type PodNetwork } from "./netns-pods.js";
import { runChurn, runClient, type ServerHandle, startServer } from "./traffic.js";

const N = 50;
const PORT = 8080;

/** Counts sockets in `state` inside the pod's netns (family: "-4" or "-6"). */
async function countState(pod: Pod, state: string, family: "-4" | "-6"): Promise<number> {
  const out = await exec(pod, ["ss", "-Htan", family, "state", state]);
  return out.split("\n").filter(Boolean).length;
}

/** Pids of all processes in one of the netns `inodes`, found via /proc (independent of `ip netns pids`). */
async function pidsInNetns(inodes: number[]): Promise<number[]> {
  const links = new Set(inodes.map((i) => `net:[${i}]`));
  const pids = (await readdir("/proc")).filter((d) => /^\d+$/.test(d));
  const netns = await Promise.all(pids.map((p) => readlink(`/proc/${p}/ns/net`).catch(() => "")));
  return pids.filter((_, i) => links.has(netns[i] ?? "")).map(Number);
}

describe("netns pods + traffic generator", () => {
  let net: PodNetwork;
  let a: Pod;
  let b: Pod;
  let server: ServerHandle | undefined;

  beforeAll(async () => {
    net = await createPodNetwork({ prefix: "ts" });
    a = await net.addPod("a", { ipv4: "10.244.0.11", ipv6: "fd00:244::11" });
    b = await net.addPod("b", { ipv4: "10.244.0.12", ipv6: "fd00:244::12" });
  });
  afterAll(async () => {
    await server?.stop().catch(() => undefined);
    await net?.destroy();
  });

  it("creates pods whose pause process lives in the pod netns", async () => {
    expect(net.prefix).toMatch(/^ts[0-9a-f]{4}$/);
    for (const pod of [a, b]) {
      expect(pod.netns).toBe(`${net.prefix}-${pod.name}`);
      expect(await readlink(`/proc/${pod.pausePid}/ns/net`)).toBe(`net:[${pod.netnsInode}]`);
      const addrs = await exec(pod, ["ip", "-o", "addr", "show", "dev", "eth0"]);
      expect(addrs).toContain(`${pod.ipv4}/24`);
      // nodad: the global IPv6 address is usable at once (only the fe80:: one is still "tentative").
      expect(addrs.split("\n").find((l) => l.includes(`${pod.ipv6}/64`))).not.toContain("tentative");
    }
    expect(a.netnsInode).not.toBe(b.netnsInode);
  });

  it("close-first leaves exactly N TIME_WAIT sockets on the client, none on the server", async () => {
    server = await startServer(b, "::", PORT); // dual-stack listener
    expect(await runClient(a, { host: b.ipv4, port: PORT, count: N, concurrency: 8 })).toEqual({
      ok: N,
      failed: 0,
      errors: {},
    });
    expect(await countState(a, "time-wait", "-4")).toBe(N);

    expect(await runClient(a, { host: b.ipv6, port: PORT, count: N, concurrency: 8 })).toEqual({
      ok: N,
      failed: 0,
      errors: {},
    });
    expect(await countState(a, "time-wait", "-4")).toBe(N);
    expect(await countState(a, "time-wait", "-6")).toBe(N);
    expect((await countState(b, "time-wait", "-4")) + (await countState(b, "time-wait", "-6"))).toBe(0);
    expect(await server.stop()).toEqual({ accepted: 2 * N });
  });

  it("reset mode closes with RST (no TIME_WAIT) and refused mode reports every failure", async () => {
    server = await startServer(b, b.ipv4, PORT + 1);
    const before = await countState(a, "time-wait", "-4");
    expect(await runClient(a, { host: b.ipv4, port: PORT + 1, count: 10, mode: "reset" })).toMatchObject({
      ok: 10,
      failed: 0,
    });
    expect(await countState(a, "time-wait", "-4")).toBe(before);
    expect(await server.stop()).toEqual({ accepted: 10 });

    const refused = await runClient(a, {
      host: b.ipv6,
      port: PORT + 2,
      count: 20,
      concurrency: 4,
      mode: "refused",
    });
    expect(refused).toEqual({ ok: 0, failed: 20, errors: { ECONNREFUSED: 20 } });
  });

  it("--hold leaks CLOSE_WAIT on the server; churn counts match the server's accepts", async () => {
    server = await startServer(b, b.ipv4, PORT + 3, { hold: true });
    // The server never sends its FIN, so a close-first attempt cannot complete: it fails by timeout.
    const held = await runClient(a, {
      host: b.ipv4,
      port: PORT + 3,
      count: 5,
      concurrency: 5,
      attemptTimeoutMs: 500,
    });
    expect(held).toEqual({ ok: 0, failed: 5, errors: { ETIMEDOUT: 5 } });
    expect(await countState(b, "close-wait", "-4")).toBe(5);
    await server.stop();

    server = await startServer(b, b.ipv6, PORT + 4);
    const churn = await runChurn(a, { host: b.ipv6, port: PORT + 4, seconds: 1, concurrency: 4 });
    expect(churn.failed).toBe(0);
    expect(churn.connections).toBeGreaterThan(0);
    expect(await server.stop()).toEqual({ accepted: churn.connections });
  });

  it("destroy() removes every namespace and process of the run, and is idempotent", async () => {
    const serverPid = (await startServer(b, b.ipv4, PORT + 5)).pid; // left running on purpose
    const inodes = [a.netnsInode, b.netnsInode];
    expect(await pidsInNetns(inodes)).toEqual(expect.arrayContaining([a.pausePid, b.pausePid, serverPid]));
    await net.destroy();
    await net.destroy();
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(net.prefix);
    expect(await pidsInNetns(inodes)).toEqual([]);
    for (const pid of [a.pausePid, b.pausePid, serverPid]) expect(() => process.kill(pid, 0)).toThrow();
  });
});
