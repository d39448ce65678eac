import type { TimeWaitListing } from "./table-staleness.js";

/*
 * Which peers a netns's TIME_WAIT sockets are with. Listing TIME_WAIT sockets costs the most when they are many,
 * so a table read lists them only now and then (wantTimeWaitPeers, agent/gauges/table-staleness.ts); between
 * listings the last one holds. Pure.
 */

/** The TIME_WAIT peers kept for a netns: the last listing, when it was made and how many there were then. */
export interface TimeWaitPeers extends TimeWaitListing {
  /** TIME_WAIT sockets per peer ("address:port"), as last listed. */
  byPeer: Map<string, number>;
}

/**
 * The peers kept after a pass. `tw`: the netns's TIME_WAIT count now (sockstat). `listed`: the peers a table
 * read of this pass listed, or null when none listed them. Once TIME_WAIT is empty nothing is kept, so when
 * TIME_WAIT sockets come back their peers are listed afresh.
 */
export function keepTimeWaitPeers(
  last: TimeWaitPeers | undefined,
  tw: number,
  listed: Map<string, number> | null,
  now: number,
): TimeWaitPeers {
  if (listed) return { timeWaitListedAt: now, timeWaitListed: tw, byPeer: listed };
  if (tw === 0) return { timeWaitListedAt: 0, timeWaitListed: 0, byPeer: new Map() };
  return {
    timeWaitListedAt: last?.timeWaitListedAt ?? 0,
    timeWaitListed: last?.timeWaitListed ?? 0,
    byPeer: last?.byPeer ?? new Map(),
  };
}
