/** A real Alertmanager (Debian prometheus-alertmanager) for tests: a loopback port, a temp storage dir, no cluster. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { stopChild } from "../support/child-process.js";
import { waitHttpOk } from "../support/http-ready.js";
import { freePort } from "../support/nats-server.js";

export interface AlertmanagerProcess {
  url: string;
  port: number;
  /** The alerts Alertmanager holds now (GET /api/v2/alerts, active ones). */
  alerts(): Promise<AmAlert[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  status: { state: string };
}

const CONFIG = `route:
  receiver: default
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: default
`;

export async function startAlertmanager(): Promise<AlertmanagerProcess> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), "tcpstate-am-"));
  await writeFile(path.join(dir, "alertmanager.yml"), CONFIG);
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = "";
  const am: AlertmanagerProcess = {
    url,
    port,
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`);
      if (!res.ok) throw new Error(`GET /api/v2/alerts: ${res.status}`);
      return (await res.json()) as AmAlert[];
    },
    async start() {
      const c = spawn(
        "prometheus-alertmanager",
        [
          `--config.file=${path.join(dir, "alertmanager.yml")}`,
          `--storage.path=${path.join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--cluster.listen-address=",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      child = c;
      c.stderr?.on("data", (d: Buffer) => {
        log = (log + d.toString()).slice(-4000);
      });
      await waitHttpOk(`${url}/-/ready`, 15_000, { child: c, log: () => log });
    },
    async stop() {
      const c = child;
      child = undefined;
      if (c) await stopChild(c, "SIGTERM", 5000);
    },
    async destroy() {
      await am.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await am.start();
  return am;
}
