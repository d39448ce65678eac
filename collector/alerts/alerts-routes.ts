/** GET /api/v1/alerts?state=firing|pending|all (default all): the alerts pending or firing now. */
import type http from "node:http";
import { sendJson } from "../../common/service-http.js";
import type { AlertEngine } from "./alert-engine.js";

export const ALERT_STATES = ["firing", "pending", "all"] as const;
export type AlertStateFilter = (typeof ALERT_STATES)[number];

export function alertsRoutes(
  engine: AlertEngine,
): Record<string, (url: URL, res: http.ServerResponse) => void> {
  return {
    "/api/v1/alerts": (url, res) => {
      const state = url.searchParams.get("state") ?? "all";
      if (!(ALERT_STATES as readonly string[]).includes(state))
        return sendJson(res, 400, { error: `invalid state "${state}": expected firing, pending or all` });
      const alerts = engine.list(state as AlertStateFilter);
      sendJson(res, 200, { state, alerts });
    },
  };
}
