import type { ChildProcess } from "node:child_process";
import { CLI } from "./agent-process.js";
import { waitHttpOk } from "./http-ready.js";
import { startService } from "./service-process.js";

export interface CollectorProcess {
  child: ChildProcess;
  port: number;
  logs: Record<string, unknown>[];
  get(path: string): Promise<{ status: number; text: string; json(): unknown }>;
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM (or `signal`) and wait; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `tcpstate collector` against `natsUrl`, on a free loopback port. */
export async function startCollector(natsUrl: string, args: string[] = []): Promise<CollectorProcess> {
  const service = await startService([
    CLI,
    "collector",
    "--nats-url",
    natsUrl,
    "--listen",
    "127.0.0.1:0",
    ...args,
  ]);
  const { child, port, logs } = service;
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) as unknown };
  };
  return {
    child,
    port,
    logs,
    get,
    waitReady: (timeoutMs = 20_000) => waitHttpOk(`http://127.0.0.1:${port}/readyz`, timeoutMs),
    stop: (signal?: NodeJS.Signals) => service.stop(signal),
  };
}
