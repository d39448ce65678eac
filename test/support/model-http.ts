/** The collector's HTTP API over a model the caller fills itself: no NATS, always ready; live events from `events`, if given. */
import { pino } from "pino";
import { Registry } from "prom-client";
import { startCollectorHttp } from "../../collector/http/collector-http.js";
import { EventTap } from "../../collector/live/event-tap.js";
import type { ClusterModel } from "../../collector/model/cluster-model.js";
import type { PeerLookup } from "../../collector/peers/peer-directory.js";
import type { ServiceHttp } from "../../common/service-http.js";

export function serveModel(
  model: ClusterModel,
  opts: { clock: () => number; peers?: PeerLookup | null; events?: EventTap },
): Promise<ServiceHttp> {
  return startCollectorHttp({
    host: "127.0.0.1",
    port: 0,
    registry: new Registry(),
    model,
    peers: opts.peers ?? null,
    events: opts.events ?? new EventTap(() => undefined, null),
    logger: pino({ level: "silent" }),
    readiness: () => ({ ready: true, waitingFor: [] }),
    clock: opts.clock,
  });
}
