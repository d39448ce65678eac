/**
 * What `helm template` renders by default to close the doors: the bundled NATS's users (a Secret each, passwords
 * as files), each role's permissions, NetworkPolicies, the agent's listener on loopback; and the values that open
 * them on purpose. Behaviour against a real nats-server: nats-auth.test.ts and nats-node-identity.test.ts.
 */
import { describe, expect, it } from "vitest";
import { AgentConfigSchema } from "../../agent/config.js";
import {
  DEADLETTER_SUBJECT,
  EVENTS_CONTROL_SUBJECT,
  EVENTS_SUBJECT_PREFIX,
  SUMMARY_STREAM,
  SUMMARY_SUBJECT_PREFIX,
} from "../../agent/wire/subjects.js";
import { ALERTS_STREAM, ALERTS_SUBJECT_PREFIX } from "../../collector/alerts/alert-event.js";
import {
  all,
  type Container,
  container,
  envOf,
  type K8sObject,
  MONITORING_API,
  NAMESPACE,
  one,
  render,
  renderError,
} from "./chart.js";

type Volume = { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } };

function secretVolumes(workload: K8sObject): Volume[] {
  return (workload.spec.template.spec.volumes as Volume[]).filter((v) => v.secret);
}

/** Every container's env values (plain `value`s) across the rendered workloads. */
function envValues(objects: K8sObject[]): string[] {
  return objects
    .filter((o) => ["DaemonSet", "Deployment", "StatefulSet"].includes(o.kind))
    .flatMap((w) => w.spec.template.spec.containers as Container[])
    .flatMap((c) => (c.env ?? []).map((e: { value?: string }) => e.value ?? ""));
}

/** One user's block of the rendered nats.conf (from its `{user: name` or `{nkey: key` to the next user). */
function userBlock(conf: string, who: string): string {
  const users = conf.split(/\n\s*(?=\{(?:user|nkey): )/);
  const block = users.find((u) => u.startsWith(`{user: ${who},`) || u.startsWith(`{nkey: ${who},`));
  if (!block) throw new Error(`no user ${who} in nats.conf:\n${conf}`);
  return block;
}

/** The subjects a user block allows to publish or subscribe to. */
function allowed(block: string, op: "publish" | "subscribe"): string[] {
  const m = new RegExp(`${op}: \\{allow: \\[([\\s\\S]*?)\\]\\}`).exec(block);
  if (!m) throw new Error(`no ${op} allow list in:\n${block}`);
  return JSON.parse(`[${m[1]}]`) as string[];
}

const natsConf = (objects: K8sObject[]) => one(objects, "ConfigMap", "-nats").data["nats.conf"] as string;

describe("chart: the bundled NATS's users", () => {
  const objects = render();
  const secrets = Object.fromEntries(all(objects, "Secret").map((s) => [s.metadata.name, s.stringData]));

  it("renders a Secret per user, each mounted only by its component, and the server's copy for NATS alone", () => {
    expect(Object.keys(secrets).sort()).toEqual([
      "t-tcpstate-nats-agent",
      "t-tcpstate-nats-auth",
      "t-tcpstate-nats-collector",
    ]);
    const agent = secrets["t-tcpstate-nats-agent"].password as string;
    const collector = secrets["t-tcpstate-nats-collector"].password as string;
    expect(secrets["t-tcpstate-nats-auth"]["passwords.conf"]).toBe(
      `AGENT_PASSWORD: "${agent}"\nCOLLECTOR_PASSWORD: "${collector}"\n`,
    );
    const mounted = (kind: string) => secretVolumes(one(objects, kind)).map((v) => v.secret?.secretName);
    expect(mounted("DaemonSet")).toEqual(["t-tcpstate-nats-agent"]);
    expect(mounted("Deployment")).toEqual(["t-tcpstate-nats-collector"]);
    expect(mounted("StatefulSet")).toEqual(["t-tcpstate-nats-auth"]);
  });

  it("gives each its user and password file, never the password as env", () => {
    for (const [kind, name] of [
      ["DaemonSet", "agent"],
      ["Deployment", "collector"],
    ] as const) {
      const c = container(one(objects, kind), name);
      expect(envOf(c)).toMatchObject({ NATS_USER: name, NATS_PASSWORD_FILE: "/etc/tcpstate/nats/password" });
      expect(envOf(c).NATS_PASSWORD).toBeUndefined();
      expect(c.volumeMounts).toContainEqual({
        name: "nats-credentials",
        mountPath: "/etc/tcpstate/nats",
        readOnly: true,
      });
    }
    const passwords = [
      secrets["t-tcpstate-nats-agent"].password,
      secrets["t-tcpstate-nats-collector"].password,
    ];
    for (const value of envValues(objects)) for (const p of passwords) expect(value).not.toContain(p);
  });

  it("generates 32 random characters per password on each render without a cluster; values set them", () => {
    const password = (o: K8sObject[], role: string) => one(o, "Secret", `-nats-${role}`).stringData.password;
    const again = render();
    for (const role of ["agent", "collector"]) {
      expect(password(objects, role)).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(password(again, role)).not.toBe(password(objects, role));
    }
    expect(password(objects, "agent")).not.toBe(password(objects, "collector"));
    const set = render({ set: { "nats.auth.agentPassword": "a-password-of-my-own" } });
    expect(password(set, "agent")).toBe("a-password-of-my-own");
    expect(renderError({ set: { "nats.auth.agentPassword": "short" } })).toContain(
      "at '/nats/auth/agentPassword'",
    );
  });

  it("rolls nothing on the first upgrade: NATS, agent and collector checksum the passwords the Secrets hold", () => {
    // On install the passwords are drawn at render time; each workload's checksum includes the Secrets' template.
    // One draw per render: every checksum is of the stored passwords, so the upgrade (which finds them) keeps it.
    const checksum = (kind: string, suffix: string, key: string) =>
      one(objects, kind, suffix).spec.template.metadata.annotations[key];
    const nats = checksum("StatefulSet", "-nats", "checksum/auth");
    expect(nats).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum("DaemonSet", "-agent", "checksum/nats-credentials")).toBe(nats);
    expect(checksum("Deployment", "-collector", "checksum/nats-credentials")).toBe(nats);
    const agentPassword = one(objects, "Secret", "-nats-agent").stringData.password;
    const serverCopy = Object.values(one(objects, "Secret", "-nats-auth").stringData ?? {}).join("\n");
    expect(serverCopy).toContain(agentPassword);
  });

  it("nats.conf admits only those users (authorization is on), each with a password", () => {
    const conf = natsConf(objects);
    expect(conf).toContain('include "../nats-auth/passwords.conf"');
    expect(conf).not.toContain("no_auth_user");
    expect(userBlock(conf, "agent")).toContain("password: $AGENT_PASSWORD");
    expect(userBlock(conf, "collector")).toContain("password: $COLLECTOR_PASSWORD");
    expect(conf.match(/\{(user|nkey): /g)).toHaveLength(2);
  });

  it("agent: publishes summaries and events, hears leases and its acks; no $JS.API at all", () => {
    const agent = userBlock(natsConf(objects), "agent");
    expect(allowed(agent, "publish")).toEqual([`${SUMMARY_SUBJECT_PREFIX}.>`, `${EVENTS_SUBJECT_PREFIX}.>`]);
    expect(allowed(agent, "subscribe")).toEqual([
      "_INBOX.>",
      EVENTS_CONTROL_SUBJECT,
      `${EVENTS_CONTROL_SUBJECT}.>`,
    ]);
    expect(agent).toContain("allow_responses: true");
    expect(agent).not.toContain("$JS");
  });

  it("collector: the JetStream API of its two streams only, never deleting one; alerts, dead letters, leases", () => {
    const collector = userBlock(natsConf(objects), "collector");
    const publish = allowed(collector, "publish");
    const api = publish.filter((s) => s.startsWith("$JS."));
    expect(api).toContain("$JS.API.INFO");
    for (const s of api.filter((x) => x !== "$JS.API.INFO"))
      expect(s).toMatch(
        new RegExp(
          `^\\$JS\\.API\\.(STREAM\\.(INFO|CREATE|UPDATE)|CONSUMER\\.(CREATE|INFO|DELETE|MSG\\.NEXT))\\.(${SUMMARY_STREAM}|${ALERTS_STREAM})(\\.[*>])?$`,
        ),
      );
    expect(publish.filter((s) => !s.startsWith("$JS."))).toEqual([
      `${ALERTS_SUBJECT_PREFIX}.>`,
      DEADLETTER_SUBJECT,
      EVENTS_CONTROL_SUBJECT,
    ]);
    expect(allowed(collector, "subscribe")).toEqual(["_INBOX.>", `${EVENTS_SUBJECT_PREFIX}.>`]);
  });

  it("bounds messages and storage: max_payload, JetStream 90 % and the summaries stream 80 % of the volume", () => {
    const maxBytes = (o: K8sObject[]) => envOf(container(one(o, "Deployment"), "collector")).MAX_BYTES;
    const maxFileStore = (o: K8sObject[]) => Number(/max_file_store: (\d+)/.exec(natsConf(o))?.[1]);
    expect(natsConf(objects)).toContain("max_payload: 2097152");
    for (const [size, bytes] of [
      ["10Gi", 10 * 2 ** 30],
      ["500Mi", 500 * 2 ** 20],
      ["2Ti", 2 * 2 ** 40],
    ] as const) {
      const o = render({ set: { "nats.jetstream.storageSize": size } });
      expect(maxFileStore(o)).toBe(Math.floor(bytes * 0.9));
      expect(maxBytes(o)).toBe(String(Math.floor(bytes * 0.8)));
    }
    expect(maxBytes(render({ set: { "collector.maxBytes": "123456789" } }))).toBe("123456789");
    const external = { "nats.enabled": "false", "nats.url": "nats://n:4222" };
    expect(maxBytes(render({ set: external }))).toBe("-1");
  });
});

describe("chart: TLS on the bundled NATS", () => {
  const objects = render({ set: { "nats.tls.existingSecret": "nats-cert" } });

  it("serves TLS with the Secret's certificate; agent and collector get only its CA", () => {
    expect(natsConf(objects)).toMatch(
      /tls \{\n {2}cert_file: \/etc\/nats-tls\/tls\.crt\n {2}key_file: \/etc\/nats-tls\/tls\.key/,
    );
    const sts = one(objects, "StatefulSet");
    const tls = secretVolumes(sts).find((v) => v.name === "tls")?.secret;
    expect(tls?.secretName).toBe("nats-cert");
    expect(tls?.items).toBeUndefined();
    expect(container(sts, "nats").volumeMounts).toContainEqual({
      name: "tls",
      mountPath: "/etc/nats-tls",
      readOnly: true,
    });
    for (const [kind, name] of [
      ["DaemonSet", "agent"],
      ["Deployment", "collector"],
    ] as const) {
      const w = one(objects, kind);
      expect(secretVolumes(w).find((v) => v.name === "nats-tls")?.secret).toMatchObject({
        secretName: "nats-cert",
        items: [{ key: "ca.crt", path: "ca.crt" }],
      });
      expect(envOf(container(w, name))).toMatchObject({ NATS_TLS_CA: "/etc/tcpstate/nats-tls/ca.crt" });
      expect(envOf(container(w, name)).NATS_TLS_KEY).toBeUndefined();
    }
    expect(renderError({ set: { "nats.tls.existingSecret": "x", "nats.tls.clientCert": "true" } })).toContain(
      "nats.tls.clientCert is for your own NATS",
    );
  });
});

describe("chart: NetworkPolicies", () => {
  const policies = (o: K8sObject[]) =>
    Object.fromEntries(all(o, "NetworkPolicy").map((p) => [p.metadata.name, p.spec]));

  it("by default: the collector's port from the release's namespace, NATS's client port, its monitor port from none", () => {
    const objects = render();
    const p = policies(objects);
    expect(Object.keys(p).sort()).toEqual(["t-tcpstate-collector", "t-tcpstate-nats"]);
    expect(p["t-tcpstate-collector"].podSelector.matchLabels).toEqual(
      one(objects, "Deployment").spec.selector.matchLabels,
    );
    expect(p["t-tcpstate-collector"].policyTypes).toEqual(["Ingress"]);
    expect(p["t-tcpstate-collector"].ingress).toEqual([
      {
        ports: [{ port: "http", protocol: "TCP" }],
        from: [
          {
            namespaceSelector: {
              matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [NAMESPACE] }],
            },
          },
        ],
      },
    ]);
    expect(p["t-tcpstate-nats"].podSelector.matchLabels).toEqual(
      one(objects, "StatefulSet").spec.selector.matchLabels,
    );
    // No `from`: the agents' connections come from the nodes' addresses; the users keep others out.
    expect(p["t-tcpstate-nats"].ingress).toEqual([{ ports: [{ port: "client", protocol: "TCP" }] }]);
  });

  it("with node CIDRs, more namespaces and monitor readers: exactly those", () => {
    const objects = render({
      set: {
        "networkPolicy.nats.nodeCidrs[0]": "10.0.0.0/16",
        "networkPolicy.nats.monitorFrom[0].namespaceSelector.matchLabels.team": "sre",
        "networkPolicy.collector.namespaces[0]": "grafana",
        "monitoring.prometheusNamespace": "monitoring",
      },
    });
    const p = policies(objects);
    expect(p["t-tcpstate-collector"].ingress[0].from[0].namespaceSelector.matchExpressions[0].values).toEqual(
      [NAMESPACE, "grafana", "monitoring"],
    );
    const [client, monitor] = p["t-tcpstate-nats"].ingress;
    expect(client.from).toEqual([
      { podSelector: { matchLabels: one(objects, "Deployment").spec.selector.matchLabels } },
      { podSelector: { matchLabels: one(objects, "DaemonSet").spec.selector.matchLabels } },
      { ipBlock: { cidr: "10.0.0.0/16" } },
    ]);
    expect(monitor).toEqual({
      ports: [{ port: "monitor", protocol: "TCP" }],
      from: [{ namespaceSelector: { matchLabels: { team: "sre" } } }],
    });
    // Ports named as the pods name them.
    const natsPorts = container(one(objects, "StatefulSet"), "nats").ports.map(
      (x: { name: string }) => x.name,
    );
    expect(natsPorts).toEqual(["client", "monitor"]);
  });

  it("networkPolicy.enabled=false renders none", () => {
    expect(all(render({ set: { "networkPolicy.enabled": "false" } }), "NetworkPolicy")).toEqual([]);
  });
});

describe("chart: the agent's HTTP listener", () => {
  it("answers on the node's loopback only by default, probed there", () => {
    const agent = container(one(render(), "DaemonSet"), "agent");
    expect(envOf(agent).METRICS_ADDR).toBe("127.0.0.1:9464");
    expect(envOf(agent).POD_IP).toBeUndefined();
    expect(agent.livenessProbe.httpGet.host).toBe("127.0.0.1");
    expect(agent.readinessProbe.httpGet.host).toBe("127.0.0.1");
  });

  it("agent.exposeMetrics: the node's address (the pod IP), in a form the agent parses for IPv4 and IPv6", () => {
    const agent = container(one(render({ set: { "agent.exposeMetrics": "true" } }), "DaemonSet"), "agent");
    const names = (agent.env as { name: string }[]).map((e) => e.name);
    // $(POD_IP) is expanded only from a variable defined before it.
    expect(names.indexOf("POD_IP")).toBeLessThan(names.indexOf("METRICS_ADDR"));
    expect(envOf(agent).POD_IP).toEqual({ fieldRef: { fieldPath: "status.podIP" } });
    expect(envOf(agent).METRICS_ADDR).toBe("[$(POD_IP)]:9464");
    expect(agent.livenessProbe.httpGet.host).toBeUndefined();
    for (const ip of ["10.1.2.3", "fd00::17"]) {
      const addr = String(envOf(agent).METRICS_ADDR).replace("$(POD_IP)", ip);
      expect(AgentConfigSchema.parse({ nodeName: "n", metricsAddr: addr }).metricsAddr).toEqual({
        host: ip,
        port: 9464,
      });
    }
  });

  it("the PodMonitor needs agent.exposeMetrics, which the monitoring example sets", () => {
    expect(renderError({ set: { "monitoring.podMonitor.enabled": "true" } })).toContain(
      "monitoring.podMonitor.enabled needs agent.exposeMetrics=true",
    );
    const objects = render({ valuesFiles: ["ci/monitoring-values.yaml"], apiVersions: [MONITORING_API] });
    expect(envOf(container(one(objects, "DaemonSet"), "agent")).METRICS_ADDR).toBe("[$(POD_IP)]:9464");
    expect(one(objects, "PodMonitor").spec.podMetricsEndpoints[0].port).toBe("metrics");
  });
});

describe("chart: per-node agent identities", () => {
  const key = (c: string) => `U${c.repeat(55)}`;
  const perNode = {
    "agent.natsNodeCredentials.enabled": "true",
    "nats.auth.agentNodeKeys.node-a": key("A"),
    "nats.auth.agentNodeKeys.node-b": key("B"),
  };

  it("one NKey user per node, limited to that node's subjects; no shared agent user or Secret", () => {
    const objects = render({ set: perNode });
    const conf = natsConf(objects);
    expect(conf).not.toContain("{user: agent");
    expect(conf).not.toContain("AGENT_PASSWORD");
    const a = userBlock(conf, key("A"));
    expect(allowed(a, "publish")).toEqual([
      `${SUMMARY_SUBJECT_PREFIX}.node-a`,
      `${EVENTS_SUBJECT_PREFIX}.node-a`,
    ]);
    expect(allowed(a, "subscribe")).toEqual([
      "_INBOX.>",
      EVENTS_CONTROL_SUBJECT,
      `${EVENTS_CONTROL_SUBJECT}.node-a`,
    ]);
    expect(all(objects, "Secret").map((s) => s.metadata.name)).not.toContain("t-tcpstate-nats-agent");
    const ds = one(objects, "DaemonSet");
    expect(envOf(container(ds, "agent"))).toMatchObject({ NATS_NKEY: "/etc/tcpstate/nats-node/credentials" });
    expect(ds.spec.template.spec.volumes).toContainEqual({
      name: "nats-node-credentials",
      hostPath: { path: "/etc/tcpstate/nats-agent.nk", type: "File" },
    });
  });

  it("refuses the combinations that would leave agents unable to log in, naming the values", () => {
    expect(renderError({ set: { "agent.natsNodeCredentials.enabled": "true" } })).toContain(
      "agent.natsNodeCredentials.enabled with the bundled NATS needs nats.auth.agentNodeKeys",
    );
    expect(renderError({ set: { "nats.auth.agentNodeKeys.node-a": key("A") } })).toContain(
      "nats.auth.agentNodeKeys is set but agent.natsNodeCredentials.enabled is false",
    );
    expect(renderError({ set: { ...perNode, "agent.natsNodeCredentials.type": "creds" } })).toContain(
      'agent.natsNodeCredentials.type is "creds" but the bundled NATS',
    );
    expect(renderError({ set: { ...perNode, "nats.auth.agentNodeKeys.node-a": "SUAXYZ" } })).toContain(
      "at '/nats/auth/agentNodeKeys/node-a'",
    );
  });

  it("your NATS: the agent uses its node's .creds, the collector the shared credentials", () => {
    const objects = render({
      set: {
        "nats.enabled": "false",
        "nats.url": "nats://n:4222",
        "nats.credentials.type": "creds",
        "nats.credentials.existingSecret": "collector-creds",
        "agent.natsNodeCredentials.enabled": "true",
        "agent.natsNodeCredentials.type": "creds",
        "agent.natsNodeCredentials.hostPath": "/etc/nats/agent.creds",
      },
    });
    const ds = one(objects, "DaemonSet");
    expect(envOf(container(ds, "agent")).NATS_CREDS).toBe("/etc/tcpstate/nats-node/credentials");
    expect(secretVolumes(ds)).toEqual([]);
    const deploy = one(objects, "Deployment");
    expect(envOf(container(deploy, "collector")).NATS_CREDS).toBe("/etc/tcpstate/nats/creds");
    expect(secretVolumes(deploy).map((v) => v.secret?.secretName)).toEqual(["collector-creds"]);
  });
});
