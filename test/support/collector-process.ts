import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { CLI } from "./agent-process.js";

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
  const child = spawn(
    process.execPath,
    [CLI, "collector", "--nats-url", natsUrl, "--listen", "127.0.0.1:0", ...args],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line);
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (typeof entry.port === "number" && String(entry.msg).startsWith("serving")) resolve(entry.port);
    });
    child.once("exit", (code) => reject(new Error(`collector exited (${code}): ${JSON.stringify(logs)}`)));
  });
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
    async waitReady(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await get("/readyz").catch(() => ({ status: 0, text: "" }));
        if (r.status === 200) return;
        if (Date.now() > deadline) throw new Error(`collector not ready within ${timeoutMs} ms: ${r.text}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    },
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
