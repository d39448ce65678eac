/** Peer names from a real list/watch (client-node) of pods and services against the fake kube API. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitEndpoint } from "../../../agent/wire/endpoint.js";
import { PeerDirectory, peerName } from "../../../collector/peers/peer-directory.js";
import { loadKubeConfig } from "../../../common/kube-list-watch.js";
import { type FakeKubeApi, makePod, makeService, startFakeKubeApi } from "../../support/fake-kube-api.js";

describe("peer directory", () => {
  let api: FakeKubeApi;
  let dir: string;
  let peers: PeerDirectory;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-peers-"));
    api.addPod(makePod({ namespace: "data", name: "postgres-0", node: "n1", ips: ["10.1.0.5", "fd00::5"] }));
    api.addPod(
      makePod({
        namespace: "kube-system",
        name: "proxy",
        node: "n1",
        ips: ["192.168.0.10"],
        hostNetwork: true,
      }),
    );
    api.addService(
      makeService({ namespace: "data", name: "postgres", clusterIP: "10.96.0.20", ports: [5432] }),
    );
    peers = new PeerDirectory(loadKubeConfig(await api.writeKubeconfig(dir)), pino({ level: "silent" }));
    await peers.start();
  });
  afterAll(async () => {
    await peers?.stop();
    await api?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("splits IPv4 and IPv6 endpoints", () => {
    expect(splitEndpoint("10.0.3.7:5432")).toEqual({ address: "10.0.3.7", port: 5432 });
    expect(splitEndpoint("[fd00::7]:80")).toEqual({ address: "fd00::7", port: 80 });
    expect(splitEndpoint("nonsense")).toBeNull();
  });

  it("names Services by cluster IP and pods by pod IP (IPv6 too); hostNetwork pods name nobody", async () => {
    await expect.poll(() => peers.synced, { timeout: 10_000 }).toBe(true);
    expect(peerName(peers, "10.96.0.20:5432")).toEqual({ peer: "data/postgres:5432", kind: "service" });
    expect(peerName(peers, "10.1.0.5:5432")).toEqual({ peer: "data/postgres-0:5432", kind: "pod" });
    expect(peerName(peers, "[fd00::5]:5432")).toEqual({ peer: "data/postgres-0:5432", kind: "pod" });
    expect(peerName(peers, "192.168.0.10:10256")).toBeNull();
    expect(peerName(peers, "8.8.8.8:53")).toBeNull();
  });

  it("follows the watch: a deleted pod's address names nobody, a new one is named", async () => {
    api.deletePod("data", "postgres-0");
    api.addPod(makePod({ namespace: "data", name: "postgres-1", node: "n1", ips: ["10.1.0.6"] }));
    api.deleteService("data", "postgres");
    await expect
      .poll(() => peerName(peers, "10.1.0.6:5432")?.peer, { timeout: 10_000 })
      .toBe("data/postgres-1:5432");
    await expect.poll(() => peerName(peers, "10.1.0.5:5432"), { timeout: 10_000 }).toBeNull();
    await expect.poll(() => peerName(peers, "10.96.0.20:5432"), { timeout: 10_000 }).toBeNull();
  });
});
