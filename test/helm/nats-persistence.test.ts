/**
 * Where the bundled NATS keeps its streams (nats.persistence): a PVC kept or deleted on uninstall, or an emptyDir
 * for clusters without storage; and the `helm test` pod. The real cluster runs both (test/cluster/install).
 */
import { describe, expect, it } from "vitest";
import { all, container, one, render, renderError } from "./chart.js";

function natsStatefulSet(set: Record<string, string> = {}) {
  return one(render({ set }), "StatefulSet", "-nats");
}

function dataVolume(sts: ReturnType<typeof natsStatefulSet>) {
  return (sts.spec.template.spec.volumes as { name: string; emptyDir?: { sizeLimit?: string } }[]).find(
    (v) => v.name === "data",
  );
}

describe("chart: the bundled NATS's storage", () => {
  it("by default claims a PVC of nats.jetstream.storageSize that helm uninstall keeps", () => {
    const sts = natsStatefulSet();
    expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("10Gi");
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: "Retain",
      whenScaled: "Retain",
    });
    expect(dataVolume(sts)).toBeUndefined();
  });

  it("deletes the PVC with the release when nats.persistence.deleteOnUninstall is true", () => {
    const sts = natsStatefulSet({ "nats.persistence.deleteOnUninstall": "true" });
    expect(sts.spec.persistentVolumeClaimRetentionPolicy.whenDeleted).toBe("Delete");
  });

  it("runs without any storage on nats.persistence.enabled=false: an emptyDir bounded by storageSize", () => {
    const sts = natsStatefulSet({ "nats.persistence.enabled": "false", "nats.jetstream.storageSize": "2Gi" });
    expect(sts.spec.volumeClaimTemplates).toBeUndefined();
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toBeUndefined();
    expect(dataVolume(sts)).toEqual({ name: "data", emptyDir: { sizeLimit: "2Gi" } });
    expect(container(sts, "nats").volumeMounts).toContainEqual({ name: "data", mountPath: "/data" });
    // JetStream's own bound stays inside the emptyDir's: 90 % of it.
    const conf = one(
      render({ set: { "nats.persistence.enabled": "false", "nats.jetstream.storageSize": "2Gi" } }),
      "ConfigMap",
      "-nats",
    );
    expect(conf.data["nats.conf"]).toContain(`max_file_store: ${Math.floor((2 * 1024 ** 3 * 90) / 100)}`);
  });

  it("refuses a persistence value of the wrong type, naming it", () => {
    expect(renderError({ set: { "nats.persistence.enabled": "maybe" } })).toContain(
      "/nats/persistence/enabled",
    );
  });
});

describe("chart: the helm test pod", () => {
  it("is a test hook running the chart's image as the collector's non-root user against the collector Service", () => {
    const pods = all(render(), "Pod");
    expect(pods).toHaveLength(1);
    const pod = pods[0] as (typeof pods)[number];
    expect(pod.metadata.annotations?.["helm.sh/hook"]).toBe("test");
    const c = pod.spec.containers[0];
    expect(c.image).toBe("ghcr.io/tcpstate/tcpstate:0.1.0");
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.args[0]).toContain("http://t-tcpstate-collector.obs.svc:8080");
    expect(c.args[0]).toContain("tcpstate top -A");
  });

  it("is not rendered without the collector", () => {
    expect(all(render({ set: { "collector.enabled": "false" } }), "Pod")).toEqual([]);
  });
});
