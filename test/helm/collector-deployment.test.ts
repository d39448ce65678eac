/**
 * The collector started the way the chart's Deployment starts it — its args and env, the files it mounts (the
 * rules from the chart's ConfigMap at the path RULES names, its NATS password from its Secret) — loads the rules
 * the chart renders (defaults and custom) and becomes ready against the chart's bundled NATS, logged in as its
 * user. Mapped: the bundled NATS Service → the rendered NATS configuration run by a test nats-server; the port →
 * a free loopback port; alert sinks → a closed loopback port; no kube API (peer names off).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/agent-process.js";
import { waitHttpOk } from "../support/http-ready.js";
import { startService } from "../support/service-process.js";
import { startBundledNats } from "./bundled-nats-server.js";
import { MONITORING_API, one, render } from "./chart.js";
import { deploymentCollector } from "./deployment-collector.js";

describe("collector started with the Deployment's args, env and rules ConfigMap", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-collector-deploy-"));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const valuesFiles of [[], ["ci/custom-rules-values.yaml"], ["ci/ha-collector-values.yaml"]]) {
    it(`loads the rendered rules and answers /readyz (${valuesFiles[0] ?? "default values"})`, async () => {
      const objects = render({ valuesFiles });
      const root = path.join(dir, valuesFiles.length ? path.basename(valuesFiles[0] as string) : "default");
      const { args, env } = await deploymentCollector(objects, root);
      const rules = path.join(root, "etc/tcpstate/rules.yaml");
      expect(env.RULES).toBe(rules);
      // Alert sinks (HA values) point at a closed loopback port: no traffic leaves this machine.
      for (const sink of ["ALERTMANAGER_URL", "WEBHOOK_URL"])
        if (env[sink]) env[sink] = "http://127.0.0.1:9/";
      const nats = (await startBundledNats(objects)).server;
      const service = await startService([CLI, ...args, "--listen", "127.0.0.1:0"], {
        env: { ...env, NATS_URL: nats.url },
      });
      try {
        await waitHttpOk(`http://127.0.0.1:${service.port}/readyz`, 30_000);
        expect(service.logs).toContainEqual(
          expect.objectContaining({ msg: "alert rules loaded", file: rules }),
        );
        expect(service.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
        // Every metric the chart's PrometheusRule and Grafana dashboard query is one this collector exports.
        const exported = new Set(
          [
            ...(await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text()).matchAll(
              /^# TYPE (\S+)/gm,
            ),
          ].map((m) => m[1]),
        );
        const monitored = render({
          valuesFiles,
          set: { "monitoring.prometheusRule.enabled": "true" },
          apiVersions: [MONITORING_API],
        });
        const queries = [
          ...one(monitored, "PrometheusRule").spec.groups[0].rules.map((r: { expr: string }) => r.expr),
          ...JSON.parse(one(monitored, "ConfigMap", "-dashboard").data["tcpstate.json"]).panels.flatMap(
            (p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr),
          ),
        ] as string[];
        const queried = new Set(queries.flatMap((q) => q.match(/tcpstate_[a-z_]+/g) ?? []));
        expect(queried.size).toBeGreaterThan(10);
        expect([...queried].filter((m) => !exported.has(m))).toEqual([]);
      } finally {
        expect(await service.stop()).toBe(0);
        await nats.destroy();
      }
    }, 60_000);
  }
});
