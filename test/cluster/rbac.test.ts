/**
 * The chart's RBAC as the real API server enforces it (Node,RBAC authorization): each ServiceAccount may do what
 * its component needs (read pods, and for the collector services, in every namespace) and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_UP_TIMEOUT_MS, type Cluster, CommandError, startCluster } from "../support/cluster.js";
import { CHART } from "../support/cluster-release.js";

const NAMESPACE = "tcpstate-rbac";
const RELEASE = "rbac";

/** What every authenticated identity may do anyway (system:basic-user, discovery): not the chart's doing. */
const BUILT_IN = new Set([
  "selfsubjectreviews.authentication.k8s.io",
  "selfsubjectaccessreviews.authorization.k8s.io",
  "selfsubjectrulesreviews.authorization.k8s.io",
]);

describe("cluster: the chart's ServiceAccounts under the API server's RBAC", () => {
  let cluster: Cluster;
  const sa = (name: string) => `system:serviceaccount:${NAMESPACE}:${RELEASE}-tcpstate-${name}`;

  beforeAll(async () => {
    cluster = await startCluster();
    // The chart's own RBAC objects as helm renders them for this release (the workloads play no part here).
    const rendered = await cluster.helm([
      "template",
      RELEASE,
      CHART,
      "--namespace",
      NAMESPACE,
      "--show-only",
      "templates/serviceaccounts.yaml",
      "--show-only",
      "templates/rbac.yaml",
    ]);
    await cluster.kubectl(["create", "namespace", NAMESPACE]);
    await cluster.kubectl(["apply", "-f", "-"], { input: rendered });
  }, CLUSTER_UP_TIMEOUT_MS);

  afterAll(async () => {
    await cluster?.kubectl(["delete", "namespace", NAMESPACE, "--wait=false"]).catch(() => undefined);
    await cluster
      ?.kubectl(["delete", "clusterroles,clusterrolebindings", "-l", `app.kubernetes.io/instance=${RELEASE}`])
      .catch(() => undefined);
    await cluster?.release();
  }, 5 * 60_000);

  /** `kubectl auth can-i` as `user`: true for yes, false for no (its exit status 1). */
  async function canI(user: string, args: string[]): Promise<boolean> {
    try {
      return (await cluster.kubectl(["auth", "can-i", ...args, `--as=${user}`])).trim() === "yes";
    } catch (err) {
      if (err instanceof CommandError && err.stdout.trim() === "no") return false;
      throw err;
    }
  }

  /** resource → verbs that `user` holds in `namespace`, built-ins left out. */
  async function rulesOf(user: string, namespace: string): Promise<Record<string, string[]>> {
    const table = await cluster.kubectl(["auth", "can-i", "--list", "-n", namespace, `--as=${user}`]);
    const rules: Record<string, string[]> = {};
    for (const line of table.split("\n").slice(1)) {
      const m = line.match(/^(\S+)\s+\[\]\s+\[\]\s+\[([^\]]*)\]/);
      if (!m?.[1] || BUILT_IN.has(m[1])) continue;
      rules[m[1]] = (m[2] ?? "").split(" ").filter(Boolean).sort();
    }
    return rules;
  }

  const mustNot: string[][] = [
    ["get", "secrets", "-n", NAMESPACE],
    ["list", "secrets", "--all-namespaces"],
    ["get", "secrets", "-n", "kube-system"],
    ["create", "pods", "-n", NAMESPACE],
    ["delete", "pods", "-n", "default"],
    ["patch", "pods", "-n", "default"],
    ["create", "pods/exec", "-n", "default"],
    ["get", "configmaps", "-n", NAMESPACE],
    ["get", "nodes"],
    ["create", "serviceaccounts/token", "-n", NAMESPACE],
    ["update", "daemonsets.apps", "-n", NAMESPACE],
    ["create", "clusterrolebindings"],
    ["*", "*"],
  ];

  it("agent: get/list/watch pods in every namespace, and nothing else", async () => {
    for (const verb of ["get", "list", "watch"])
      expect(await canI(sa("agent"), [verb, "pods", "--all-namespaces"]), `${verb} pods`).toBe(true);
    expect(await canI(sa("agent"), ["list", "services", "--all-namespaces"]), "list services").toBe(false);
    for (const args of mustNot) expect(await canI(sa("agent"), args), args.join(" ")).toBe(false);
    expect(await rulesOf(sa("agent"), "default")).toEqual({ pods: ["get", "list", "watch"] });
  });

  it("collector: get/list/watch pods and services in every namespace, and nothing else", async () => {
    for (const resource of ["pods", "services"])
      for (const verb of ["get", "list", "watch"])
        expect(await canI(sa("collector"), [verb, resource, "--all-namespaces"]), `${verb} ${resource}`).toBe(
          true,
        );
    expect(await canI(sa("collector"), ["create", "services", "-n", NAMESPACE]), "create services").toBe(
      false,
    );
    for (const args of mustNot) expect(await canI(sa("collector"), args), args.join(" ")).toBe(false);
    expect(await rulesOf(sa("collector"), "default")).toEqual({
      pods: ["get", "list", "watch"],
      services: ["get", "list", "watch"],
    });
  });

  it("the bundled NATS's pod gets no API token at all", async () => {
    const rendered = await cluster.helm([
      "template",
      RELEASE,
      CHART,
      "--namespace",
      NAMESPACE,
      "--show-only",
      "templates/nats.yaml",
    ]);
    expect(rendered).toMatch(/kind: StatefulSet[\s\S]*automountServiceAccountToken: false/);
    // The namespace's default ServiceAccount, which it would run as, may not read pods either.
    expect(
      await canI(`system:serviceaccount:${NAMESPACE}:default`, ["list", "pods", "--all-namespaces"]),
    ).toBe(false);
  });
});
