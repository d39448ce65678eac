// "Pods" made of network namespaces, for `tcpstate local --demo`, the system tests and the benchmarks: every pod
// is a netns with eth0 on a shared bridge, a pause process (so the netns has a pid, like a pod sandbox) and
// IPv4 + IPv6 addresses. The bridge has its own netns, so nothing is created or touched in the host netns.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);
const NETNS_DIR = "/run/netns";
/** Owner files `<prefix>.pid` ("pid starttime"): lets a run tell live prefixes from leftovers. */
const OWNER_DIR = "/run/tcpstate-netns";
const IFNAMSIZ = 15;

export interface Pod {
  name: string;
  netns: string;
  ipv4: string;
  ipv6: string;
  pausePid: number;
  /** Inode of /run/netns/<netns>: the kernel's netns inum (what `net:[inum]` and bpf helpers report). */
  netnsInode: number;
}

export interface PodNetwork {
  /** Unique prefix of this run, e.g. "ts3fa2"; every netns and interface name starts with it. */
  prefix: string;
  bridgeNetns: string;
  pods: Pod[];
  addPod(name: string, addrs: { ipv4: string; ipv6: string }): Promise<Pod>;
  /** Kills every process in the run's namespaces and deletes them. Idempotent, never throws. */
  destroy(): Promise<void>;
}

export interface ExecOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Aborting kills the command (SIGKILL) and rejects. */
  signal?: AbortSignal;
}

/** Runs argv inside the pod's netns and returns stdout; rejects on non-zero exit or timeout (SIGKILL). */
export async function exec(pod: Pick<Pod, "netns">, argv: string[], opts: ExecOptions = {}): Promise<string> {
  const { stdout } = await execFileAsync("ip", ["netns", "exec", pod.netns, ...argv], {
    timeout: opts.timeoutMs ?? 30_000,
    killSignal: "SIGKILL",
    maxBuffer: 64 * 1024 * 1024,
    env: opts.env ?? process.env,
    signal: opts.signal,
  });
  return stdout;
}

async function ip(args: string[]): Promise<string> {
  return (await execFileAsync("ip", args, { timeout: 10_000, killSignal: "SIGKILL" })).stdout;
}

async function ignoreErrors<T>(p: Promise<T>): Promise<void> {
  await p.then(
    () => undefined,
    () => undefined,
  );
}

/** Process start time (clock ticks since boot): guards the owner check against pid reuse. */
async function startTime(pid: number): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  // Field 22; comm (field 2) may contain spaces and ')' so split after the last ')'.
  return text?.slice(text.lastIndexOf(")") + 2).split(" ")[19];
}

async function ownerAlive(prefix: string): Promise<boolean> {
  const owner = await readFile(`${OWNER_DIR}/${prefix}.pid`, "utf8").catch(() => undefined);
  const [pid, start] = owner?.trim().split(" ") ?? [];
  return pid !== undefined && start !== undefined && (await startTime(Number(pid))) === start;
}

async function listNetns(): Promise<string[]> {
  return readdir(NETNS_DIR).catch(() => []);
}

async function netnsPids(netns: string): Promise<number[]> {
  const out = await ip(["netns", "pids", netns]).catch(() => "");
  return out.split("\n").filter(Boolean).map(Number);
}

/** Kills all processes in the prefix's namespaces, then deletes the namespaces and the owner file. */
async function removePrefix(prefix: string): Promise<void> {
  const names = (await listNetns()).filter((n) => n.startsWith(`${prefix}-`));
  // Kill first: `ip netns del` only unmounts the name, a netns with live processes would survive it.
  for (let i = 0; i < 50; i++) {
    const pids = (await Promise.all(names.map(netnsPids))).flat();
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  // Pods before the bridge netns; deleting a pod netns also removes its veth peer on the bridge.
  names.sort((a, b) => Number(a.endsWith("-br")) - Number(b.endsWith("-br")));
  for (const n of names) await ignoreErrors(ip(["netns", "del", n]));
  await rm(`${OWNER_DIR}/${prefix}.pid`, { force: true });
}

/** Removes namespaces of earlier runs with the same stem whose owner process is gone. */
async function removeLeftovers(stem: string): Promise<void> {
  const re = new RegExp(`^(${stem}[0-9a-f]{4})(-|\\.pid$)`);
  const names = [...(await listNetns()), ...(await readdir(OWNER_DIR).catch(() => []))];
  const prefixes = new Set(names.map((n) => re.exec(n)?.[1]).filter((p) => p !== undefined));
  for (const p of prefixes) if (!(await ownerAlive(p))) await removePrefix(p);
}

/** Claims a fresh `<stem><4 hex>` prefix by creating its owner file exclusively. */
async function claimPrefix(stem: string): Promise<string> {
  await mkdir(OWNER_DIR, { recursive: true });
  const owner = `${process.pid} ${await startTime(process.pid)}\n`;
  const existing = await listNetns();
  for (;;) {
    const prefix = `${stem}${randomBytes(2).toString("hex")}`;
    if (existing.some((n) => n.startsWith(`${prefix}-`))) continue;
    try {
      await writeFile(`${OWNER_DIR}/${prefix}.pid`, owner, { flag: "wx" });
      return prefix;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}

/** Starts `sleep infinity` in the netns and waits until it has actually entered it. */
async function startPause(netns: string, inode: number): Promise<ChildProcess & { pid: number }> {
  const child = spawn("ip", ["netns", "exec", netns, "sleep", "infinity"], { stdio: "ignore" });
  child.unref(); // must not keep the test process alive; destroy() kills it
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start pause process in ${netns}`);
  // `ip netns exec` setns()es and then execs sleep in place, so the pid is the pause process itself;
  // until setns it still shows the host netns.
  for (let i = 0; i < 250; i++) {
    const link = await readlink(`/proc/${pid}/ns/net`).catch(() => undefined);
    if (link === `net:[${inode}]`) return Object.assign(child, { pid });
    if (child.exitCode !== null || child.signalCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  throw new Error(`pause process ${pid} did not enter netns ${netns} (inode ${inode})`);
}

/**
 * Creates an empty pod network. `prefix` is the common stem (e.g. "ts"); the run's unique prefix is
 * stem + 4 hex digits. Leftovers of earlier runs with the same stem are removed first, but only those
 * whose owner process is dead, so concurrently running test files keep their namespaces.
 */
export async function createPodNetwork({ prefix: stem }: { prefix: string }): Promise<PodNetwork> {
  if (!/^[a-z][a-z0-9]{0,3}$/.test(stem)) throw new Error(`prefix must match [a-z][a-z0-9]{0,3}: ${stem}`);
  await removeLeftovers(stem);
  const prefix = await claimPrefix(stem);
  const bridgeNetns = `${prefix}-br`;
  const bridge = bridgeNetns; // bridge device named like its netns (≤ IFNAMSIZ)
  const pauses: ChildProcess[] = [];
  const pods: Pod[] = [];
  let destroyed: Promise<void> | undefined;

  const destroy = (): Promise<void> => {
    destroyed ??= (async () => {
      for (const child of pauses) child.kill("SIGKILL");
      await removePrefix(prefix).catch(() => undefined);
    })();
    return destroyed;
  };

  const addPod = async (name: string, addrs: { ipv4: string; ipv6: string }): Promise<Pod> => {
    // The veth peer on the bridge is named <prefix>-<name>, so names are limited by IFNAMSIZ.
    const maxLen = IFNAMSIZ - prefix.length - 1;
    if (!new RegExp(`^[a-z0-9]{1,${maxLen}}$`).test(name) || name === "br") {
      throw new Error(`pod name must be 1-${maxLen} chars [a-z0-9] and not "br": ${name}`);
    }
    if (destroyed) throw new Error("pod network already destroyed");
    const netns = `${prefix}-${name}`;
    await ip(["netns", "add", netns]);
    // Creating the peer directly in the pod netns as eth0 avoids a rename and a name clash on the bridge side.
    await ip([
      "-n",
      bridgeNetns,
      "link",
      "add",
      netns,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      netns,
    ]);
    await ip(["-n", bridgeNetns, "link", "set", netns, "master", bridge, "up"]);
    // nodad: without it the IPv6 address stays "tentative" (unusable) for ~1 s of duplicate detection.
    const cmds = [
      `addr add ${addrs.ipv4}/24 dev eth0`,
      `addr add ${addrs.ipv6}/64 dev eth0 nodad`,
      "link set lo up",
      "link set eth0 up",
    ];
    for (const cmd of cmds) await ip(["-n", netns, ...cmd.split(" ")]);
    // These pods must leave exact TIME_WAIT counts. By default (tcp_rfc1337=0) a RST kills a timewait sock,
    // and one comes now and then: the peer's delayed ACK, sent from another CPU, can arrive after its FIN;
    // the timewait sock answers that stale ACK, the peer (closed by then) answers from its listener with a
    // RST. RFC 1337's fix, per netns: timewait socks ignore RSTs. Seen in 1 of 5 runs of 50 connections.
    await ip(["netns", "exec", netns, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/tcp_rfc1337"]);
    const netnsInode = (await stat(`${NETNS_DIR}/${netns}`)).ino;
    const pause = await startPause(netns, netnsInode);
    pauses.push(pause);
    const pod: Pod = { name, netns, ipv4: addrs.ipv4, ipv6: addrs.ipv6, pausePid: pause.pid, netnsInode };
    pods.push(pod);
    return pod;
  };

  try {
    await ip(["netns", "add", bridgeNetns]);
    await ip(["-n", bridgeNetns, "link", "add", bridge, "type", "bridge"]);
    await ip(["-n", bridgeNetns, "link", "set", bridge, "up"]);
  } catch (err) {
    await destroy();
    throw err;
  }
  return { prefix, bridgeNetns, pods, addPod, destroy };
}
