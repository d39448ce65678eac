/**
 * The built collector as the hostile tests run it: its settings through environment variables (as the chart
 * sets them), which a build without those settings ignores instead of refusing to start, so each test fails on
 * its own assertion there.
 */
import { CLI } from "../support/agent-process.js";
import { type ServiceProcess, startService } from "../support/service-process.js";

export function startCollectorWith(natsUrl: string, env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> {
  return startService([CLI, "collector", "--nats-url", natsUrl, "--listen", "127.0.0.1:0"], { env });
}
