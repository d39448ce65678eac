#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { ProbeError } from "../agent/probe/probe-error.js";
import { ConfigError } from "../common/config-values.js";
import { packageVersion } from "../common/version.js";
import { escapeForTerminal } from "../render/terminal-text.js";
import { agentCommand } from "./agent-command.js";
import { alertsCommand } from "./alerts-command.js";
import { ServerError } from "./collector-client.js";
import { collectorCommand } from "./collector-command.js";
import { localCommand } from "./local-command.js";
import { podCommand } from "./pod-command.js";
import { tailCommand } from "./tail-command.js";
import { topCommand } from "./top-command.js";
import { UsageError } from "./usage-error.js";

const program = new Command("tcpstate")
  .description("Per-pod TCP connection churn, TIME_WAIT and SYN_RECV for Kubernetes")
  .version(packageVersion(), "-V, --version", "print the tcpstate version")
  .showHelpAfterError()
  .exitOverride()
  .addCommand(agentCommand())
  .addCommand(collectorCommand())
  .addCommand(alertsCommand())
  .addCommand(localCommand())
  .addCommand(topCommand())
  .addCommand(podCommand())
  .addCommand(tailCommand());
// Usage errors exit 2 (commander would exit 1), from subcommands too.
for (const cmd of program.commands) cmd.exitOverride().showHelpAfterError();

// `tcpstate tail | head`: the reader went away, which ends the command, not with a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

/** Messages can quote the collector's answers and the user's arguments: escaped, line by line. */
const say = (message: string) =>
  process.stderr.write(`tcpstate: ${message.split("\n").map(escapeForTerminal).join("\n")}\n`);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof UsageError || err instanceof ServerError) {
    say(err.message);
    process.exit(err.exitCode);
  }
  // Start-up problems the user fixes on the host or in the config (preflight, credentials, rules): exit 2.
  if (err instanceof ProbeError) {
    say(`${err.message} [${err.code}]`);
    process.exit(2);
  }
  if (err instanceof ConfigError) {
    say(err.message);
    process.exit(2);
  }
  say((err as Error).stack ?? String(err));
  process.exit(1);
}
