import type { NetnsCounterName, NetnsCounters } from "../wire/gauges.js";
import type { TcpSockstat } from "./proc-counters.js";
import type { SocketTable } from "./socket-table.js";

/*
 * When a netns's socket table is worth reading, from what the cheap per-netns counters say. Pure functions.
 */

/** What the last pass kept of a netns's TIME_WAIT listing. */
export interface TimeWaitListing {
  /** When TIME_WAIT peers were last listed (0: never), and how many TIME_WAIT sockets there were then. */
  timeWaitListedAt: number;
  timeWaitListed: number;
}

/** What the last pass kept of a netns's counters and table. */
export interface LastSeen {
  sockstat: TcpSockstat;
  counters: NetnsCounters;
  table: SocketTable;
}

/** TIME_WAIT peers are listed again after this long, or when the TIME_WAIT count moved by a tenth. */
export const TIME_WAIT_PEERS_MAX_AGE_MS = 30_000;
/** Should this read list TIME_WAIT sockets (to name their peers)? They cost the most when they are many. */
export function wantTimeWaitPeers(last: TimeWaitListing | undefined, tw: number, now: number): boolean {
  if (tw === 0) return false;
  if (!last || last.timeWaitListedAt === 0) return true;
  return (
    now - last.timeWaitListedAt >= TIME_WAIT_PEERS_MAX_AGE_MS ||
    Math.abs(tw - last.timeWaitListed) > Math.max(1, last.timeWaitListed / 10)
  );
}

/** Did anything that can change a socket's state happen in this netns since the last table read? */
export function tableIsStale(
  last: LastSeen | undefined,
  sockstat: TcpSockstat,
  counters: NetnsCounters,
  hadTransitions: boolean,
): boolean {
  if (!last) return true;
  return (
    hadTransitions ||
    // Every handshake, close and retransmit moves a segment counter; TIME_WAIT expiry moves tw.
    counters.in_segs !== last.counters.in_segs ||
    counters.out_segs !== last.counters.out_segs ||
    sockstat.inuse !== last.sockstat.inuse ||
    sockstat.tw !== last.sockstat.tw ||
    // Request socks expire silently after their last SYN-ACK retransmit: watch them until they are gone.
    last.table.gauges.SYN_RECV > 0
  );
}

/** Counters whose move means SYN trouble: request socks that live, queues that fill. */
export const SYN_PRESSURE: readonly NetnsCounterName[] = [
  "listen_overflows",
  "listen_drops",
  "req_q_full_drops",
  "req_q_full_do_cookies",
  "syncookies_sent",
];

/** Each counter's increase since `before` (0 on the first pass). */
export function counterDeltas(now: NetnsCounters, before: NetnsCounters | undefined): NetnsCounters {
  const out = { ...now };
  for (const k of Object.keys(out) as NetnsCounterName[]) {
    const d = before ? now[k] - before[k] : 0;
    out[k] = Math.max(d, 0); // a counter that went back belongs to a new netns with a reused inode
  }
  return out;
}
