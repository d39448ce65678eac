/** A real nats-server for tests: JetStream on, a loopback port, a temp store dir; restartable on the same port. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { stopChild } from "./child-process.js";

export interface NatsServer {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its store. */
  destroy(): Promise<void>;
}

/** A free loopback TCP port (for servers that must be told one). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `config`: nats-server configuration text (TLS, NKey users, …) beside the flags; with a `tls` block the URL
 * is tls://.
 */
export async function startNatsServer(
  opts: { user?: string; password?: string; token?: string; config?: string } = {},
): Promise<NatsServer> {
  const port = await freePort();
  const store = await mkdtemp(path.join(tmpdir(), "tcpstate-nats-"));
  let child: ChildProcess | undefined;
  const args = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", store];
  if (opts.user) args.push("--user", opts.user, "--pass", opts.password ?? "");
  if (opts.token) args.push("--auth", opts.token);
  if (opts.config) {
    const file = path.join(store, "server.conf");
    await writeFile(file, opts.config);
    args.push("-c", file);
  }
  const scheme = opts.config && /^\s*tls\s*[:{]/m.test(opts.config) ? "tls" : "nats";
  const server: NatsServer = {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    async start() {
      const c = spawn("nats-server", args, { stdio: ["ignore", "ignore", "pipe"] });
      child = c;
      await new Promise<void>((resolve, reject) => {
        let log = "";
        const timer = setTimeout(() => reject(new Error(`nats-server not ready in 10 s:\n${log}`)), 10_000);
        c.stderr?.on("data", (chunk: Buffer) => {
          log += chunk.toString();
          if (log.includes("Server is ready")) {
            clearTimeout(timer);
            resolve();
          }
        });
        c.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`nats-server exited (${code}):\n${log}`));
        });
      });
    },
    async stop() {
      const c = child;
      child = undefined;
      if (c) await stopChild(c, "SIGTERM", 5000);
    },
    async destroy() {
      await server.stop();
      await rm(store, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
