import { COUNTER_NAMES, type CounterName, type Counters } from "../wire/counters.js";
import { TcpState } from "./tcp-state.js";

// Bit per counter, so a transition's classification is one small integer looked up in a table.
const BIT: Record<CounterName, number> = {
  active_opens: 1,
  passive_opens: 2,
  established: 4,
  failed_connects: 8,
  closes: 16,
  resets: 32,
  time_wait_entries: 64,
};

/**
 * Whether `old → new` is a socket entering TIME_WAIT. The tracepoint never reports TIME_WAIT: the active closer's
 * full socket is handed to a timewait sock, which changes state silently, and the full socket itself goes
 * FIN_WAIT2 → CLOSE (or CLOSING → CLOSE): exactly once per entry. Both bpftrace programs print raw states; this
 * is the one place that reads those two transitions as TIME_WAIT entries, for the counts (transitions.bt) and
 * the live events (events.bt) alike.
 */
export function entersTimeWait(oldState: number, newState: number): boolean {
  return newState === TcpState.CLOSE && (oldState === TcpState.FIN_WAIT2 || oldState === TcpState.CLOSING);
}

/** The state a live event shows the socket entering: TIME_WAIT for a TIME_WAIT entry, else what the kernel said. */
export function reportedNewState(oldState: number, newState: number): number {
  return entersTimeWait(oldState, newState) ? TcpState.TIME_WAIT : newState;
}

/** Which counters one `old → new` transition increments, as a bit set (0: none). */
export function classifyTransition(oldState: number, newState: number): number {
  const { CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, LISTEN, CLOSE_WAIT } = TcpState;
  let bits = 0;
  if (oldState === CLOSE && newState === SYN_SENT) bits |= BIT.active_opens;
  // The accepted child is created on the final ACK: LISTEN→SYN_RECV on the child socket.
  if (oldState === LISTEN && newState === SYN_RECV) bits |= BIT.passive_opens;
  if (newState === ESTABLISHED) bits |= BIT.established;
  if (newState === CLOSE) {
    if (oldState === SYN_SENT) bits |= BIT.failed_connects;
    else if (oldState !== LISTEN) bits |= BIT.closes;
    if (oldState === ESTABLISHED || oldState === CLOSE_WAIT) bits |= BIT.resets;
  }
  if (entersTimeWait(oldState, newState)) bits |= BIT.time_wait_entries;
  return bits;
}

/** Adds `count` transitions classified as `bits` to `into`. */
export function addTransition(into: Counters, bits: number, count: number): void {
  if (bits === 0) return;
  for (const name of COUNTER_NAMES) if (bits & BIT[name]) into[name] += count;
}
