/** Names of the gauges and netns counters in the wire contract. */

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

export function zeroGauges(): SocketGauges {
  return Object.fromEntries(GAUGE_STATES.map((s) => [s, 0])) as SocketGauges;
}

/** The netns counters tcpstate reports as deltas per window (listen-queue and SYN pressure). */
export const NETNS_COUNTERS = {
  listen_overflows: "TcpExt.ListenOverflows",
  listen_drops: "TcpExt.ListenDrops",
  req_q_full_drops: "TcpExt.TCPReqQFullDrop",
  req_q_full_do_cookies: "TcpExt.TCPReqQFullDoCookies",
  syncookies_sent: "TcpExt.SyncookiesSent",
  syncookies_recv: "TcpExt.SyncookiesRecv",
  syncookies_failed: "TcpExt.SyncookiesFailed",
  active_opens: "Tcp.ActiveOpens",
  passive_opens: "Tcp.PassiveOpens",
  attempt_fails: "Tcp.AttemptFails",
  estab_resets: "Tcp.EstabResets",
  in_segs: "Tcp.InSegs",
  out_segs: "Tcp.OutSegs",
} as const;
export type NetnsCounterName = keyof typeof NETNS_COUNTERS;
export type NetnsCounters = Record<NetnsCounterName, number>;
export const NETNS_COUNTER_NAMES = Object.keys(NETNS_COUNTERS) as NetnsCounterName[];

export function zeroNetnsCounters(): NetnsCounters {
  return Object.fromEntries(NETNS_COUNTER_NAMES.map((k) => [k, 0])) as NetnsCounters;
}

export function addNetnsCounters(into: NetnsCounters, add: NetnsCounters): void {
  for (const k of NETNS_COUNTER_NAMES) into[k] += add[k];
}
