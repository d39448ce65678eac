/**
 * A small shop for the cluster's traffic tests: a TCP server Deployment behind a Service, and a client Deployment
 * that opens short connections to the Service by its DNS name at a fixed rate, counts the ones established,
 * prints the count, and stays up (so its pod keeps its name in tcpstate's answers). Both run `node` from the
 * tcpstate image.
 */
import type { Cluster } from "./cluster.js";

export interface ShopOptions {
  namespace: string;
  image: { repository: string; tag: string };
  port: number;
  /** Connections the client opens, and how many per second. */
  connections: number;
  perSecond: number;
}

// Counts what it accepted: accept() returns only connections the kernel established, whatever the client's
// runtime later reports for them.
const SERVER = `
const net = require("node:net");
let accepted = 0, printed = -1;
net.createServer((s) => { accepted++; s.on("error", () => {}); s.end("ok\\n"); }).listen(Number(process.env.PORT), "0.0.0.0");
setInterval(() => { if (accepted !== printed) console.log(\`ACCEPTED \${(printed = accepted)}\`); }, 500);
`;

// Each connect resolves the Service name anew (node does not cache lookups): DNS through CoreDNS every time.
const CLIENT = `
const net = require("node:net");
const [host, port, total, perSecond] = [process.env.TARGET, Number(process.env.PORT), Number(process.env.TOTAL), Number(process.env.PER_SECOND)];
let started = 0, established = 0, failed = 0, closed = 0;
const errors = {};
const t0 = Date.now();
const tick = setInterval(() => {
  if (started === total) return clearInterval(tick);
  started++;
  const s = net.connect({ host, port });
  s.on("connect", () => { established++; });
  const n = started;
  s.on("error", (err) => {
    failed++;
    // Which connection, when, and how: a failure is the network's, and the test shows it.
    (errors[err.code] ??= []).push(\`#\${n} at \${Date.now() - t0} ms\`);
  });
  s.on("data", () => {});
  s.on("close", () => {
    if (++closed === total) console.log(\`DONE established=\${established} failed=\${failed} errors=\${JSON.stringify(errors)}\`);
  });
}, 1000 / perSecond);
setInterval(() => {}, 1 << 30);
`;

function deployment(name: string, o: ShopOptions, script: string, env: Record<string, string>): unknown {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: o.namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name,
              image: `${o.image.repository}:${o.image.tag}`,
              imagePullPolicy: "Never",
              command: ["node", "-e", script],
              env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
            },
          ],
        },
      },
    },
  };
}

export function shopObjects(o: ShopOptions): unknown[] {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: o.namespace } },
    deployment("server", o, SERVER, { PORT: String(o.port) }),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "server", namespace: o.namespace },
      spec: { selector: { app: "server" }, ports: [{ name: "tcp", port: o.port, targetPort: o.port }] },
    },
    deployment("client", o, CLIENT, {
      TARGET: "server",
      PORT: String(o.port),
      TOTAL: String(o.connections),
      PER_SECOND: String(o.perSecond),
    }),
  ];
}

/** The server first (Ready, listening), then the client, so no connection finds nobody listening. */
export async function startShop(
  cluster: Cluster,
  o: ShopOptions,
): Promise<{ server: string; client: string }> {
  const [ns, server, service, client] = shopObjects(o);
  await cluster.kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({ kind: "List", apiVersion: "v1", items: [ns, server, service] }),
  });
  await cluster.kubectl(["-n", o.namespace, "rollout", "status", "deployment/server", "--timeout=90s"], {
    timeoutMs: 100_000,
  });
  await cluster.kubectl(["apply", "-f", "-"], { input: JSON.stringify(client) });
  await cluster.kubectl(["-n", o.namespace, "rollout", "status", "deployment/client", "--timeout=90s"], {
    timeoutMs: 100_000,
  });
  const podOf = async (app: string) =>
    (
      await cluster.kubectl([
        "-n",
        o.namespace,
        "get",
        "pods",
        "-l",
        `app=${app}`,
        "-o",
        "jsonpath={.items[0].metadata.name}",
      ])
    ).trim();
  return { server: await podOf("server"), client: await podOf("client") };
}

/** Waits for the client's `DONE` line: the number of connections it saw established and failed. */
export async function clientResult(
  cluster: Cluster,
  namespace: string,
  pod: string,
  timeoutMs: number,
): Promise<{ established: number; failed: number; errors: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const logs = await cluster.kubectl(["-n", namespace, "logs", pod]);
    const m = logs.match(/DONE established=(\d+) failed=(\d+) errors=(.*)/);
    if (m) return { established: Number(m[1]), failed: Number(m[2]), errors: m[3] ?? "" };
    if (Date.now() > deadline)
      throw new Error(`client ${namespace}/${pod} did not finish in ${timeoutMs} ms:\n${logs}`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

/** The server's newest count of accepted connections (it prints one within half a second of a change). */
export async function serverAccepted(cluster: Cluster, namespace: string, pod: string): Promise<number> {
  const logs = await cluster.kubectl(["-n", namespace, "logs", pod]);
  const all = [...logs.matchAll(/^ACCEPTED (\d+)$/gm)];
  return Number(all.at(-1)?.[1] ?? 0);
}
