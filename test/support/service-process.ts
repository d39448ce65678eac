/** A tcpstate service started as users run it: its JSON log lines collected, its HTTP port learned from them. */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { stopChild } from "./child-process.js";

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  logs: Record<string, unknown>[];
  /** Signals it (SIGTERM by default) and waits; the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startService(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; onStdoutLine?: (line: string) => void } = {},
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, argv, {
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", opts.onStdoutLine ? "pipe" : "ignore", "pipe"],
  });
  const { onStdoutLine } = opts;
  if (onStdoutLine)
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", onStdoutLine);
  const logs: Record<string, unknown>[] = [];
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
    child.once("exit", (code) =>
      reject(new Error(`${argv[1]} exited (${code}) before serving: ${JSON.stringify(logs)}`)),
    );
  });
  return {
    child,
    port,
    logs,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      await stopChild(child, signal, 15_000);
      return child.exitCode;
    },
  };
}
