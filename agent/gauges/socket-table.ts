import { execa } from "execa";
import { parseKubepodsPath } from "../attribution/cgroup-path.js";
import { type NetnsHandle, netnsFileOf } from "../attribution/netns-handle.js";
import { formatEndpoint, splitEndpoint } from "../wire/endpoint.js";
import { type GaugeState, type SocketGauges, zeroGauges } from "../wire/gauges.js";

// ss's state names → ours.
const SS_STATES: Record<string, GaugeState> = {
  ESTAB: "ESTABLISHED",
  "SYN-SENT": "SYN_SENT",
  "SYN-RECV": "SYN_RECV",
  "FIN-WAIT-1": "FIN_WAIT1",
  "FIN-WAIT-2": "FIN_WAIT2",
  "TIME-WAIT": "TIME_WAIT",
  "CLOSE-WAIT": "CLOSE_WAIT",
  "LAST-ACK": "LAST_ACK",
  CLOSING: "CLOSING",
  LISTEN: "LISTEN",
};

export interface Listener {
  address: string;
  port: number;
  /** Connections accepted by the kernel, waiting for accept() (Recv-Q of a LISTEN socket). */
  acceptQueue: number;
  /** The accept queue's limit (listen() backlog, capped by net.core.somaxconn). */
  backlog: number;
  /** Half-open connections (request socks in SYN_RECV) waiting on this port. */
  synQueue: number;
}

export interface SocketTable {
  gauges: SocketGauges;
  listeners: Listener[];
  /** Remote endpoint ("ip:port") → TIME_WAIT sockets toward it. */
  timeWaitByPeer: Map<string, number>;
  /**
   * FIN_WAIT2 lines that are timewait socks (an orphan's FIN_WAIT2 is handed to one at once): inode 0. The
   * kernel's per-netns TIME_WAIT count (sockstat tw) includes them; ss lists them as FIN-WAIT-2.
   */
  finWait2TimeWait: number;
}

/** One line of `ss -Htan` split into fields; null for anything else. */
function splitLine(line: string): string[] | null {
  if (!line) return null;
  const f = line.split(/\s+/);
  return f.length >= 5 && SS_STATES[f[0] as string] ? f : null;
}

/**
 * Lines of `ss -Htan` (no header; State Recv-Q Send-Q Local Peer) → per-state counts, listeners with their
 * queues, and TIME_WAIT per remote endpoint. A SYN-RECV line is a request sock (or an accepted child not yet
 * established); it belongs to the listener on its local port.
 */
function tableOf(lines: readonly string[][]): SocketTable {
  const gauges = zeroGauges();
  const listeners = new Map<string, Listener>();
  const synByPort = new Map<number, number>();
  const timeWaitByPeer = new Map<string, number>();
  let finWait2TimeWait = 0;
  for (const f of lines) {
    const state = SS_STATES[f[0] as string] as GaugeState;
    gauges[state]++;
    if (state === "FIN_WAIT2" && f.includes("ino:0")) finWait2TimeWait++;
    if (state === "LISTEN") {
      const local = splitEndpoint(f[3] as string);
      if (!local) continue;
      const key = formatEndpoint(local.address, local.port);
      const l = listeners.get(key);
      // SO_REUSEPORT groups list one socket each: report the port once, queues summed.
      if (l) {
        l.acceptQueue += Number(f[1]);
        l.backlog += Number(f[2]);
      } else {
        listeners.set(key, { ...local, acceptQueue: Number(f[1]), backlog: Number(f[2]), synQueue: 0 });
      }
    } else if (state === "SYN_RECV") {
      const local = splitEndpoint(f[3] as string);
      if (local) synByPort.set(local.port, (synByPort.get(local.port) ?? 0) + 1);
    } else if (state === "TIME_WAIT") {
      const peer = splitEndpoint(f[4] as string);
      if (peer) {
        const key = formatEndpoint(peer.address, peer.port);
        timeWaitByPeer.set(key, (timeWaitByPeer.get(key) ?? 0) + 1);
      }
    }
  }
  // Half-open connections are charged to the first listener on their port (wildcard and specific addresses
  // on one port share the port's pressure).
  const seenPorts = new Set<number>();
  for (const l of listeners.values()) {
    if (seenPorts.has(l.port)) continue;
    seenPorts.add(l.port);
    l.synQueue = synByPort.get(l.port) ?? 0;
  }
  return { gauges, listeners: [...listeners.values()], timeWaitByPeer, finWait2TimeWait };
}

export function parseSsTable(text: string): SocketTable {
  const lines: string[][] = [];
  for (const line of text.split("\n")) {
    const f = splitLine(line);
    if (f) lines.push(f);
  }
  return tableOf(lines);
}

/**
 * `ss -Htane` of a netns shared by pods (the host's, with hostNetwork pods): each full socket's line names its
 * cgroup (`cgroup:/kubepods.slice/…pod<uid>.slice/…`), which names its pod. Request socks and TIME_WAIT
 * sockets have none: request socks go with the listener of their port; TIME_WAIT stays with the rest.
 */
export function parseSsTableByPod(text: string): { rest: SocketTable; pods: Map<string, SocketTable> } {
  const byPod = new Map<string, string[][]>();
  const rest: string[][] = [];
  const orphans: string[][] = [];
  const listenerPod = new Map<number, string>();
  for (const line of text.split("\n")) {
    const f = splitLine(line);
    if (!f) continue;
    const cgroup = f.find((x) => x.startsWith("cgroup:"));
    const uid = cgroup ? parseKubepodsPath(cgroup.slice(7))?.podUid : undefined;
    if (!uid) {
      (f[0] === "SYN-RECV" ? orphans : rest).push(f);
      continue;
    }
    if (f[0] === "LISTEN") {
      const local = splitEndpoint(f[3] as string);
      if (local) listenerPod.set(local.port, uid);
    }
    const lines = byPod.get(uid) ?? [];
    lines.push(f);
    byPod.set(uid, lines);
  }
  for (const f of orphans) {
    const uid = listenerPod.get(splitEndpoint(f[3] as string)?.port ?? -1);
    (uid ? (byPod.get(uid) as string[][]) : rest).push(f);
  }
  return { rest: tableOf(rest), pods: new Map([...byPod].map(([uid, lines]) => [uid, tableOf(lines)])) };
}

/**
 * Reads a netns's TCP sockets with `ss` (NETLINK_SOCK_DIAG: the kernel filters by netns, no /proc text
 * formatting), entering the netns through its handle (a process in it, or its bind mount). null when that
 * process or netns has gone.
 */
export async function readSocketTable(
  procRoot: string,
  handle: NetnsHandle,
  withTimeWait: boolean,
): Promise<SocketTable | null> {
  const text = await runSs(procRoot, handle, withTimeWait ? [] : ["exclude", "time-wait"]);
  return text === null ? null : parseSsTable(text);
}

/** The same for a netns pods share, split by the pod each socket's cgroup names. */
export async function readSocketTableByPod(
  procRoot: string,
  handle: NetnsHandle,
  withTimeWait: boolean,
): Promise<ReturnType<typeof parseSsTableByPod> | null> {
  const text = await runSs(procRoot, handle, withTimeWait ? [] : ["exclude", "time-wait"]);
  return text === null ? null : parseSsTableByPod(text);
}

/**
 * The environment ss runs with: PATH and nothing else. iproute2's ss reads /proc/net/tcp text instead of
 * NETLINK_SOCK_DIAG when PROC_ROOT or PROC_NET_TCP is set (the chart sets PROC_ROOT for the agent), and replays
 * a file when TCPDIAG_FILE is: that text has no `cgroup:` field, so hostNetwork pods' sockets could not be
 * told apart. An allowlist, not a denylist: no variable a later iproute2 honours can leak in either.
 */
function ssEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  return { PATH: env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };
}

async function runSs(procRoot: string, handle: NetnsHandle, filter: string[]): Promise<string | null> {
  // TIME_WAIT sockets can be most of a busy client's table: the filter leaves them out unless wanted.
  // -e: the inode (0 for timewait socks) and the cgroup of each socket.
  const result = await execa(
    "nsenter",
    [`--net=${netnsFileOf(procRoot, handle)}`, "ss", "-Htane", ...filter],
    {
      reject: false,
      timeout: 10_000,
      stdin: "ignore",
      env: ssEnvironment(process.env),
      extendEnv: false,
    },
  );
  return result.exitCode === 0 ? result.stdout : null;
}
