import { describe, expect, it } from "vitest";
import {
  reconcileTimeWait,
  TIME_WAIT_MS,
  TIME_WAIT_SLACK_MS,
  TimeWaitEstimator,
} from "../../../agent/gauges/time-wait-estimate.js";

const START = 1_000_000;

/** A steady churn: `perSecond` entries in each 1 s window from START for `seconds`. */
function churned(e: TimeWaitEstimator, uid: string | null, perSecond: number, seconds: number): number {
  for (let s = 1; s <= seconds; s++)
    if (uid === null) e.recordHost(START + s * 1000, perSecond);
    else e.record(uid, START + s * 1000, perSecond);
  return START + seconds * 1000;
}

describe("TimeWaitEstimator", () => {
  it("counts a pod's entries over the last 60 s only", () => {
    const e = new TimeWaitEstimator(START);
    const now = churned(e, "pod-1", 10, 90);
    expect(e.estimate("pod-1", now)).toBe(600);
    expect(e.estimate("pod-1", now + 30_000)).toBe(300);
    expect(e.estimate("pod-1", now + TIME_WAIT_MS)).toBe(0);
    expect(e.estimate("unknown", now)).toBe(0);
  });

  it("keeps the host's entries apart from the pods'", () => {
    const e = new TimeWaitEstimator(START);
    churned(e, "pod-1", 10, 30);
    const now = churned(e, null, 3, 30);
    expect(e.hostEntries(now)).toBe(90);
    expect(e.estimate("pod-1", now)).toBe(300);
  });

  it("has seen a whole lifetime once 60 s plus the timer's slack have passed since counting began", () => {
    const e = new TimeWaitEstimator(START);
    expect(e.seenWholeLifetime(START + TIME_WAIT_MS)).toBe(false);
    expect(e.seenWholeLifetime(START + TIME_WAIT_MS + TIME_WAIT_SLACK_MS)).toBe(true);
  });

  it("forgets pods no longer on the node", () => {
    const e = new TimeWaitEstimator(START);
    const now = churned(e, "gone", 5, 10);
    churned(e, "kept", 5, 10);
    e.forget(new Set(["kept"]));
    expect(e.estimate("gone", now)).toBe(0);
    expect(e.estimate("kept", now)).toBe(50);
  });
});

describe("reconcileTimeWait", () => {
  const pods = (entries: Record<string, number>) => new Map(Object.entries(entries));

  it("shares sockets that outlived 60 s (timer slack) by entries: a steady churn's estimate is exact", () => {
    // 10/s for a 61.2 s lifetime: the netns holds 612 sockets for 600 entries in the last 60 s.
    expect(reconcileTimeWait(612 + 51, pods({ web: 600 }), 50, true)).toEqual({
      pods: pods({ web: 612 }),
      rest: 51,
    });
  });

  it("does not scale up before a whole lifetime was seen: older sockets have no entries", () => {
    expect(reconcileTimeWait(5000, pods({ web: 600 }), 50, false)).toEqual({
      pods: pods({ web: 600 }),
      rest: 4400,
    });
  });

  it("scales up by the timer's slack at most", () => {
    const { pods: shares, rest } = reconcileTimeWait(5000, pods({ web: 600 }), 0, true);
    expect(shares.get("web")).toBe(Math.floor((600 * (TIME_WAIT_MS + TIME_WAIT_SLACK_MS)) / TIME_WAIT_MS));
    expect(rest).toBe(5000 - (shares.get("web") ?? 0));
  });

  it("scales down when sockets left early, so the pods and the host hold exactly the netns's count", () => {
    const { pods: shares, rest } = reconcileTimeWait(325, pods({ web: 400, batch: 200 }), 50, true);
    expect(shares).toEqual(pods({ web: 200, batch: 100 }));
    expect(rest).toBe(25);
  });

  it("gives everything to the host when no pod entered TIME_WAIT", () => {
    expect(reconcileTimeWait(80, pods({ web: 0 }), 0, true)).toEqual({ pods: pods({ web: 0 }), rest: 80 });
    expect(reconcileTimeWait(80, pods({ web: 0 }), 40, true)).toEqual({ pods: pods({ web: 0 }), rest: 80 });
  });
});
