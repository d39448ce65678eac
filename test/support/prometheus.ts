/** A real Prometheus (Debian `prometheus`) for tests: scrapes the given targets every second. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { stopChild } from "./child-process.js";
import { waitHttpOk } from "./http-ready.js";
import { freePort } from "./nats-server.js";

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface Prometheus {
  url: string;
  /** An instant PromQL query through the HTTP API. */
  query(promql: string): Promise<PromSample[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: string[]): Promise<Prometheus> {
  const dir = await mkdtemp(path.join(tmpdir(), "tcpstate-prom-"));
  const port = await freePort();
  const config = path.join(dir, "prometheus.yml");
  await writeFile(
    config,
    JSON.stringify({
      global: { scrape_interval: "1s", scrape_timeout: "1s" },
      scrape_configs: [{ job_name: "tcpstate", static_configs: [{ targets }] }],
    }),
  );
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttpOk(`${url}/-/ready`, 20_000, { child, log: () => log }).catch((err) => {
    child.kill("SIGKILL");
    throw err;
  });
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
      if (body.status !== "success") throw new Error(`PromQL ${promql}: ${body.error}`);
      return body.data?.result ?? [];
    },
    async stop() {
      await stopChild(child, "SIGTERM", 5000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
