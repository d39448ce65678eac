/** Past this many out-of-order sequence numbers, a gap below them is taken as lost for good. */
const MAX_PENDING = 1000;

/**
 * Which window sequence numbers of one agent boot were applied, in a few bytes: agents publish in order, so
 * "everything up to N" plus a small set above it. A gap (windows the agent dropped from a full buffer) that
 * stays open for MAX_PENDING windows is closed: those windows never come, and JetStream's duplicate window is
 * far shorter.
 */
export class SeqTracker {
  private upTo = -1;
  private readonly above = new Set<number>();
  lastEnd = 0;

  has(seq: number): boolean {
    return seq <= this.upTo || this.above.has(seq);
  }

  add(seq: number): void {
    if (this.has(seq)) return;
    this.above.add(seq);
    if (this.above.size > MAX_PENDING) this.upTo = Math.min(...this.above) - 1;
    while (this.above.has(this.upTo + 1)) {
      this.upTo++;
      this.above.delete(this.upTo);
    }
  }
}
