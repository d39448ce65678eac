// Where the churn runs. Everything that differs between the two paths is in LAYOUTS; the rest of the
// benchmark only sees a client pod, a server pod (the same pod on the loopback path), the address the client
// dials and which side of every connection each pod holds.
import { exec, type Pod, type PodNetwork } from "../netns-lab/pod-network.js";
import type { BenchPath } from "./options.js";
import type { PodSides, Side } from "./report.js";

interface PodSpec extends PodSides {
  ipv4: string;
  ipv6: string;
}

interface Layout {
  pods: PodSpec[];
  /** The address the server listens on and the client connects to. */
  serverIp: (server: Pod) => string;
}

const LAYOUTS: Record<BenchPath, Layout> = {
  // The setup: one pod runs server and client, which connect over 127.0.0.1 (the pod's own lo).
  loopback: {
    pods: [{ name: "churn", ipv4: "10.79.0.11", ipv6: "fd00:79::11", sides: ["client", "server"] }],
    serverIp: () => "127.0.0.1",
  },
  // Two pods: every connection crosses both veth pairs and the run's bridge.
  veth: {
    pods: [
      { name: "cli", ipv4: "10.79.0.11", ipv6: "fd00:79::11", sides: ["client"] },
      { name: "srv", ipv4: "10.79.0.12", ipv6: "fd00:79::12", sides: ["server"] },
    ],
    serverIp: (server) => server.ipv4,
  },
};

export interface Topology {
  path: BenchPath;
  client: Pod;
  server: Pod;
  serverIp: string;
  /** Every pod once; pods[i].name === layout[i].name. */
  pods: Pod[];
  layout: PodSides[];
}

/** Adds the path's pods to a fresh pod network and tunes them for churn. */
export async function addPods(net: PodNetwork, path: BenchPath): Promise<Topology> {
  const { pods: specs, serverIp } = LAYOUTS[path];
  const pods: Pod[] = [];
  for (const spec of specs) pods.push(await net.addPod(spec.name, spec));
  const holding = (side: Side): Pod => {
    const pod = pods[specs.findIndex((s) => s.sides.includes(side))];
    if (!pod) throw new Error(`${path}: no pod holds the ${side} side`);
    return pod;
  };
  const client = holding("client");
  const server = holding("server");
  await tuneClientPod(client);
  await tuneBridge(net.bridgeNetns);
  return { path, client, server, serverIp: serverIp(server), pods, layout: podSides(path) };
}

/** The path's pods by name, with the ends of the connections each one holds. */
export function podSides(path: BenchPath): PodSides[] {
  return LAYOUTS[path].pods.map(({ name, sides }) => ({ name, sides }));
}

/** Per-netns sysctls of the client's pod only: reuse TIME_WAIT ports after 1 s and widen the port range,
 * or the client would run out of ephemeral ports within seconds at tens of thousands of connections/s.
 * (On the loopback path the server's ports fall in that range too; connect() skips ports with a listener.) */
async function tuneClientPod(pod: Pod): Promise<void> {
  await exec(pod, [
    "sysctl",
    "-q",
    "-w",
    "net.ipv4.tcp_tw_reuse=1",
    "net.ipv4.ip_local_port_range=1024 65000",
  ]);
}

/** The run's own bridge netns need not pass bridged frames through iptables: that alone costs ~10% of the
 * generator's top rate on the veth path, and the agent's work does not depend on it. (Unused on loopback.) */
async function tuneBridge(bridgeNetns: string): Promise<void> {
  const off = ["net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0"];
  // Absent without br_netfilter: then there is nothing to turn off.
  await exec({ netns: bridgeNetns }, ["sysctl", "-q", "-e", "-w", ...off]);
}
