import { execa } from "execa";

/** The socket states tcpstate reports as gauges (request socks count as SYN_RECV). */
export const GAUGE_STATES = [
  "ESTABLISHED",
  "SYN_SENT",
  "SYN_RECV",
  "FIN_WAIT1",
  "FIN_WAIT2",
  "TIME_WAIT",
  "CLOSE_WAIT",
  "LAST_ACK",
  "CLOSING",
  "LISTEN",
] as const;
export type GaugeState = (typeof GAUGE_STATES)[number];
export type SocketGauges = Record<GaugeState, number>;

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

export function zeroGauges(): SocketGauges {
  return Object.fromEntries(GAUGE_STATES.map((s) => [s, 0])) as SocketGauges;
}

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
}

/** `10.0.0.1:80`, `[fd00::1]:80`, `[::ffff:10.0.0.1]:80`, `*:*` → address and port (v4-mapped shown as v4). */
export function splitEndpoint(text: string): { address: string; port: number } | null {
  const colon = text.lastIndexOf(":");
  if (colon < 0) return null;
  let address = text.slice(0, colon);
  const port = text.slice(colon + 1) === "*" ? 0 : Number(text.slice(colon + 1));
  if (!Number.isInteger(port)) return null;
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  const percent = address.indexOf("%"); // ss appends %iface to scoped addresses
  if (percent >= 0) address = address.slice(0, percent);
  if (address.startsWith("::ffff:") && address.includes(".")) address = address.slice(7);
  return { address, port };
}

export function formatEndpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Output of `ss -Htan` (no header; State Recv-Q Send-Q Local Peer) → per-state counts, listeners with their
 * queues, and TIME_WAIT per remote endpoint. A SYN-RECV line is a request sock (or an accepted child not yet
 * established); it belongs to the listener on its local port.
 */
export function parseSsTable(text: string): SocketTable {
  const gauges = zeroGauges();
  const listeners = new Map<string, Listener>();
  const synByPort = new Map<number, number>();
  const timeWaitByPeer = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    const f = line.split(/\s+/);
    const state = SS_STATES[f[0] as string];
    if (!state || f.length < 5) continue;
    gauges[state]++;
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
  return { gauges, listeners: [...listeners.values()], timeWaitByPeer };
}

/**
 * Reads a netns's TCP sockets with `ss` (NETLINK_SOCK_DIAG: the kernel filters by netns, no /proc text
 * formatting), entering the netns through a process in it. null when that process has gone.
 */
export async function readSocketTable(
  procRoot: string,
  pid: number,
  withTimeWait: boolean,
): Promise<SocketTable | null> {
  // TIME_WAIT sockets can be most of a busy client's table; list them only when their peers are wanted.
  const filter = withTimeWait ? [] : ["exclude", "time-wait"];
  const result = await execa("nsenter", [`--net=${procRoot}/${pid}/ns/net`, "ss", "-Htan", ...filter], {
    reject: false,
    timeout: 10_000,
    stdin: "ignore",
  });
  if (result.exitCode !== 0) return null;
  return parseSsTable(result.stdout);
}
