/**
 * The bundled NATS's rendered nats.conf run by a real nats-server (its ports and store moved to this machine's):
 * it starts with JetStream, and the chart's probes on its monitor port answer 200.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitHttpOk } from "../support/http-ready.js";
import { type BundledNats, startBundledNats } from "./bundled-nats-server.js";
import { render } from "./chart.js";

describe("bundled NATS: the chart's nats.conf and probes with a real nats-server", () => {
  let bundled: BundledNats;

  beforeAll(async () => {
    bundled = await startBundledNats(render());
  }, 30_000);

  afterAll(async () => {
    await bundled?.server.destroy();
  });

  it("starts with JetStream and passes the startup, liveness and readiness probes", async () => {
    const { server, nats } = bundled;
    expect(nats.args).toEqual(["--config", "/etc/nats/nats.conf"]);
    const probes = [nats.startupProbe, nats.livenessProbe, nats.readinessProbe].map((p) => p.httpGet);
    for (const probe of probes) {
      expect(probe.port).toBe("monitor");
      await waitHttpOk(`${server.monitorUrl}${probe.path}`, 15_000).catch((err: Error) => {
        throw new Error(`${err.message}\nnats-server log:\n${server.log()}`);
      });
    }
    expect(server.log()).toContain("Starting JetStream");
    expect(server.log()).toMatch(/Name: +t-tcpstate-nats-0/);
    expect(probes[1]?.path).toBe("/healthz?js-enabled-only=true");
  });
});
