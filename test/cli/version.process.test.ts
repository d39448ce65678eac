/**
 * Which tcpstate runs: `tcpstate --version`, the tcpstate_build_info gauge of the agent and the collector, and
 * the version in the collector's first log line — all package.json's version, read by the built CLI too.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AgentMetrics } from "../../agent/agent-metrics.js";
import { collectorMetrics } from "../../collector/collector-metrics.js";
import { ClusterModel } from "../../collector/model/cluster-model.js";
import { packageVersion } from "../../common/version.js";
import { type AgentProcess, repoRoot, runCli, startAgent } from "../support/agent-process.js";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";

const VERSION = (
  JSON.parse(readFileSync(path.join(repoRoot(), "package.json"), "utf8")) as { version: string }
).version;
const BUILD_INFO = `tcpstate_build_info{version="${VERSION}",nodejs="${process.version}"} 1`;
const NO_INGEST = { ingested: 0, duplicates: 0, pending: 0, deadLetters: new Map(), restarts: 0 };

describe("tcpstate version", () => {
  let collector: CollectorProcess | undefined;
  let agent: AgentProcess | undefined;
  afterAll(async () => {
    await collector?.stop();
    await agent?.stop();
  });

  it("tcpstate --version prints package.json's version, from the built CLI in dist/", async () => {
    for (const flag of ["--version", "-V"]) {
      const r = await runCli([flag]);
      expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    }
    expect(packageVersion()).toBe(VERSION);
  });

  it("the agent's and the collector's registries carry tcpstate_build_info{version,nodejs} 1", async () => {
    expect(await new AgentMetrics().registry.metrics()).toContain(BUILD_INFO);
    const registry = collectorMetrics(NO_INGEST, new ClusterModel(3_600_000, 86_400_000));
    expect(await registry.metrics()).toContain(BUILD_INFO);
  });

  it("a running collector logs its version first and serves tcpstate_build_info on /metrics", async () => {
    // No NATS answers on port 1: the collector starts all the same, unready, retrying.
    collector = await startCollector("nats://127.0.0.1:1");
    expect(collector.logs[0]).toMatchObject({
      msg: "starting collector",
      version: VERSION,
      nodejs: process.version,
    });
    expect((await collector.get("/metrics")).text).toContain(BUILD_INFO);
  }, 30_000);

  it("a running agent logs its version first and serves tcpstate_build_info on /metrics", async () => {
    agent = await startAgent(["--standalone", "--interval", "1s"]);
    expect(agent.logs[0]).toMatchObject({ msg: "starting agent", version: VERSION, nodejs: process.version });
    expect((await agent.get("/metrics")).text).toContain(BUILD_INFO);
  }, 30_000);
});
