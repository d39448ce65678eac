/**
 * helm/tcpstate rendered by the real helm: what a cluster would get from `helm install` with default values and
 * with each ci/*.yaml, and what bad values do.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  all,
  CHART,
  CI_VALUES,
  container,
  envOf,
  type K8sObject,
  lint,
  MONITORING_API,
  NAMESPACE,
  one,
  render,
  renderError,
} from "./chart.js";
import { hostMounts } from "./daemonset-agent.js";

const MONITORING_KINDS = ["ServiceMonitor", "PodMonitor", "PrometheusRule"];
const RULE_NAMES = [
  "TimeWaitBuildup",
  "SynRecvBuildup",
  "EphemeralPortPressure",
  "ConnectionChurnSpike",
  "CloseWaitLeak",
];

function volumeByName(workload: K8sObject, name: string) {
  // biome-ignore lint/suspicious/noExplicitAny: untyped manifest
  const v = (workload.spec.template.spec.volumes as any[]).find((x) => x.name === name);
  if (!v) throw new Error(`no volume ${name} in ${workload.metadata.name}`);
  return v;
}

/** mountPath → { hostPath, readOnly } of a container's hostPath mounts. */
function hostMountsByPath(workload: K8sObject, c: ReturnType<typeof container>) {
  return Object.fromEntries(
    hostMounts(workload, c).map((m) => [m.mountPath, { hostPath: m.hostPath, readOnly: m.readOnly }]),
  );
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe("chart: lint and render", () => {
  it("passes helm lint --strict with default values and with every ci/*.yaml", () => {
    for (const valuesFiles of [[], ...CI_VALUES.map((f) => [f])]) {
      const r = lint({ valuesFiles });
      expect(r.status, `helm lint ${valuesFiles.join(" ")}:\n${r.output}`).toBe(0);
    }
  });

  it("renders with default values and with every ci/*.yaml, every object in the release namespace", () => {
    for (const valuesFiles of [[], ...CI_VALUES.map((f) => [f])]) {
      const objects = render({ valuesFiles, apiVersions: [MONITORING_API] });
      expect(objects.length).toBeGreaterThan(8);
      for (const o of objects.filter((x) => !x.kind.startsWith("Cluster") && x.kind !== "ConfigMap"))
        expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(NAMESPACE);
    }
  });
});

describe("chart: agent DaemonSet", () => {
  const objects = render();
  const ds = one(objects, "DaemonSet", "-agent");
  const pod = ds.spec.template.spec;
  const agent = container(ds, "agent");

  it("runs in the host's pid and network namespaces, on every node, resolving cluster names", () => {
    expect(pod.hostPID).toBe(true);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe("ClusterFirstWithHostNet");
    expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
    expect(ds.spec.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } });
    expect(agent.args).toEqual(["agent"]);
  });

  it("is privileged by default, as root, with a read-only root filesystem", () => {
    expect(agent.securityContext).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      readOnlyRootFilesystem: true,
      privileged: true,
      allowPrivilegeEscalation: true,
    });
  });

  it("mounts host /proc, tracefs, debugfs, the cgroup v2 mount and named netns, read-only where it only reads", () => {
    expect(hostMountsByPath(ds, agent)).toEqual({
      "/host/proc": { hostPath: "/proc", readOnly: true },
      "/sys/kernel/tracing": { hostPath: "/sys/kernel/tracing", readOnly: false },
      "/sys/kernel/debug": { hostPath: "/sys/kernel/debug", readOnly: false },
      "/host/sys/fs/cgroup": { hostPath: "/sys/fs/cgroup", readOnly: true },
      "/host/var/run/netns": { hostPath: "/var/run/netns", readOnly: true },
    });
    // The read-only root filesystem still has a writable /tmp.
    expect(agent.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
  });

  it("points every path flag at its mount and takes NODE_NAME from the downward API", () => {
    const env = envOf(agent);
    expect(env).toMatchObject({
      NODE_NAME: { fieldRef: { fieldPath: "spec.nodeName" } },
      PROC_ROOT: "/host/proc",
      TRACEFS: "/sys/kernel/tracing",
      CGROUP_ROOT: "/host/sys/fs/cgroup",
      NETNS_DIR: "/host/var/run/netns",
      INTERVAL: "5s",
      METRICS_ADDR: "127.0.0.1:9464",
    });
    const mounts = new Set((agent.volumeMounts as { mountPath: string }[]).map((m) => m.mountPath));
    for (const key of ["PROC_ROOT", "TRACEFS", "CGROUP_ROOT", "NETNS_DIR"])
      expect(mounts.has(env[key] as string), `${key}=${env[key]} is a mount`).toBe(true);
  });

  it("probes /healthz (liveness) and /readyz (readiness) on the metrics port, on the node's loopback", () => {
    expect(agent.ports).toEqual([{ name: "metrics", containerPort: 9464, protocol: "TCP" }]);
    expect(agent.livenessProbe.httpGet).toEqual({ host: "127.0.0.1", path: "/healthz", port: "metrics" });
    expect(agent.readinessProbe.httpGet).toEqual({ host: "127.0.0.1", path: "/readyz", port: "metrics" });
  });

  it("capability mode: no privileged flag, drops ALL and adds exactly the capabilities bpftrace needs", () => {
    const capDs = one(render({ valuesFiles: ["ci/capabilities-values.yaml"] }), "DaemonSet", "-agent");
    const c = container(capDs, "agent");
    expect(c.securityContext).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"], add: ["SYS_ADMIN", "BPF", "PERFMON", "SYS_PTRACE"] },
    });
    expect(capDs.spec.template.spec.securityContext).toEqual({
      seccompProfile: { type: "RuntimeDefault" },
      appArmorProfile: { type: "Unconfined" },
    });
    expect(capDs.spec.template.spec.priorityClassName).toBe("system-node-critical");
    // Clusters before 1.30 have no appArmorProfile field: the annotation says it instead.
    const old = one(
      render({ valuesFiles: ["ci/capabilities-values.yaml"], kubeVersion: "1.29.0" }),
      "DaemonSet",
      "-agent",
    ).spec.template;
    expect(old.spec.securityContext).toEqual({ seccompProfile: { type: "RuntimeDefault" } });
    expect(old.metadata.annotations["container.apparmor.security.beta.kubernetes.io/agent"]).toBe(
      "unconfined",
    );
  });
});

describe("chart: collector", () => {
  const objects = render();
  const deploy = one(objects, "Deployment", "-collector");
  const c = container(deploy, "collector");

  it("runs as the image's non-root user with a read-only root filesystem and no capabilities", () => {
    expect(deploy.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.args).toEqual(["collector"]);
  });

  it("probes /healthz and /readyz on the port its Service targets", () => {
    expect(envOf(c).LISTEN).toBe(":8080");
    expect(c.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    const svc = one(objects, "Service", "-collector");
    expect(svc.spec.ports).toEqual([{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }]);
    expect(selects(svc.spec.selector, deploy.spec.template.metadata.labels)).toBe(true);
    expect(selects(svc.spec.selector, one(objects, "DaemonSet").spec.template.metadata.labels)).toBe(false);
  });

  it("reads the rules file the ConfigMap mounts, holding the five default rules", () => {
    const rulesPath = envOf(c).RULES as string;
    const mount = (c.volumeMounts as { name: string; mountPath: string; subPath?: string }[]).find(
      (m) => m.mountPath === rulesPath,
    );
    expect(mount?.subPath).toBe("rules.yaml");
    const cmName = volumeByName(deploy, mount?.name ?? "").configMap.name;
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === cmName);
    const rules = parse(cm?.data["rules.yaml"]).rules;
    expect(Object.keys(rules).sort()).toEqual([...RULE_NAMES].sort());
    expect(rules.TimeWaitBuildup).toMatchObject({
      enabled: true,
      severity: "warning",
      for: "2m",
      holdDown: "2m",
      floor: 500,
      factor: 4,
      baselineWindow: "1h",
    });
    expect(rules.SynRecvBuildup).toMatchObject({ floor: 50, factor: 4, for: "1m", severity: "critical" });
    expect(rules.EphemeralPortPressure).toMatchObject({ ratio: 0.5, portRange: "32768-60999", for: "2m" });
    expect(rules.ConnectionChurnSpike).toMatchObject({
      floor: 100,
      factor: 5,
      for: "2m",
      severity: "warning",
    });
    expect(rules.CloseWaitLeak).toMatchObject({ floor: 20, for: "10m", severity: "warning" });
  });

  it("HA: replicas, a PodDisruptionBudget over the collector pods, alert sinks wired", () => {
    const ha = render({ valuesFiles: ["ci/ha-collector-values.yaml"] });
    const d = one(ha, "Deployment", "-collector");
    expect(d.spec.replicas).toBe(3);
    expect(
      d.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution,
    ).toHaveLength(1);
    const pdb = one(ha, "PodDisruptionBudget");
    expect(pdb.spec.minAvailable).toBe(2);
    expect(selects(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
    expect(envOf(container(d, "collector"))).toMatchObject({
      ALERTMANAGER_URL: "http://alertmanager-operated.monitoring.svc:9093",
      WEBHOOK_URL: "https://hooks.example.com/tcpstate",
    });
    expect(all(objects, "PodDisruptionBudget")).toEqual([]);
  });

  it("custom rules merge over the defaults; a disabled rule stays off", () => {
    const custom = render({ valuesFiles: ["ci/custom-rules-values.yaml"] });
    const cm = one(custom, "ConfigMap", "-collector-rules");
    const rules = parse(cm.data["rules.yaml"]).rules;
    expect(rules.TimeWaitBuildup).toMatchObject({
      floor: 1000,
      factor: 3,
      baselineWindow: "1h",
      for: "2m",
      scope: { namespaces: ["payments", "checkout"], podLabels: "app=web,tier!=db" },
    });
    expect(rules.CloseWaitLeak.enabled).toBe(false);
    expect(rules.EphemeralPortPressure).toMatchObject({ ratio: 0.3, portRange: "10000-60999" });
  });
});

describe("chart: RBAC", () => {
  const objects = render();

  it("gives the agent get/list/watch on pods and the collector on pods and services, nothing else", () => {
    const roles = all(objects, "ClusterRole");
    expect(roles.map((r) => r.metadata.name).sort()).toEqual(["t-tcpstate-agent", "t-tcpstate-collector"]);
    expect(one(objects, "ClusterRole", "-agent").rules).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
    ]);
    expect(one(objects, "ClusterRole", "-collector").rules).toEqual([
      { apiGroups: [""], resources: ["pods", "services"], verbs: ["get", "list", "watch"] },
    ]);
    expect(all(objects, "Role")).toEqual([]);
  });

  it("binds each role to its component's own ServiceAccount", () => {
    for (const component of ["agent", "collector"]) {
      const binding = one(objects, "ClusterRoleBinding", `-${component}`);
      expect(binding.roleRef).toEqual({
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: `t-tcpstate-${component}`,
      });
      const sa = one(objects, "ServiceAccount", `-${component}`);
      expect(binding.subjects).toEqual([
        { kind: "ServiceAccount", name: sa.metadata.name, namespace: NAMESPACE },
      ]);
      const workload = one(objects, component === "agent" ? "DaemonSet" : "Deployment", `-${component}`);
      expect(workload.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
    }
    // The bundled NATS talks to no API.
    expect(one(objects, "StatefulSet", "-nats").spec.template.spec.automountServiceAccountToken).toBe(false);
  });
});

describe("chart: NATS wiring", () => {
  it("bundled: agent and collector use the NATS Service that selects the JetStream StatefulSet with a PVC", () => {
    const objects = render();
    const sts = one(objects, "StatefulSet", "-nats");
    const natsUrls = [
      envOf(container(one(objects, "DaemonSet"), "agent")).NATS_URL,
      envOf(container(one(objects, "Deployment"), "collector")).NATS_URL,
    ];
    expect(natsUrls[0]).toBe(natsUrls[1]);
    const m = /^nats:\/\/([^.]+)\.([^.]+)\.svc:(\d+)$/.exec(String(natsUrls[0]));
    expect(m, `NATS_URL ${natsUrls[0]}`).not.toBeNull();
    const [, svcName, svcNamespace, port] = m as RegExpExecArray;
    expect(svcNamespace).toBe(NAMESPACE);
    const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === svcName);
    expect(svc, `Service ${svcName}`).toBeDefined();
    expect(selects(svc?.spec.selector, sts.spec.template.metadata.labels)).toBe(true);
    const svcPort = svc?.spec.ports.find((p: { port: number }) => p.port === Number(port));
    const nats = container(sts, "nats");
    const target = nats.ports.find((p: { name: string }) => p.name === svcPort.targetPort);
    expect(target.containerPort).toBe(4222);
    // JetStream on, its store on the PVC.
    const conf = one(objects, "ConfigMap", "-nats").data["nats.conf"] as string;
    expect(conf).toMatch(/jetstream \{\s*store_dir: \/data/);
    expect(conf).toContain(`port: ${target.containerPort}`);
    expect(nats.volumeMounts).toContainEqual({ name: "data", mountPath: "/data" });
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe("data");
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("10Gi");
  });

  it("external: no bundled NATS; both use nats.url with the credentials Secret and TLS CA mounted", () => {
    const objects = render({ valuesFiles: ["ci/external-nats-values.yaml"] });
    expect(all(objects, "StatefulSet")).toEqual([]);
    const url = parse(readFileSync(path.join(CHART, "ci/external-nats-values.yaml"), "utf8")).nats.url;
    for (const [kind, name] of [
      ["DaemonSet", "agent"],
      ["Deployment", "collector"],
    ] as const) {
      const w = one(objects, kind);
      const c = container(w, name);
      expect(envOf(c)).toMatchObject({
        NATS_URL: url,
        NATS_USER: { secretKeyRef: { name: "tcpstate-nats", key: "user" } },
        NATS_PASSWORD_FILE: "/etc/tcpstate/nats/password",
        NATS_TLS_CA: "/etc/tcpstate/nats-tls/ca.crt",
      });
      expect(c.volumeMounts).toContainEqual({
        name: "nats-credentials",
        mountPath: "/etc/tcpstate/nats",
        readOnly: true,
      });
      expect(volumeByName(w, "nats-credentials").secret.secretName).toBe("tcpstate-nats");
      expect(volumeByName(w, "nats-tls").secret.secretName).toBe("tcpstate-nats-tls");
    }
    // An existing Secret is used, not made.
    expect(all(objects, "Secret")).toEqual([]);
  });

  it("external with a token given as a value: the chart makes the Secret both mount", () => {
    const set = { "nats.enabled": "false", "nats.url": "nats://n:4222", "nats.credentials.type": "token" };
    expect(renderError({ set })).toContain("set nats.credentials.token or nats.credentials.existingSecret");
    const objects = render({ set: { ...set, "nats.credentials.token": "s3cret" } });
    const secret = one(objects, "Secret");
    expect(secret.stringData).toEqual({ token: "s3cret" });
    for (const [kind, name] of [
      ["DaemonSet", "agent"],
      ["Deployment", "collector"],
    ] as const) {
      const w = one(objects, kind);
      expect(envOf(container(w, name)).NATS_TOKEN_FILE).toBe("/etc/tcpstate/nats/token");
      expect(volumeByName(w, "nats-credentials").secret.secretName).toBe(secret.metadata.name);
    }
  });
});

describe("chart: monitoring objects", () => {
  it("are rendered only when enabled and the cluster serves monitoring.coreos.com/v1", () => {
    const kinds = (objects: K8sObject[]) =>
      objects.map((o) => o.kind).filter((k) => MONITORING_KINDS.includes(k));
    expect(kinds(render({ valuesFiles: ["ci/monitoring-values.yaml"] }))).toEqual([]);
    expect(kinds(render({ apiVersions: [MONITORING_API] }))).toEqual([]);
    expect(
      kinds(render({ valuesFiles: ["ci/monitoring-values.yaml"], apiVersions: [MONITORING_API] })).sort(),
    ).toEqual(["PodMonitor", "PrometheusRule", "ServiceMonitor"]);
  });

  it("ServiceMonitor scrapes the collector Service keeping the series' own namespace/pod labels", () => {
    const objects = render({ valuesFiles: ["ci/monitoring-values.yaml"], apiVersions: [MONITORING_API] });
    const sm = one(objects, "ServiceMonitor");
    const svc = one(objects, "Service", "-collector");
    expect(sm.metadata.labels?.release).toBe("kube-prometheus-stack");
    expect(selects(sm.spec.selector.matchLabels, svc.metadata.labels ?? {})).toBe(true);
    expect(sm.spec.endpoints).toEqual([
      { port: "http", path: "/metrics", interval: "30s", scrapeTimeout: "10s", honorLabels: true },
    ]);
    const pm = one(objects, "PodMonitor");
    expect(
      selects(pm.spec.selector.matchLabels, one(objects, "DaemonSet").spec.template.metadata.labels),
    ).toBe(true);
    expect(pm.spec.podMetricsEndpoints[0].port).toBe("metrics");
    // The rules select the collector's series by its job (the Service name).
    const rule = one(objects, "PrometheusRule");
    expect(rule.spec.groups[0].rules.map((r: { alert: string }) => r.alert)).toEqual(RULE_NAMES);
    for (const r of rule.spec.groups[0].rules) expect(r.expr).toContain(`job="${svc.metadata.name}"`);
  });

  it("the PrometheusRule follows custom rules: thresholds, scope, a disabled rule left out", () => {
    const objects = render({ valuesFiles: ["ci/custom-rules-values.yaml"], apiVersions: [MONITORING_API] });
    const rules = one(objects, "PrometheusRule").spec.groups[0].rules as { alert: string; expr: string }[];
    expect(rules.map((r) => r.alert)).not.toContain("CloseWaitLeak");
    const tw = rules.find((r) => r.alert === "TimeWaitBuildup");
    expect(tw?.expr).toContain('namespace=~"payments|checkout"');
    expect(tw?.expr).toContain('namespace!~"kube-system"');
    expect(tw?.expr).toContain('workload=~"api-.*"');
    expect(tw?.expr).toMatch(/\) >= 1000\n/);
    expect(tw?.expr).toContain(">= 3 * quantile_over_time(0.1, ");
    // 30% of the 51000 ports of 10000-60999.
    expect(rules.find((r) => r.alert === "EphemeralPortPressure")?.expr).toMatch(/> 15300$/m);
  });

  it("ships the Grafana dashboard in a ConfigMap labelled for the sidecar, over the collector's metrics", () => {
    const objects = render({ valuesFiles: ["ci/monitoring-values.yaml"] });
    const cm = one(objects, "ConfigMap", "-dashboard");
    expect(cm.metadata.labels?.grafana_dashboard).toBe("1");
    expect(cm.metadata.namespace).toBe("monitoring");
    const dash = JSON.parse(cm.data["tcpstate.json"]);
    expect(dash.uid).toBe("tcpstate-overview");
    const known = new Set([
      "tcpstate_pod_churn_per_second",
      "tcpstate_pod_sockets",
      "tcpstate_pod_transitions_total",
      "tcpstate_pod_listen_overflows_total",
      "tcpstate_pod_syncookies_sent_total",
      "tcpstate_pod_req_q_full_drops_total",
      "tcpstate_pod_listener_syn_queue",
      "tcpstate_pod_listener_accept_queue",
      "tcpstate_pod_listener_backlog",
      "tcpstate_pod_destination_time_wait",
      "tcpstate_namespace_churn_per_second",
      "tcpstate_namespace_sockets",
      "tcpstate_workload_churn_per_second",
      "tcpstate_workload_sockets",
      "tcpstate_alerts",
      "tcpstate_collector_node_lag_seconds",
    ]);
    const exprs: string[] = dash.panels.flatMap((p: { targets?: { expr: string }[] }) =>
      (p.targets ?? []).map((t) => t.expr),
    );
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs)
      for (const metric of expr.match(/tcpstate_[a-z_]+/g) ?? [])
        expect(known.has(metric), `${metric} in ${expr}`).toBe(true);
  });
});

describe("chart: bad values fail with a message naming the value", () => {
  it("a negative agent interval", () => {
    expect(renderError({ set: { "agent.interval": "-5s" } })).toContain(
      "at '/agent/interval': '-5s' does not match pattern",
    );
  });

  it("an unknown security mode", () => {
    expect(renderError({ set: { "agent.security.mode": "root" } })).toContain(
      "at '/agent/security/mode': value must be one of 'privileged', 'capabilities'",
    );
  });

  it("the bundled NATS off without nats.url", () => {
    expect(renderError({ set: { "nats.enabled": "false" } })).toContain(
      "nats.url is required when nats.enabled is false",
    );
  });

  it("an unknown alert rule and a PDB that blocks every eviction", () => {
    expect(renderError({ set: { "alerts.rules.TimeWaitBuildupp.floor": "1" } })).toContain(
      "at '/alerts/rules': additional properties 'TimeWaitBuildupp' not allowed",
    );
    expect(renderError({ set: { "collector.podDisruptionBudget.enabled": "true" } })).toContain(
      "collector.podDisruptionBudget.minAvailable (1) is not less than collector.replicas (1)",
    );
  });
});
