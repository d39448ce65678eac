#!/usr/bin/env node
// Exact TCP traffic generator for kernel tests; run inside a pod netns:
//   ip netns exec <ns> node traffic.mjs server --host <ip> --port <p> [--hold] [--backlog n]
//   ip netns exec <ns> node traffic.mjs client --host <ip> --port <p> --count N [--concurrency C]
//                                              [--mode close-first|reset|refused] [--timeout ms]
//   ip netns exec <ns> node traffic.mjs churn --host <ip> --port <p> --seconds S --concurrency C [--timeout ms]
//                                             [--rate R]   (at most R connections per second, evenly paced)
// Every result is one JSON line on stdout. One attempt is exactly one connect(): no retries, so
// the counts can be compared with what the kernel saw.
import net from "node:net";
import { parseArgs } from "node:util";

const { positionals, values: opt } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: "string" },
    port: { type: "string" },
    hold: { type: "boolean", default: false },
    backlog: { type: "string", default: "511" },
    count: { type: "string" },
    concurrency: { type: "string", default: "1" },
    mode: { type: "string", default: "close-first" },
    seconds: { type: "string" },
    rate: { type: "string" },
    // Per attempt (connect + close); an attempt that takes longer counts as failed with ETIMEDOUT.
    timeout: { type: "string", default: "10000" },
  },
});

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const fail = (msg) => {
  process.stderr.write(`traffic.mjs: ${msg}\n`);
  process.exit(2);
};
const int = (name, min = 1) => {
  const n = Number(opt[name]);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}`);
  return n;
};

const command = positionals[0];
if (!opt.host) fail("--host is required");
const host = opt.host;
const port = int("port", command === "server" ? 0 : 1);

if (command === "server") server();
else if (command === "client") client();
else if (command === "churn") churn();
else fail(`unknown command ${command ?? "(none)"}; expected server|client|churn`);

function server() {
  let accepted = 0;
  // allowHalfOpen: we decide when our side closes (after the peer's FIN, or never with --hold).
  const srv = net.createServer({ allowHalfOpen: true }, (sock) => {
    accepted++;
    sock.on("error", () => {}); // peers may reset (client --mode reset)
    if (!opt.hold) sock.on("end", () => sock.end()); // passive close: the client keeps TIME_WAIT
    sock.resume(); // flowing mode, otherwise "end" never fires
  });
  srv.on("error", (err) => fail(`listen ${host}:${port}: ${err.message}`));
  srv.listen({ host, port, backlog: Number(opt.backlog) }, () => {
    const addr = srv.address();
    print({ listening: true, port: typeof addr === "object" && addr ? addr.port : port });
  });
  process.on("SIGTERM", () => {
    print({ accepted });
    process.exit(0);
  });
}

/** One connection attempt; resolves with undefined on success or an error code. Never rejects. */
function attempt(mode, timeoutMs) {
  return new Promise((resolve) => {
    let done = false;
    const settle = (code) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(code);
    };
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      settle("ETIMEDOUT");
    }, timeoutMs);
    sock.on("error", (err) => settle(err.code ?? err.message));
    sock.on("connect", () => {
      if (mode === "reset") {
        sock.resetAndDestroy(); // SO_LINGER 0 + close: RST, ESTABLISHED -> CLOSE, no TIME_WAIT
        settle(undefined);
      } else sock.end(); // our FIN first; "close" follows once the server's FIN came back
    });
    // "close" without a prior "error" means the full FIN exchange completed (or refused mode connected).
    sock.on("close", () => settle(undefined));
  });
}

async function client() {
  const count = int("count");
  const concurrency = Math.min(int("concurrency"), count);
  const timeoutMs = int("timeout");
  const mode = opt.mode;
  if (!["close-first", "reset", "refused"].includes(mode)) fail(`unknown --mode ${mode}`);
  const result = { ok: 0, failed: 0, errors: {} };
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      // refused: the port has no listener, so a connect that succeeds is an "ok" (unexpected) result.
      const code = await attempt(mode === "refused" ? "close-first" : mode, timeoutMs);
      if (code === undefined) result.ok++;
      else {
        result.failed++;
        result.errors[code] = (result.errors[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  print(result);
}

async function churn() {
  const seconds = Number(opt.seconds);
  if (!(seconds > 0)) fail("--seconds must be a number > 0");
  const deadline = Date.now() + seconds * 1000;
  const timeoutMs = int("timeout");
  const result = { connections: 0, failed: 0, errors: {} };
  // With --rate, attempt i starts no earlier than start + i / rate: a known, steady churn.
  const start = Date.now();
  const rate = opt.rate === undefined ? 0 : int("rate");
  let started = 0;
  const paced = async () => {
    if (!rate) return;
    const due = start + (started++ * 1000) / rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  };
  const worker = async () => {
    // Connections in flight at the deadline still finish and are counted.
    while (Date.now() < deadline) {
      await paced();
      if (Date.now() >= deadline) break;
      const code = await attempt("close-first", timeoutMs);
      if (code === undefined) result.connections++;
      else {
        result.failed++;
        result.errors[code] = (result.errors[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: int("concurrency") }, worker));
  print(result);
}
