/**
 * Which listener is worst off, said once: `top -o wide` shows the first of this ranking and the SynRecvBuildup
 * alert names its port, so both point at the same listener.
 */
import type { Listener } from "../../agent/wire/summary.js";

/** A SYN queue at its backlog: new SYNs are dropped or answered with cookies (backlog 0: limit unknown). */
export function synQueueFull(l: Listener): boolean {
  return l.backlog > 0 && l.synQueue >= l.backlog;
}

const acceptFill = (l: Listener) => l.acceptQueue / (l.backlog || 1);

/**
 * Listeners with half-open connections or a backed-up accept queue, worst first: a full SYN queue, then the
 * most half-open connections, then the fullest accept queue (relative to its backlog), then by port (so the
 * order is the same whatever order the agent listed them in).
 */
export function listenersUnderPressure(listeners: readonly Listener[]): Listener[] {
  return listeners
    .filter((l) => l.synQueue > 0 || l.acceptQueue > 0)
    .sort(
      (a, b) =>
        Number(synQueueFull(b)) - Number(synQueueFull(a)) ||
        b.synQueue - a.synQueue ||
        acceptFill(b) - acceptFill(a) ||
        a.port - b.port ||
        (a.address < b.address ? -1 : a.address > b.address ? 1 : 0),
    );
}
