import { describe, expect, it } from "vitest";
import { Backoff, backoffDelay, halfJittered } from "../../common/backoff.js";

const waits = (b: Backoff, n: number) => Array.from({ length: n }, () => b.next());

describe("backoff", () => {
  it("waits the initial delay, then twice as long each time, up to the cap (bpftrace restarts: 0.5 s to 30 s)", () => {
    expect(waits(new Backoff({ initialMs: 500, maxMs: 30_000 }), 9)).toEqual([
      500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it("starts over after a reset (a success, or a process that ran long enough)", () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    waits(b, 4);
    b.reset();
    expect(waits(b, 2)).toEqual([1000, 2000]);
  });

  it("stays at the cap however many failures there are, never Infinity or NaN", () => {
    const b = new Backoff({ initialMs: 2000, maxMs: 30_000 });
    expect(waits(b, 5000).at(-1)).toBe(30_000);
    expect(backoffDelay(5000, { initialMs: 2000, maxMs: 30_000 })).toBe(30_000);
    expect(backoffDelay(5000, { initialMs: 0, maxMs: 30_000 })).toBe(0);
  });

  it("caps at a bound below the second step (Alertmanager: 2 s, then the resend interval of 3 s)", () => {
    expect([0, 1, 2].map((n) => backoffDelay(n, { initialMs: 2000, maxMs: 3000 }))).toEqual([
      2000, 3000, 3000,
    ]);
  });

  it("jitters a wait within its upper half", () => {
    expect(halfJittered(30_000, () => 0)).toBe(15_000);
    expect(halfJittered(30_000, () => 0.5)).toBe(22_500);
    expect(halfJittered(30_000, () => 0.999)).toBeLessThan(30_000);
  });
});
