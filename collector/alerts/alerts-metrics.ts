/** The alerts' metrics on the collector's registry, read at scrape time. */
import { Counter, Gauge, type Registry } from "prom-client";
import type { AlertEngine } from "./alert-engine.js";
import type { DeliveryStats } from "./sinks/delivery-queue.js";

export interface AlertsMetricsSources {
  engine: AlertEngine;
  rules: { reloads: number; failures: number };
  sinks: ReadonlyMap<string, DeliveryStats>;
}

export function registerAlertsMetrics(registry: Registry, src: AlertsMetricsSources): void {
  const registers = [registry];
  new Gauge({
    name: "tcpstate_alerts",
    help: "Alerts pending or firing (1 each), by rule, pod and state",
    labelNames: ["alertname", "severity", "namespace", "pod", "workload", "node", "port", "state"] as const,
    registers,
    collect() {
      this.reset();
      for (const a of src.engine.list("all")) {
        const l = a.labels;
        this.set(
          {
            alertname: l.alertname ?? "",
            severity: l.severity ?? "",
            namespace: l.namespace ?? "",
            pod: l.pod ?? "",
            workload: l.workload ?? "",
            node: l.node ?? "",
            port: l.port ?? "",
            state: a.state,
          },
          1,
        );
      }
    },
  });
  new Counter({
    name: "tcpstate_alerts_rules_reloads_total",
    help: "Reloads of the alert rules file, by result (rejected: invalid, the rules in force stayed)",
    labelNames: ["result"] as const,
    registers,
    collect() {
      this.reset();
      this.inc({ result: "applied" }, src.rules.reloads);
      this.inc({ result: "rejected" }, src.rules.failures);
    },
  });
  const perSink = (name: string, help: string, read: (s: DeliveryStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ["sink"] as const,
      registers,
      collect() {
        this.reset();
        for (const [sink, s] of src.sinks) this.inc({ sink }, read(s));
      },
    });
  perSink("tcpstate_alerts_sink_sent_total", "Alert notifications delivered, by sink", (s) => s.sent);
  perSink(
    "tcpstate_alerts_sink_errors_total",
    "Failed delivery attempts (retried), by sink",
    (s) => s.errors,
  );
  perSink(
    "tcpstate_alerts_sink_dropped_total",
    "Alert notifications given up (queue full, or rejected by the receiver), by sink",
    (s) => s.dropped,
  );
  new Gauge({
    name: "tcpstate_alerts_sink_queued",
    help: "Alert notifications waiting for delivery, by sink",
    labelNames: ["sink"] as const,
    registers,
    collect() {
      this.reset();
      for (const [sink, s] of src.sinks) this.set({ sink }, s.queued);
    },
  });
}
