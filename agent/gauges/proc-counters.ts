import type { NetnsHandle } from "../attribution/netns-handle.js";
import { NETNS_COUNTERS, type NetnsCounterName, type NetnsCounters } from "../wire/gauges.js";
import { readNetnsFiles } from "./netns-files.js";

/** `TCP: inuse 2 orphan 0 tw 1 alloc 3 mem 1` of /proc/<pid>/net/sockstat: this netns's TCP socket counts. */
export interface TcpSockstat {
  /** Full TCP sockets hashed in this netns (every state but CLOSE and TIME_WAIT). */
  inuse: number;
  orphan: number;
  /**
   * Timewait socks of this netns (kept per netns by the kernel: exact, at no cost): TIME_WAIT sockets plus
   * orphaned FIN_WAIT2 ones, which the kernel also hands to timewait socks.
   */
  tw: number;
}

export function parseSockstat(text: string): TcpSockstat | null {
  const line = text.split("\n").find((l) => l.startsWith("TCP: "));
  if (!line) return null;
  const fields = line.slice(5).trim().split(/\s+/);
  const get = (name: string) => {
    const i = fields.indexOf(name);
    const v = i >= 0 ? Number(fields[i + 1]) : Number.NaN;
    return Number.isFinite(v) ? v : null;
  };
  const inuse = get("inuse");
  const orphan = get("orphan");
  const tw = get("tw");
  return inuse === null || orphan === null || tw === null ? null : { inuse, orphan, tw };
}

/**
 * /proc/<pid>/net/snmp and /proc/<pid>/net/netstat: pairs of lines `Prefix: Name1 Name2 …` / `Prefix: 1 2 …`.
 * Returns `Prefix.Name` → value for the prefixes asked for.
 */
export function parseProcNetCounters(text: string, prefixes: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split("\n");
  for (let i = 0; i + 1 < lines.length; i++) {
    const names = lines[i] as string;
    const values = lines[i + 1] as string;
    const colon = names.indexOf(":");
    if (colon < 0) continue;
    const prefix = names.slice(0, colon);
    if (!prefixes.includes(prefix) || !values.startsWith(`${prefix}:`)) continue;
    const n = names
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    const v = values
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    for (let j = 0; j < n.length; j++) out.set(`${prefix}.${n[j]}`, Number(v[j]));
    i++;
  }
  return out;
}

export function pickNetnsCounters(values: Map<string, number>): NetnsCounters {
  const out = {} as NetnsCounters;
  for (const [name, key] of Object.entries(NETNS_COUNTERS))
    out[name as NetnsCounterName] = values.get(key) ?? 0;
  return out;
}

/** `TCP6: inuse N` of /proc/<pid>/net/sockstat6: the netns's full IPv6 TCP sockets (sockstat's inuse is IPv4's). */
export function parseSockstat6Inuse(text: string): number | null {
  const at = text.indexOf("TCP6: inuse ");
  if (at < 0) return null;
  const v = Number.parseInt(text.slice(at + 12), 10);
  return Number.isFinite(v) ? v : null;
}

/** The netns's full IPv6 TCP sockets: 0 without IPv6 (no sockstat6), null when unparsable. */
export async function readInuse6(procRoot: string, handle: NetnsHandle): Promise<number | null> {
  const [text] = await readNetnsFiles(procRoot, handle, ["sockstat6"]);
  return text == null ? 0 : parseSockstat6Inuse(text);
}

/** TcpExt.TCPSynRetrans: SYN and SYN-ACK retransmits (a request sock that lived ≥ 1 s moves it). */
export const SYN_RETRANS = "TcpExt.TCPSynRetrans";

/**
 * Reads the cheap per-netns counters (three small reads, ≈ 0.1 ms together through a process in the netns; one
 * spawn through a bind mount).
 */
export async function readNetnsCounters(
  procRoot: string,
  handle: NetnsHandle,
): Promise<{ sockstat: TcpSockstat; counters: NetnsCounters; synRetrans: number } | null> {
  const [sockstat, snmp, netstat] = await readNetnsFiles(procRoot, handle, ["sockstat", "snmp", "netstat"]);
  const parsed = sockstat ? parseSockstat(sockstat) : null;
  if (!parsed || !snmp || !netstat) return null;
  const values = parseProcNetCounters(`${snmp}\n${netstat}`, ["Tcp", "TcpExt"]);
  return { sockstat: parsed, counters: pickNetnsCounters(values), synRetrans: values.get(SYN_RETRANS) ?? 0 };
}
