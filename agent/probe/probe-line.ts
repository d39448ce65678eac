/**
 * Parser for what the bpftrace programs print (transitions.bt, events.bt). Hand-written: it runs for every
 * line bpftrace prints, so it scans characters instead of splitting and matching regular expressions.
 */

export type ProbeLine =
  | { type: "ready" }
  /** `tickUs`: when the kernel's tick ran (CLOCK_MONOTONIC, µs); absent on the END flush. */
  | { type: "flush-begin"; seq: number; final: boolean; tickUs?: number }
  | { type: "count"; netns: number; cgroup: number; oldState: number; newState: number; count: number }
  | { type: "destination"; netns: number; cgroup: number; address: string; port: number; count: number }
  /** FIN_WAIT2 → CLOSE transitions in netns `netns` that left a FIN_WAIT2 timewait sock (the peer's FIN not in). */
  | { type: "fin-wait2-timewait"; netns: number; count: number }
  | { type: "flush-end"; seq: number; final: boolean }
  | { type: "lost"; events: number }
  | {
      type: "event";
      netns: number;
      cgroup: number;
      oldState: number;
      newState: number;
      family: 4 | 6;
      saddr: string;
      sport: number;
      daddr: string;
      dport: number;
    }
  | { type: "ignored" }
  | { type: "malformed"; line: string; reason: string };

const IGNORED: ProbeLine = { type: "ignored" };
const READY: ProbeLine = { type: "ready" };

/** Reads an unsigned decimal at `line[pos]`; returns -1 when there is none. Sets `end` to the next index. */
function readUint(line: string, pos: number, cursor: { end: number }): number {
  let value = 0;
  let i = pos;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
  }
  cursor.end = i;
  return i === pos ? -1 : value;
}

function malformed(line: string, reason: string): ProbeLine {
  return { type: "malformed", line, reason };
}

const cursor = { end: 0 };

function parseMarker(line: string, type: "flush-begin" | "flush-end"): ProbeLine {
  if (line.charCodeAt(1) !== 32) return malformed(line, "expected a space after the marker");
  const seq = readUint(line, 2, cursor);
  if (seq < 0) return malformed(line, "expected a flush sequence number");
  const rest = line.slice(cursor.end);
  if (rest === "") return { type, seq, final: false };
  if (type === "flush-begin" && line.charCodeAt(cursor.end) === 32) {
    const at = cursor.end + 1;
    const tickUs = readUint(line, at, cursor);
    if (tickUs >= 0 && cursor.end === line.length) return { type, seq, final: false, tickUs };
  }
  if (rest === " final") return { type, seq, final: true };
  return malformed(line, "unexpected text after the flush sequence number");
}

/** `@c0[4026531840, 1234, 7, 2]: 3` — a key of four unsigned integers and a count. */
function parseCount(line: string): ProbeLine {
  const open = line.indexOf("[");
  if (open < 0) return malformed(line, "expected a map key in brackets");
  const fields = [0, 0, 0, 0];
  let pos = open + 1;
  for (let f = 0; f < 4; f++) {
    const value = readUint(line, pos, cursor);
    if (value < 0) return malformed(line, `expected key field ${f + 1} of 4 to be an unsigned integer`);
    fields[f] = value;
    pos = cursor.end;
    const sep = f < 3 ? ", " : "]: ";
    if (!line.startsWith(sep, pos)) return malformed(line, `expected "${sep}" after key field ${f + 1}`);
    pos += sep.length;
  }
  const count = readUint(line, pos, cursor);
  if (count < 0 || cursor.end !== line.length) return malformed(line, "expected a count after the key");
  return {
    type: "count",
    netns: fields[0] as number,
    cgroup: fields[1] as number,
    oldState: fields[2] as number,
    newState: fields[3] as number,
    count,
  };
}

/** `T <netns> <cgroup> <old> <new> <4|6> <saddr> <sport> <daddr> <dport>` from events.bt. */
/** `@d0[4026531840, 1234, ::ffff:10.0.0.7, 5432]: 3` — connects per destination. */
function parseDestination(line: string): ProbeLine {
  const open = line.indexOf("[");
  const close = line.lastIndexOf("]: ");
  if (open < 0 || close < 0) return malformed(line, "expected a destination key in brackets");
  const key = line.slice(open + 1, close).split(", ");
  if (key.length !== 4) return malformed(line, `expected 4 destination key fields, found ${key.length}`);
  const nums = [key[0], key[1], key[3], line.slice(close + 3)].map((text = "") => {
    const v = readUint(text, 0, cursor);
    return cursor.end === text.length ? v : -1;
  });
  const [netns, cgroup, port, count] = nums as [number, number, number, number];
  if (netns < 0 || cgroup < 0 || port < 0 || count < 0)
    return malformed(line, "expected unsigned integers for netns, cgroup, port and count");
  let address = key[2] as string;
  // IPv4 peers arrive v4-mapped (the program reads daddr_v6 for both families).
  if (address.startsWith("::ffff:") && address.includes(".")) address = address.slice(7);
  if (address.length === 0) return malformed(line, "expected a destination address");
  return { type: "destination", netns, cgroup, address, port, count };
}

/** `@f0[4026531840]: 3` — a key of one netns and a count. */
function parseNetnsCount(line: string): ProbeLine {
  const open = line.indexOf("[");
  if (open < 0) return malformed(line, "expected a map key in brackets");
  const netns = readUint(line, open + 1, cursor);
  if (netns < 0 || !line.startsWith("]: ", cursor.end))
    return malformed(line, "expected a netns inode as the only key field");
  const count = readUint(line, cursor.end + 3, cursor);
  if (count < 0 || cursor.end !== line.length) return malformed(line, "expected a count after the key");
  return { type: "fin-wait2-timewait", netns, count };
}

function parseEvent(line: string): ProbeLine {
  const parts = line.split(" ");
  if (parts.length !== 10)
    return malformed(line, `expected 10 fields in an event line, found ${parts.length}`);
  const nums = [1, 2, 3, 4, 5, 7, 9].map((i) => {
    const text = parts[i] as string;
    const v = readUint(text, 0, cursor);
    return cursor.end === text.length ? v : -1;
  });
  if (nums.some((n) => n < 0)) return malformed(line, "expected unsigned integers in numeric event fields");
  const [netns, cgroup, oldState, newState, family, sport, dport] = nums as number[];
  if (family !== 4 && family !== 6) return malformed(line, `expected address family 4 or 6, found ${family}`);
  return {
    type: "event",
    netns: netns as number,
    cgroup: cgroup as number,
    oldState: oldState as number,
    newState: newState as number,
    family,
    saddr: parts[6] as string,
    sport: sport as number,
    daddr: parts[8] as string,
    dport: dport as number,
  };
}

export function parseProbeLine(line: string): ProbeLine {
  if (line.length === 0) return IGNORED; // bpftrace prints a blank line after each map and at exit
  switch (line.charCodeAt(0)) {
    case 64 /* @ */:
      switch (line.charCodeAt(1)) {
        case 100 /* d */:
          return parseDestination(line);
        case 102 /* f */:
          return parseNetnsCount(line);
        default:
          return parseCount(line);
      }
    case 70 /* F */:
      return parseMarker(line, "flush-begin");
    case 69 /* E */:
      return parseMarker(line, "flush-end");
    case 84 /* T */:
      return parseEvent(line);
    case 82 /* R */:
      return line === "R" ? READY : malformed(line, "unexpected text after the ready marker");
    case 65 /* A */:
      return line.startsWith("Attaching ") ? IGNORED : malformed(line, "unknown line");
    case 76 /* L */:
      {
        // Text mode reports perf ring overflows on stdout: "Lost 123 events".
        if (!line.startsWith("Lost ")) return malformed(line, "unknown line");
        const events = readUint(line, 5, cursor);
        return events < 0 ? malformed(line, "expected a number of lost events") : { type: "lost", events };
      }
    default:
      return malformed(line, "unknown line");
  }
}
