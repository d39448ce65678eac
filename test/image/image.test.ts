/**
 * The container image built from the unchanged Dockerfile with podman (base images made locally by
 * scripts/image-bases.sh, --pull=never), then run the way the chart runs it: the agent privileged in the host's
 * pid and network namespaces with the DaemonSet's mounts and env, counting pod-to-pod connections exactly; the
 * collector as the image's non-root user with the Deployment's env and rules file, ready against a nats-server.
 * Every node pulls the image: it stays within a size budget, and what the Dockerfile prunes (Debian packages,
 * libraries, files in node_modules) must leave the agent's tools, its probes and both services working.
 */

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { container, envOf, one, REPO, render } from "../helm/chart.js";
import { type DaemonSetAgent, daemonSetAgent, expectExactCounts } from "../helm/daemonset-agent.js";
import { podFiles, writePodFiles } from "../helm/pod-files.js";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "../support/fake-kube-api.js";
import { cgroup2Root } from "../support/host-pod.js";
import { waitHttpOk } from "../support/http-ready.js";
import { freePort, type NatsServer, startNatsServer } from "../support/nats-server.js";
import { createPodNetwork, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { buildTcpstateImage, podman } from "../support/tcpstate-image.js";
import { type ServerHandle, startServer } from "../support/traffic.js";

const IMAGE = "localhost/tcpstate:test";
// Issue 13: the image every node pulls, in podman's decimal megabytes (its `{{.Size}}`: the layers, uncompressed).
const MAX_IMAGE_BYTES = 400 * 1000 * 1000;
// The DaemonSet's tracing mounts, for running bpftrace in the image as the agent does.
const TRACING_MOUNTS = [
  "-v",
  "/sys/kernel/tracing:/sys/kernel/tracing",
  "-v",
  "/sys/kernel/debug:/sys/kernel/debug",
];
const RUN = randomBytes(3).toString("hex");
const NODE = "test-node";
const N = 25;
const PORT = 8080;
// The agent traces the whole host and attributes network namespaces by pod IP: a subnet no other test uses,
// different on each run, so kernel tests running at the same time are never taken for these pods.
const SUBNET = 1 + Math.floor(Math.random() * 250);

const containers: string[] = [];
let dir: string;

function logsOf(name: string, tail = 30): string {
  const r = spawnSync("podman", ["logs", "--tail", String(tail), name], { encoding: "utf8" });
  return `${r.stdout}${r.stderr}`;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "tcpstate-image-"));
  await buildTcpstateImage(IMAGE);
}, 20 * 60_000);

afterAll(async () => {
  for (const name of containers) spawnSync("podman", ["rm", "-f", "-t", "5", name], { encoding: "utf8" });
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("image: built from the Dockerfile with podman", () => {
  it("runs `tcpstate --help` as its entrypoint, on Node 22 with Debian's bpftrace, production dependencies only", () => {
    const help = podman(["run", "--rm", IMAGE, "--help"]);
    expect(help).toContain("Usage: tcpstate");
    expect(help).toMatch(/agent \[options\]/);
    expect(help).toMatch(/collector \[options\]/);
    const fromLine = readFileSync(path.join(REPO, "Dockerfile"), "utf8").match(/node:(\d+)-bookworm-slim/);
    const pinned = fromLine?.[1];
    expect(Number(pinned)).toBeGreaterThanOrEqual(22);
    const versions = podman([
      "run",
      "--rm",
      "--entrypoint",
      "sh",
      IMAGE,
      "-c",
      "node --version; bpftrace --version; for p in typescript vitest @biomejs/biome; do test -e node_modules/$p && echo dev:$p; done; true",
    ]);
    expect(versions).toMatch(new RegExp(`^v${pinned}\\.`, "m"));
    expect(versions).toMatch(/^bpftrace v0\.(1[7-9]|[2-9]\d)/m);
    expect(versions).not.toContain("dev:");
  });

  it(`stays within ${MAX_IMAGE_BYTES / 1e6} MB, the size every node pulls`, () => {
    const size = Number(podman(["image", "inspect", "--format", "{{.Size}}", IMAGE]).trim());
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThanOrEqual(MAX_IMAGE_BYTES);
  });

  it("runs the programs the agent starts: bpftrace, ss (iproute2), nsenter (util-linux), tail and env", () => {
    const out = podman([
      "run",
      "--rm",
      "--entrypoint",
      "sh",
      IMAGE,
      "-c",
      "bpftrace --version && ss -V && nsenter --version && tail --version && env --version",
    ]);
    expect(out).toMatch(/^bpftrace v0\.\d+/m);
    expect(out).toMatch(/^ss utility, iproute2-\d/m);
    expect(out).toMatch(/^nsenter from util-linux \d/m);
    expect(out).toMatch(/^tail \(GNU coreutils\)/m);
    expect(out).toMatch(/^env \(GNU coreutils\)/m);
  });

  it("loads and attaches every agent/probe/*.bt with the image's bpftrace (kernel types from BTF, no headers)", () => {
    const probes = readdirSync(path.join(REPO, "agent/probe")).filter((f) => f.endsWith(".bt"));
    expect(probes.length).toBeGreaterThan(0);
    for (const probe of probes) {
      // BEGIN prints "R" once every probe is attached; -c makes bpftrace exit when `true` does.
      const out = podman(
        [
          "run",
          "--rm",
          "--privileged",
          "--pid=host",
          "--user",
          "0",
          ...TRACING_MOUNTS,
          "--entrypoint",
          "bpftrace",
          IMAGE,
          "-c",
          "/usr/bin/true",
          `/opt/tcpstate/agent/probe/${probe}`,
        ],
        120_000,
      );
      expect(out, probe).toMatch(/^R$/m);
    }
  }, 300_000);

  it("has the entrypoint, the non-root user and OCI labels", () => {
    const config = JSON.parse(podman(["image", "inspect", IMAGE]))[0].Config;
    expect(config.Entrypoint).toEqual(["tcpstate"]);
    expect(config.User).toBe("10001:10001");
    for (const label of ["title", "description", "version", "revision", "source", "licenses"])
      expect(config.Labels[`org.opencontainers.image.${label}`], label).toBeTruthy();
  });
});

/**
 * podman flags for the DaemonSet's security settings: privileged, or the capability set with its seccomp and
 * AppArmor profiles (RuntimeDefault is podman's default profile), no-new-privileges, read-only root.
 */
function podmanSecurity(ds: DaemonSetAgent): string[] {
  const sc = ds.securityContext as {
    privileged?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  const podSc = (ds.pod.spec.template.spec.securityContext ?? {}) as Record<
    string,
    { type: string } | undefined
  >;
  const args = ["--user", `${sc.runAsUser}:0`];
  if (sc.readOnlyRootFilesystem) args.push("--read-only", "--tmpfs", "/tmp");
  if (sc.privileged) return [...args, "--privileged"];
  if (sc.allowPrivilegeEscalation === false) args.push("--security-opt", "no-new-privileges");
  for (const cap of sc.capabilities?.drop ?? []) args.push("--cap-drop", cap);
  for (const cap of sc.capabilities?.add ?? []) args.push("--cap-add", cap);
  const seccomp = podSc.seccompProfile?.type;
  if (seccomp === "Unconfined") args.push("--security-opt", "seccomp=unconfined");
  else if (seccomp !== "RuntimeDefault") throw new Error(`seccompProfile ${seccomp}: map it in this test`);
  if (podSc.appArmorProfile?.type === "Unconfined") args.push("--security-opt", "apparmor=unconfined");
  return args;
}

for (const mode of ["privileged", "capabilities"] as const) {
  describe(`image: the agent run the way the DaemonSet runs it (${mode}, host pid and network)`, () => {
    let net: PodNetwork;
    let a: Pod;
    let b: Pod;
    let api: FakeKubeApi;
    let nats: NatsServer;
    let server: ServerHandle;
    let metricsPort: number;
    const name = `tcpstate-test-agent-${mode}-${RUN}`;

    beforeAll(async () => {
      const values = mode === "capabilities" ? ["ci/capabilities-values.yaml"] : [];
      const ds = daemonSetAgent(NODE, { "agent.hostPaths.cgroup": await cgroup2Root() }, values);
      expect(ds.securityContext).toMatchObject({ privileged: mode === "privileged", runAsUser: 0 });
      expect(ds.pod.spec.template.spec).toMatchObject({ hostPID: true, hostNetwork: true });
      nats = await startNatsServer();
      api = await startFakeKubeApi();
      net = await createPodNetwork({ prefix: mode === "privileged" ? "hip" : "hic" });
      a = await net.addPod("a", { ipv4: `10.251.${SUBNET}.11`, ipv6: `fd00:251:${SUBNET}::11` });
      b = await net.addPod("b", { ipv4: `10.251.${SUBNET}.12`, ipv6: `fd00:251:${SUBNET}::12` });
      api.addPod(makePod({ namespace: "shop", name: "a", node: NODE, ips: [a.ipv4, a.ipv6] }));
      api.addPod(makePod({ namespace: "shop", name: "b", node: NODE, ips: [b.ipv4, b.ipv6] }));
      server = await startServer(b, "::", PORT);
      const kubeconfig = await api.writeKubeconfig(path.join(dir, `kube-${mode}`));
      metricsPort = await freePort();

      // Mapped as in the chart test: the node name, the kube API credentials, NATS, and the node port.
      const env: Record<string, string> = {
        ...ds.env,
        NATS_URL: nats.url,
        KUBECONFIG_PATH: "/etc/tcpstate/kubeconfig",
        METRICS_ADDR: `127.0.0.1:${metricsPort}`,
      };
      const args = ["run", "-d", "--name", name, "--pid=host", "--net=host", ...podmanSecurity(ds)];
      for (const m of ds.mounts) {
        const opts = [m.readOnly ? "ro" : "rw", ...(m.propagation === "HostToContainer" ? ["rslave"] : [])];
        args.push("-v", `${m.hostPath}:${m.mountPath}:${opts.join(",")}`);
      }
      args.push("-v", `${kubeconfig}:/etc/tcpstate/kubeconfig:ro`);
      // What the chart mounts from its Secrets (the agent's NATS password file).
      for (const [p, f] of Object.entries(await writePodFiles(path.join(dir, `s-${mode}`), ds.files)))
        args.push("-v", `${f}:${p}:ro`);
      for (const [k, v] of Object.entries(env)) args.push("-e", `${k}=${v}`);
      containers.push(name);
      podman([...args, IMAGE, ...ds.args]);
    }, 120_000);

    afterAll(async () => {
      spawnSync("podman", ["stop", "-t", "10", name], { encoding: "utf8" });
      await server?.stop().catch(() => undefined);
      await api?.stop();
      await nats?.destroy();
      await net?.destroy();
    }, 60_000);

    it("becomes ready: bpftrace attached in the container, pods synced, NATS connected", async () => {
      await waitHttpOk(`http://127.0.0.1:${metricsPort}/readyz`, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}\ncontainer log:\n${logsOf(name)}`);
      });
    }, 90_000);

    it("counts N connections between two pods on the host exactly", async () => {
      await expectExactCounts(`http://127.0.0.1:${metricsPort}/metrics`, a, b, PORT, N);
    }, 90_000);
  });
}

describe("image: the collector as the image's non-root user", () => {
  let nats: NatsServer;
  let port: number;
  const name = `tcpstate-test-collector-${RUN}`;

  beforeAll(async () => {
    nats = await startNatsServer();
    port = await freePort();
    const objects = render();
    const deploy = one(objects, "Deployment", "-collector");
    const c = container(deploy, "collector");
    const env = envOf(c) as Record<string, string>;
    const args = ["run", "-d", "--name", name, "--net=host", "--read-only", "--tmpfs", "/tmp"];
    args.push("--cap-drop", "ALL", "--security-opt", "no-new-privileges");
    // What the chart mounts from its ConfigMap and Secrets (rules, the NATS password file), readable by uid 10001.
    const files = await writePodFiles(path.join(dir, "s-collector"), podFiles(objects, deploy, c), 0o444);
    for (const [p, f] of Object.entries(files)) args.push("-v", `${f}:${p}:ro`);
    const runEnv = { ...env, NATS_URL: nats.url, LISTEN: `127.0.0.1:${port}` };
    for (const [k, v] of Object.entries(runEnv)) args.push("-e", `${k}=${v}`);
    containers.push(name);
    podman([...args, IMAGE, ...(c.args as string[])]);
  }, 60_000);

  afterAll(async () => {
    spawnSync("podman", ["stop", "-t", "10", name], { encoding: "utf8" });
    await nats?.destroy();
  }, 60_000);

  it("answers /readyz against a test nats-server, running as uid 10001 with the chart's rules", async () => {
    await waitHttpOk(`http://127.0.0.1:${port}/readyz`, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\ncontainer log:\n${logsOf(name)}`);
    });
    expect(podman(["exec", name, "id", "-u"]).trim()).toBe("10001");
    // It read the chart's rules file where the Deployment mounts it.
    expect(logsOf(name, -1)).toContain('"msg":"alert rules loaded"');
  }, 90_000);
});
