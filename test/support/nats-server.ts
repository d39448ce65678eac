/** A real nats-server for tests: JetStream on, a loopback port, a temp store dir; restartable on the same port. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { stopChild } from "./child-process.js";

export interface NatsServer {
  url: string;
  port: number;
  /** The monitoring endpoint (http://127.0.0.1:port), when started from a `configTree`. */
  monitorUrl?: string;
  /** Everything nats-server has logged since it was first started (restarts included). */
  log(): string;
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
 * A configuration as a pod mounts it: files by their absolute path in the container (a ConfigMap's nats.conf, a
 * Secret's include file), placed under a temp root so that relative includes resolve as they do in the pod.
 * `main` is the one nats-server runs. Only its address, ports and pid file (by flags) and its JetStream
 * store_dir (rewritten: nats-server refuses -sd beside it) are moved here.
 */
export interface NatsConfigTree {
  main: string;
  files: Record<string, string>;
}

/** Writes `tree` under `root`; the path of its main file there. */
async function writeConfigTree(root: string, tree: NatsConfigTree, store: string): Promise<string> {
  const under = (file: string) => {
    const p = path.join(root, path.resolve("/", file));
    if (!p.startsWith(`${root}/`)) throw new Error(`config file ${file} is outside the tree`);
    return p;
  };
  for (const [file, text] of Object.entries(tree.files)) {
    await mkdir(path.dirname(under(file)), { recursive: true });
    const local = file === tree.main ? text.replace(/^(\s*store_dir:\s*).*$/m, `$1"${store}"`) : text;
    await writeFile(under(file), local, { mode: 0o600 });
  }
  if (!(tree.main in tree.files)) throw new Error(`the config tree has no ${tree.main}`);
  return under(tree.main);
}

/**
 * `config`: nats-server configuration text (TLS, NKey users, …) beside the flags; `configTree`: a pod's
 * configuration files (the monitor port then moves to a free one: monitorUrl); `env`: what its `$VAR`s read.
 * With a `tls` block the URL is tls://.
 */
export async function startNatsServer(
  opts: {
    user?: string;
    password?: string;
    token?: string;
    config?: string;
    configTree?: NatsConfigTree;
    env?: Record<string, string>;
  } = {},
): Promise<NatsServer> {
  const port = await freePort();
  const store = await mkdtemp(path.join(tmpdir(), "tcpstate-nats-"));
  let child: ChildProcess | undefined;
  let log = "";
  const args = ["-a", "127.0.0.1", "-p", String(port)];
  if (!/^\s*store_dir:/m.test(opts.configTree?.files[opts.configTree.main] ?? ""))
    args.push("-js", "-sd", store);
  if (opts.user) args.push("--user", opts.user, "--pass", opts.password ?? "");
  if (opts.token) args.push("--auth", opts.token);
  if (opts.config) {
    const file = path.join(store, "server.conf");
    await writeFile(file, opts.config);
    args.push("-c", file);
  }
  let monitorUrl: string | undefined;
  if (opts.configTree) {
    const monitorPort = await freePort();
    monitorUrl = `http://127.0.0.1:${monitorPort}`;
    const main = await writeConfigTree(path.join(store, "tree"), opts.configTree, path.join(store, "js"));
    args.push("-c", main, "-m", String(monitorPort), "-P", path.join(store, "nats.pid"));
  }
  const configText = opts.configTree?.files[opts.configTree.main] ?? opts.config ?? "";
  const scheme = /^\s*tls\s*[:{]/m.test(configText) ? "tls" : "nats";
  const server: NatsServer = {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    ...(monitorUrl ? { monitorUrl } : {}),
    log: () => log,
    async start() {
      const c = spawn("nats-server", args, {
        env: { ...process.env, ...opts.env },
        stdio: ["ignore", "ignore", "pipe"],
      });
      child = c;
      const from = log.length;
      c.stderr?.on("data", (chunk: Buffer) => {
        log += chunk.toString();
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`nats-server not ready in 10 s:\n${log.slice(from)}`)),
          10_000,
        );
        c.stderr?.on("data", () => {
          if (log.slice(from).includes("Server is ready")) {
            clearTimeout(timer);
            resolve();
          }
        });
        c.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`nats-server exited (${code}):\n${log.slice(from)}`));
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
