/** `tcpstate tail | head` and `top --watch | head`: when the reader goes away, the CLI ends quietly with 0. */
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/agent-process.js";

describe("the CLI writing to a pipe whose reader left", () => {
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    // A live stream that never ends: one transition every 10 ms.
    server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      const event = {
        time: Date.now(),
        node: "n",
        namespace: "shop",
        pod: "web",
        kind: "pod",
        workload: null,
        from: "SYN_SENT",
        to: "ESTABLISHED",
        family: 4,
        saddr: "10.0.0.1",
        sport: 40000,
        daddr: "10.0.0.2",
        dport: 80,
        peer: null,
      };
      const timer = setInterval(() => res.write(`${JSON.stringify(event)}\n`), 10);
      res.on("close", () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("`tail` exits 0 with nothing on stderr once its output is closed", async () => {
    const child = spawn(process.execPath, [CLI, "tail", "--server", url], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve) => lines.once("line", resolve));
    expect(first).toContain("shop/web  SYN_SENT -> ESTABLISHED");
    // What `head -1` does: read a line, then close the pipe.
    lines.close();
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});
