/**
 * `tcpstate local` as a newcomer runs it: the README's main-job line with --demo shows the demo's churn,
 * TIME_WAIT and SYN backlog through the API and fires the TIME_WAIT alert, exits 0 on SIGTERM leaving nothing
 * behind; without bpftrace or root it stops with exit code 2 and says why; on a terminal it draws a live table;
 * with --nats-url the agent's summaries go through JetStream to the collector, counted exactly.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { SUMMARY_STREAM, summarySubject } from "../../agent/wire/subjects.js";
import { CLI, repoRoot } from "../support/agent-process.js";
import { asNobody } from "../support/child-process.js";
import { waitHttpOk } from "../support/http-ready.js";
import { freePort, startNatsServer } from "../support/nats-server.js";
import { createPodNetwork } from "../support/netns-pods.js";
import { TOP_HEADER } from "../support/top-table.js";
import { runClient, startServer } from "../support/traffic.js";

// biome-ignore lint/suspicious/noExplicitAny: API bodies, checked field by field by the assertions
type Json = any;

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  const child = spawn(cmd, args, { cwd: repoRoot(), env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Every process below `pid` (children, grandchildren, …). */
function descendants(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

const comm = (pid: number) => {
  try {
    return execFileSync("ps", ["-o", "comm=", "-p", String(pid)], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
};
const alive = (pid: number) => comm(pid) !== "";
const args = (pid: number) => {
  try {
    return execFileSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
};
/** The tcpstate process under a launcher (npm → sh → the script that execs node). */
const tcpstateUnder = (pid: number) =>
  descendants(pid).filter((p) => args(p).includes("dist/cli/main.js local"));
const demoNetns = async () =>
  (await readdir("/run/netns").catch(() => [])).filter((n) => /^demo[0-9a-f]{4}-/.test(n));

/** What every run here shares: no live table, its own port, 1 s windows. */
const quietOn = (port: number) => ["--quiet", "--listen", `127.0.0.1:${port}`, "--interval", "1s"];

async function getJson(url: string): Promise<Json> {
  const res = await fetch(url);
  return res.json();
}

describe("tcpstate local", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it("`sudo npm start -- --demo` shows the demo's churn, TIME_WAIT and SYN backlog, fires the alert, and exits 0 on SIGTERM leaving nothing behind", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const before = await demoNetns();
    const run = start("npm", ["start", "--", "--demo", ...quietOn(port)]);
    cleanup.push(async () => {
      for (const pid of descendants(run.child.pid as number)) process.kill(pid, "SIGKILL");
    });
    await waitHttpOk(`${base}/readyz`, 120_000);
    const pods = async (sort: string) =>
      (await getJson(`${base}/api/v1/pods?namespace=local&sort=${sort}&window=10s`)).pods as Json[];
    const role = (list: Json[], r: string) =>
      list.find((p) => new RegExp(`^demo[0-9a-f]{4}-${r}$`).test(p.name));
    // batch builds up TIME_WAIT at 300 connections a second; client churns steadily at 5; web's :9000 backlog fills.
    await expect
      .poll(async () => role(await pods("time_wait"), "batch")?.sockets.TIME_WAIT ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(1000);
    // The TIME_WAIT alert fires for batch (the default thresholds, the demo's rules shorten `for` to 10s), not for
    // the steady client: with no baseline yet the cold-start floor (10,000) decides, ≈ 35 s of batch's churn.
    await expect
      .poll(
        async () =>
          ((await getJson(`${base}/api/v1/alerts?state=firing`)).alerts as Json[])
            .filter((a) => a.labels.alertname === "TimeWaitBuildup")
            .map((a) => a.labels.pod.replace(/^demo[0-9a-f]{4}-/, "")),
        { timeout: 90_000, interval: 1000 },
      )
      .toEqual(["batch"]);
    // Once the churn runs at full speed (the first seconds ramp up): batch far above client, client near 5/s.
    await expect
      .poll(async () => role(await pods("churn"), "batch")?.churnPerSecond ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(100);
    await expect
      .poll(async () => role(await pods("churn"), "client")?.churnPerSecond ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(4);
    const byChurn = await pods("churn");
    expect(role(byChurn, "client").churnPerSecond).toBeLessThan(6);
    expect(role(byChurn, "client").sockets.TIME_WAIT).toBeLessThan(500);
    await expect
      .poll(async () => role(await pods("syn_recv"), "web")?.sockets.SYN_RECV ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(10);
    const web = role(await pods("syn_recv"), "web");
    expect(web.listenersUnderPressure[0]).toMatchObject({ port: 9000, backlog: 128 });
    const created = (await demoNetns()).filter((n) => !before.includes(n));
    expect(created).toHaveLength(4); // web, client, batch and the bridge
    const tcpstate = tcpstateUnder(run.child.pid as number);
    expect(tcpstate).toHaveLength(1);
    const everything = descendants(tcpstate[0] as number);
    expect(everything.filter((pid) => comm(pid) === "bpftrace").length).toBeGreaterThanOrEqual(1);

    // SIGTERM to tcpstate itself (npm does not pass signals on); npm exits with its exit code.
    const t0 = Date.now();
    process.kill(tcpstate[0] as number, "SIGTERM");
    expect(await run.exit).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect((await demoNetns()).filter((n) => created.includes(n))).toEqual([]);
    for (const pid of [...tcpstate, ...everything]) expect(alive(pid)).toBe(false);
    expect(run.stdout()).toMatch(/dashboard and API on http:\/\/127\.0\.0\.1:\d+\//);
  }, 240_000);

  it("stops with exit code 2 and the exact reason without bpftrace on PATH, or when not root; nothing created", async () => {
    const bin = await mkdtemp(path.join(tmpdir(), "tcpstate-nobpf-"));
    cleanup.push(() => rm(bin, { recursive: true, force: true }));
    for (const tool of ["ip", "python3", "ss", "nsenter"]) {
      const found = execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
      await symlink(found, path.join(bin, tool));
    }
    const before = await demoNetns();
    const noBpf = start(process.execPath, [CLI, "local", "--demo", "--quiet", "--listen", "127.0.0.1:0"], {
      ...process.env,
      PATH: bin,
    });
    expect(await noBpf.exit).toBe(2);
    expect(noBpf.stderr()).toMatch(/bpftrace.*(not found|install)/i);
    expect(noBpf.stderr()).toMatch(/BPFTRACE_MISSING/);
    const [cmd, ...args] = asNobody([process.execPath, CLI, "local", "--quiet", "--listen", "127.0.0.1:0"]);
    const nobody = start(cmd as string, args);
    expect(await nobody.exit).toBe(2);
    expect(nobody.stderr()).toMatch(/root/);
    expect(await demoNetns()).toEqual(before);
  }, 60_000);

  it("draws the live table on a terminal: header and the first rows", async () => {
    const port = await freePort();
    // script(1) gives the process a pseudo-terminal and copies what it draws to our pipe.
    const cmd = `${process.execPath} ${CLI} local --listen 127.0.0.1:${port} --interval 1s`;
    const run = start("script", ["-qfec", cmd, "/dev/null"], {
      ...process.env,
      TERM: "xterm",
      COLUMNS: "200",
      LINES: "50",
    });
    cleanup.push(async () => {
      for (const pid of descendants(run.child.pid as number)) process.kill(pid, "SIGKILL");
    });
    await expect
      .poll(() => /NAMESPACE +POD +CHURN\/s/.test(run.stdout()), { timeout: 60_000, interval: 500 })
      .toBe(true);
    // The last screen drawn: from the last "clear" on.
    await new Promise((r) => setTimeout(r, 2500));
    const screens = run.stdout().split("\x1b[2J");
    const last = (screens.at(-1) ?? "").replace(/\r/g, "").split("\n").filter(Boolean);
    expect(last[0]).toMatch(/^tcpstate local — http:\/\/127\.0\.0\.1:\d+\/ — busiest pods/);
    const header = last.findIndex((l) => l.startsWith("NAMESPACE"));
    expect(last[header]?.split(/\s+/)).toEqual(TOP_HEADER);
    // At least the host itself is a row, with numbers in the numeric columns.
    const rows = last.slice(header + 1).filter((l) => /^\S/.test(l) && !/alert/i.test(l));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.startsWith("(host@"))).toBe(true);
    for (const pid of descendants(run.child.pid as number))
      if (comm(pid) === "node") process.kill(pid, "SIGTERM");
    expect(await run.exit).toBe(0);
  }, 120_000);

  it("--nats-url goes through NATS JetStream as in a cluster: the agent publishes, the collector counts exactly", async () => {
    const nats = await startNatsServer();
    cleanup.push(() => nats.destroy());
    const net = await createPodNetwork({ prefix: "ln" });
    cleanup.push(() => net.destroy());
    const a = await net.addPod("a", { ipv4: "10.244.7.11", ipv6: "fd00:247::11" });
    const b = await net.addPod("b", { ipv4: "10.244.7.12", ipv6: "fd00:247::12" });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const run = start(process.execPath, [CLI, "local", "--nats-url", nats.url, ...quietOn(port)]);
    cleanup.push(async () => {
      for (const pid of [run.child.pid as number, ...descendants(run.child.pid as number)])
        process.kill(pid, "SIGKILL");
    });
    // Ready once the collector has its stream and consumer and the agent's probes are attached.
    await waitHttpOk(`${base}/readyz`, 60_000);
    const server = await startServer(b, b.ipv4, 8080);
    cleanup.push(async () => void (await server.stop()));
    const N = 200;
    expect(await runClient(a, { host: b.ipv4, port: 8080, count: N, concurrency: 8 })).toMatchObject({
      ok: N,
    });

    // Each pod network namespace is a pod in "local": A opened N, B accepted N, counted once each.
    const counters = async (pod: string) =>
      ((await getJson(`${base}/api/v1/pods?namespace=local&window=1m`)).pods as Json[]).find(
        (p) => p.name === pod,
      )?.counters;
    await expect.poll(async () => (await counters(a.netns))?.active_opens, { timeout: 20_000 }).toBe(N);
    await expect.poll(async () => (await counters(b.netns))?.passive_opens, { timeout: 20_000 }).toBe(N);
    // It went through the stream: this host's summaries are there, with the pods as the collector shows them.
    const nc = await connect({ servers: nats.url });
    cleanup.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const last = await jsm.streams.getMessage(SUMMARY_STREAM, {
      last_by_subj: summarySubject(hostname().toLowerCase()),
    });
    expect(last).toBeTruthy();
    const owners = ((last as NonNullable<typeof last>).json() as Json).pods.map((p: Json) => p.owner);
    expect(owners.find((o: Json) => o.name === a.netns)).toMatchObject({ kind: "pod", namespace: "local" });

    const bpftrace = descendants(run.child.pid as number).filter((pid) => comm(pid) === "bpftrace");
    expect(bpftrace.length).toBeGreaterThanOrEqual(1);
    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    expect(bpftrace.filter(alive)).toEqual([]);
  }, 120_000);
});
