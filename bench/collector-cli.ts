// The built `tcpstate collector` for the benchmark, started by test/support's helper, with NODE_OPTIONS (the
// benchmark opens the inspector to force GCs and take a CPU profile).
import { type CollectorProcess, startCollector } from "../test/support/collector-process.js";

/**
 * Starts the collector; with `nodeOptions`, as its NODE_OPTIONS (the helper spawns with this process's
 * environment, so it is set around the spawn and restored).
 */
export async function startBenchCollector(
  natsUrl: string,
  args: string[] = [],
  nodeOptions?: string,
): Promise<CollectorProcess> {
  const before = process.env.NODE_OPTIONS;
  if (nodeOptions !== undefined) process.env.NODE_OPTIONS = nodeOptions;
  try {
    return await startCollector(natsUrl, args);
  } finally {
    if (before === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = before;
  }
}
