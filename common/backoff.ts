/**
 * Exponential backoff, the one schedule every retry in tcpstate waits by (bpftrace restarts, kube list/watch,
 * JetStream set-up, alert sinks): the first wait `initialMs`, each next one twice as long, never over `maxMs`.
 */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** The wait before retry number `attempt` (0: the first retry after a failure). */
export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  // The exponent stops at 52: past 1023 it would be Infinity, and 0 × Infinity (initialMs 0) is NaN.
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 52));
}

/** A wait drawn uniformly from [delay / 2, delay]: retries of many senders spread out instead of arriving together. */
export function halfJittered(delay: number, random: () => number = Math.random): number {
  return delay / 2 + random() * (delay / 2);
}

/** Consecutive failures and the wait each earns; a success (or a stable run) resets it. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly policy: BackoffPolicy) {}

  /** The wait before the next retry; each call counts one more failure. */
  next(): number {
    const delay = backoffDelay(this.attempt, this.policy);
    // At the cap the count stops growing: it only ever matters below it.
    if (delay < this.policy.maxMs) this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}
