import { type ChildProcess, execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NodeSummary, PodEntry } from "../../agent/wire/summary.js";
import { NodeSummarySchema } from "../../agent/wire/summary.js";
import { waitHttpOk } from "./http-ready.js";
import { startService } from "./service-process.js";

/** The repository root: the nearest folder up from here with a package.json (also when compiled elsewhere). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** The built CLI, as users run it (`npm test` builds first). */
export const CLI = path.join(repoRoot(), "dist/cli/main.js");

/** Runs the CLI with `args` to its end: its exit code (1 when it was killed or timed out), stdout and stderr. */
export function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export interface AgentProcess {
  child: ChildProcess;
  summaries: NodeSummary[];
  logs: Record<string, unknown>[];
  metricsPort: number;
  /** Resolves with the first summary (from now on) for which `pred` holds. */
  waitForSummary(pred: (s: NodeSummary) => boolean, timeoutMs?: number): Promise<NodeSummary>;
  get(path: string): Promise<{ status: number; text: string }>;
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `tcpstate agent` with `args`; every summary line on stdout is validated against the wire schema. */
export async function startAgent(args: string[], env: NodeJS.ProcessEnv = {}): Promise<AgentProcess> {
  const summaries: NodeSummary[] = [];
  const waiters = new Set<(s: NodeSummary) => void>();
  const service = await startService([CLI, "agent", "--metrics-addr", "127.0.0.1:0", ...args], {
    env,
    onStdoutLine: (line) => {
      const summary = NodeSummarySchema.parse(JSON.parse(line));
      summaries.push(summary);
      for (const w of waiters) w(summary);
    },
  });
  const { child, logs, port: metricsPort } = service;
  return {
    child,
    summaries,
    logs,
    metricsPort,
    waitForSummary(pred, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching summary within ${timeoutMs} ms; last: ${JSON.stringify(summaries.at(-1))}`,
            ),
          );
        }, timeoutMs);
        const check = (s: NodeSummary) => {
          if (!pred(s)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(s);
        };
        waiters.add(check);
      });
    },
    async get(path) {
      const res = await fetch(`http://127.0.0.1:${metricsPort}${path}`);
      return { status: res.status, text: await res.text() };
    },
    stop: () => service.stop(),
  };
}

/** Flags of an agent on node `node` reading pods from the kube API of `kubeconfig`, with 1 s windows. */
export function kubeAgentArgs(node: string, kubeconfig: string): string[] {
  return ["--node-name", node, "--kubeconfig", kubeconfig, "--interval", "1s"];
}

/** The entry of pod `name` (or `netns`/`host` owner named so) in a summary. */
export function entryOf(summary: NodeSummary, name: string): PodEntry | undefined {
  return summary.pods.find((p) => p.owner.name === name);
}

/** Waits until the agent is ready (/readyz 200). */
export function waitReady(agent: AgentProcess, timeoutMs = 20_000): Promise<void> {
  return waitHttpOk(`http://127.0.0.1:${agent.metricsPort}/readyz`, timeoutMs);
}

/** The bpftrace processes the agent runs (its children). */
export function bpftraceChildren(agent: AgentProcess): number[] {
  return bpftraceChildrenOf(agent.child.pid as number);
}

/** The bpftrace processes that are children of `parent` (this process, for an agent run in it). */
export function bpftraceChildrenOf(parent: number): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(parent), "-x", "bpftrace"], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there is none
  }
}
