import { describe, expect, it } from "vitest";
import { wantTimeWaitPeers } from "../../../agent/gauges/table-staleness.js";
import { keepTimeWaitPeers } from "../../../agent/gauges/time-wait-peers.js";

const NOW = 1_700_000_000_000;
const peers = (entries: [string, number][]) => new Map(entries);

describe("keepTimeWaitPeers", () => {
  it("keeps a listing with when it was made and the TIME_WAIT count then", () => {
    const listed = peers([["10.0.0.9:443", 40]]);
    expect(keepTimeWaitPeers(undefined, 40, listed, NOW)).toEqual({
      timeWaitListedAt: NOW,
      timeWaitListed: 40,
      byPeer: listed,
    });
  });

  it("holds the last listing through passes that list none, while TIME_WAIT sockets remain", () => {
    const first = keepTimeWaitPeers(undefined, 40, peers([["10.0.0.9:443", 40]]), NOW);
    const later = keepTimeWaitPeers(first, 38, null, NOW + 5_000);
    expect(later).toEqual(first);
  });

  it("keeps nothing once TIME_WAIT is empty, so returning sockets are listed afresh", () => {
    const first = keepTimeWaitPeers(undefined, 40, peers([["10.0.0.9:443", 40]]), NOW);
    const empty = keepTimeWaitPeers(first, 0, null, NOW + 1_000);
    expect(empty).toEqual({ timeWaitListedAt: 0, timeWaitListed: 0, byPeer: new Map() });
    // One TIME_WAIT socket a second later is listed at once (the count moved by less than a tenth of 40).
    expect(wantTimeWaitPeers(empty, 1, NOW + 2_000)).toBe(true);
    expect(wantTimeWaitPeers(first, 41, NOW + 2_000)).toBe(false);
  });

  it("has no peers before any listing", () => {
    expect(keepTimeWaitPeers(undefined, 12, null, NOW).byPeer.size).toBe(0);
  });
});
