import { describe, expect, it } from "vitest";
import {
  HOST_SHARE_TRUSTED,
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
    // Windows go on closing with no entries: after 30 s half the sockets have left, after 60 s all.
    const quiet = (seconds: number) => {
      for (let s = 1; s <= seconds; s++) e.record("pod-1", now + s * 1000, 0);
      return now + seconds * 1000;
    };
    expect(e.estimate("pod-1", quiet(30))).toBe(300);
    expect(e.estimate("pod-1", quiet(TIME_WAIT_MS / 1000))).toBe(0);
    expect(e.estimate("unknown", now)).toBe(0);
  });

  it("counts back from the newest window counted: a gauge pass that ran long leaves none of the 60 s out", () => {
    const e = new TimeWaitEstimator(START);
    const lastWindowEnd = churned(e, "pod-1", 10, 90);
    churned(e, null, 5, 90);
    // The window closing now ended 4 s after the last one (its gauge pass took 4 s on a busy machine): its own
    // entries are not counted yet, and the 60 s before the last window still are.
    expect(e.estimate("pod-1", lastWindowEnd + 4000)).toBe(600);
    expect(e.hostEntries(lastWindowEnd + 4000)).toBe(300);
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
    // 10/s for a 61.2 s lifetime: the netns holds 612 sockets for 600 entries in the last 60 s (and the host's 6
    // for 5).
    expect(reconcileTimeWait(612 + 6, pods({ web: 600 }), 5, true)).toEqual({
      pods: pods({ web: 612 }),
      rest: 6,
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
    const { pods: shares, rest } = reconcileTimeWait(305, pods({ web: 400, batch: 200 }), 10, true);
    expect(shares).toEqual(pods({ web: 200, batch: 100 }));
    expect(rest).toBe(5);
  });

  it("gives everything to the host when no pod entered TIME_WAIT", () => {
    expect(reconcileTimeWait(80, pods({ web: 0 }), 0, true)).toEqual({ pods: pods({ web: 0 }), rest: 80 });
    expect(reconcileTimeWait(80, pods({ web: 0 }), 40, true)).toEqual({ pods: pods({ web: 0 }), rest: 80 });
  });

  it("keeps a pod's own entries on a busy host whose sockets left early: the host's shortfall is the host's", () => {
    // What a busy node did (issue 15): the host made 6,000 entries but holds 5,200 (tw_reuse, RSTs); shared out
    // by entries, the pod's 600 read 527.
    expect(reconcileTimeWait(600 + 5200, pods({ web: 600 }), 6000, true)).toEqual({
      pods: pods({ web: 600 }),
      rest: 5200,
    });
  });

  it("does not scale a pod up by a host burst counted before its entries were", () => {
    expect(reconcileTimeWait(600 + 1500 + 4000, pods({ web: 600 }), 4000, true)).toEqual({
      pods: pods({ web: 600 }),
      rest: 5500,
    });
  });

  it("never gives the pods more than the netns holds, whoever made the entries", () => {
    const { pods: shares, rest } = reconcileTimeWait(300, pods({ web: 400, batch: 200 }), 6000, true);
    expect(shares).toEqual(pods({ web: 200, batch: 100 }));
    expect(rest).toBe(0);
  });

  it("trusts the netns's count for the pods only while the host makes at most its trusted share of the entries", () => {
    // Sockets that outlived 60 s: the pods' 1,000 entries hold 1,050 while the host makes under 2%…
    expect(20 / 1020).toBeLessThanOrEqual(HOST_SHARE_TRUSTED);
    expect(reconcileTimeWait(1050 + 21, pods({ web: 1000 }), 20, true).pods.get("web")).toBe(1050);
    // …and their own 1,000 once it makes more.
    expect(50 / 1050).toBeGreaterThan(HOST_SHARE_TRUSTED);
    expect(reconcileTimeWait(1050 + 52, pods({ web: 1000 }), 50, true).pods.get("web")).toBe(1000);
  });
});
