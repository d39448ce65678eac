/** tcpstate_build_info: which tcpstate and Node.js a service runs (node_exporter's *_build_info convention). */
import { Gauge, type Registry } from "prom-client";
import { packageVersion } from "./version.js";

/**
 * Registers `tcpstate_build_info{version, nodejs} 1` into `registry`: the value is always 1, the facts are the
 * labels, so a query joins them onto any series (`* on(instance) group_left(version) tcpstate_build_info`).
 */
export function registerBuildInfo(registry: Registry): void {
  new Gauge({
    name: "tcpstate_build_info",
    help: "A metric with a constant '1' value labelled by the tcpstate version and the Node.js version it runs on",
    labelNames: ["version", "nodejs"] as const,
    registers: [registry],
  }).set({ version: packageVersion(), nodejs: process.version }, 1);
}
