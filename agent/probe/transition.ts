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

/** Which counters one `old → new` transition increments, as a bit set (0: none). */
export function classifyTransition(oldState: number, newState: number): number {
  const { CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, LISTEN, CLOSE_WAIT, FIN_WAIT2, CLOSING } = TcpState;
  let bits = 0;
  if (oldState === CLOSE && newState === SYN_SENT) bits |= BIT.active_opens;
  // The accepted child is created on the final ACK: LISTEN→SYN_RECV on the child socket.
  if (oldState === LISTEN && newState === SYN_RECV) bits |= BIT.passive_opens;
  if (newState === ESTABLISHED) bits |= BIT.established;
  if (newState === CLOSE) {
    if (oldState === SYN_SENT) bits |= BIT.failed_connects;
    else if (oldState !== LISTEN) bits |= BIT.closes;
    if (oldState === ESTABLISHED || oldState === CLOSE_WAIT) bits |= BIT.resets;
    // The active closer's socket is replaced by a timewait sock that changes state silently (DESIGN.md).
    if (oldState === FIN_WAIT2 || oldState === CLOSING) bits |= BIT.time_wait_entries;
  }
  return bits;
}

/** Adds `count` transitions classified as `bits` to `into`. */
export function addTransition(into: Counters, bits: number, count: number): void {
  if (bits === 0) return;
  for (const name of COUNTER_NAMES) if (bits & BIT[name]) into[name] += count;
}
