import type { Logger } from "pino";

/** How long an uncaught error leaves the service to stop (bpftrace, NATS) before it exits anyway. */
const FATAL_STOP_MS = 5000;

/**
 * Stops a long-running service cleanly on SIGTERM or SIGINT and exits 0 (1 if stopping failed); a second
 * signal exits at once. An error nothing caught is the last resort: logged, the service stopped (at most
 * FATAL_STOP_MS, so no bpftrace is left behind), exit 1 — Kubernetes restarts it, rather than a process that
 * lives on half-dead.
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    stop()
      .then(() => process.exit(0))
      .catch((err: Error) => {
        logger.error({ err: err.message }, "shutdown failed");
        process.exit(1);
      });
  };
  const fatal = (err: unknown, what: string) => {
    logger.fatal(
      { err: err instanceof Error ? (err.stack ?? err.message) : String(err) },
      `${what}: exiting`,
    );
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => process.exit(1), FATAL_STOP_MS).unref();
    stop().finally(() => process.exit(1));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("uncaughtException", (err) => fatal(err, "uncaught exception"));
  process.on("unhandledRejection", (err) => fatal(err, "unhandled promise rejection"));
}
