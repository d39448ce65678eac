// The baseline's userspace half: reads `bpftrace -B line events.bt` output on stdin (one line per event, as
// classic one-liners print) and counts per netns, as a per-event agent would. Runs as its own process so its
// CPU and memory can be measured apart from the benchmark's. Prints {"ready":true} once bpftrace has attached
// and, at EOF, one JSON line with the counts.
import { createInterface } from "node:readline";
import { parseProbeLine } from "../agent/probe/probe-line.js";
import { addTransition, classifyTransition } from "../agent/probe/transition.js";
import { type Counters, zeroCounters } from "../agent/wire/counters.js";

export interface BaselineCounts {
  /** Counters per netns inode. */
  counts: Record<string, Counters>;
  events: number;
  /** Sum of bpftrace's "Lost N events" lines. */
  lost: number;
  malformed: number;
}

const byNetns = new Map<number, Counters>();
let events = 0;
let lost = 0;
let malformed = 0;

const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
lines.on("line", (text) => {
  const line = parseProbeLine(text);
  switch (line.type) {
    case "event": {
      events++;
      let counters = byNetns.get(line.netns);
      if (!counters) {
        counters = zeroCounters();
        byNetns.set(line.netns, counters);
      }
      addTransition(counters, classifyTransition(line.oldState, line.newState), 1);
      break;
    }
    case "lost":
      lost += line.events;
      break;
    case "ready":
      process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
      break;
    case "malformed":
      malformed++;
      break;
    default:
      break;
  }
});
lines.on("close", () => {
  const result: BaselineCounts = { counts: Object.fromEntries(byNetns), events, lost, malformed };
  process.stdout.write(`${JSON.stringify(result)}\n`);
});
// bpftrace gets the terminal's SIGINT too; keep reading until it has exited and the pipe is at EOF.
process.on("SIGINT", () => {});
