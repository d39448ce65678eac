/**
 * The collector's Alertmanager and webhook sinks as the chart renders them: off by default; credentials only as
 * files from the user's Secrets, each mounted as a directory (so a rotated Secret reaches the pod) with exactly
 * the listed keys, each key setting its one *_FILE flag; a secret URL from a secretKeyRef; no password, token or
 * userinfo URL in plain env; the older collector.<sink>Url values still honoured.
 */
import { describe, expect, it } from "vitest";
import {
  type Container,
  container,
  envOf,
  type K8sObject,
  lint,
  one,
  type RenderOptions,
  render,
  renderError,
} from "./chart.js";
import { podEnv, podFiles, userSecret } from "./pod-files.js";

const CI = "ci/alert-sink-secrets-values.yaml";
const SINK_ENV = /^(ALERTMANAGER|WEBHOOK)_/;
/** `defaultMode: 0400` (owner-read only): octal to Kubernetes (YAML 1.1), decimal 400 to this YAML 1.2 parser. */
const MODE_0400 = 400;

interface Mount {
  name: string;
  mountPath: string;
  subPath?: string;
  readOnly?: boolean;
}

function collector(o: RenderOptions = {}): { objects: K8sObject[]; deploy: K8sObject; c: Container } {
  const objects = render(o);
  const deploy = one(objects, "Deployment", "-collector");
  return { objects, deploy, c: container(deploy, "collector") };
}

/** The sink env: name → plain value or valueFrom. */
function sinkEnv(c: Container): Record<string, unknown> {
  return Object.fromEntries(Object.entries(envOf(c)).filter(([k]) => SINK_ENV.test(k)));
}

function sinkMounts(c: Container): Mount[] {
  return ((c.volumeMounts ?? []) as Mount[]).filter((m) => m.mountPath.startsWith("/etc/tcpstate/sinks"));
}

describe("chart: alert sink credentials", () => {
  it("default values configure no sink: no sink env, no sink volume", () => {
    const { deploy, c } = collector();
    expect(sinkEnv(c)).toEqual({});
    expect(sinkMounts(c)).toEqual([]);
    const volumes = deploy.spec.template.spec.volumes as { name: string }[];
    expect(volumes.map((v) => v.name)).toEqual(["rules", "tmp", "nats-credentials"]);
  });

  it(`${CI}: each sink's Secret mounted as a read-only directory holding only the listed keys`, () => {
    const { deploy, c } = collector({ valuesFiles: [CI] });
    const mounts = sinkMounts(c);
    expect(mounts).toEqual([
      { name: "sink-alertmanager", mountPath: "/etc/tcpstate/sinks/alertmanager", readOnly: true },
      { name: "sink-webhook", mountPath: "/etc/tcpstate/sinks/webhook", readOnly: true },
    ]);
    // No subPath: the kubelet never updates a subPath mount, so a rotated Secret would not reach the pod.
    for (const m of mounts) expect(m.subPath).toBeUndefined();
    const volumes = deploy.spec.template.spec.volumes as { name: string; secret?: unknown }[];
    expect(volumes.find((v) => v.name === "sink-alertmanager")?.secret).toEqual({
      secretName: "tcpstate-alertmanager",
      defaultMode: MODE_0400,
      items: [
        { key: "token", path: "token" },
        { key: "ca.crt", path: "ca.crt" },
      ],
    });
    expect(volumes.find((v) => v.name === "sink-webhook")?.secret).toEqual({
      secretName: "tcpstate-webhook",
      defaultMode: MODE_0400,
      items: ["password", "headers", "ca.crt", "tls.crt", "tls.key"].map((k) => ({ key: k, path: k })),
    });
  });

  it(`${CI}: exactly the *_FILE env of the listed keys, the webhook URL from its secretKeyRef`, () => {
    const { c } = collector({ valuesFiles: [CI] });
    expect(sinkEnv(c)).toEqual({
      ALERTMANAGER_URL: "https://alertmanager.monitoring.svc:9093",
      ALERTMANAGER_BEARER_TOKEN_FILE: "/etc/tcpstate/sinks/alertmanager/token",
      ALERTMANAGER_TLS_CA_FILE: "/etc/tcpstate/sinks/alertmanager/ca.crt",
      WEBHOOK_URL: { secretKeyRef: { name: "tcpstate-webhook-url", key: "url" } },
      WEBHOOK_BASIC_AUTH_USER: "tcpstate",
      WEBHOOK_BASIC_AUTH_PASSWORD_FILE: "/etc/tcpstate/sinks/webhook/password",
      WEBHOOK_HEADERS_FILE: "/etc/tcpstate/sinks/webhook/headers",
      WEBHOOK_TLS_CA_FILE: "/etc/tcpstate/sinks/webhook/ca.crt",
      WEBHOOK_TLS_CERT_FILE: "/etc/tcpstate/sinks/webhook/tls.crt",
      WEBHOOK_TLS_KEY_FILE: "/etc/tcpstate/sinks/webhook/tls.key",
    });
  });

  it("each *_FILE names the file of its own key in the mounted Secret; no secret is in plain env", () => {
    const { objects, deploy, c } = collector({ valuesFiles: [CI] });
    const secrets = [
      userSecret("tcpstate-alertmanager", {
        token: "am-token-7f3a",
        "ca.crt": "AM CA",
        extra: "not mounted",
      }),
      userSecret("tcpstate-webhook", {
        password: "hook-password-91c2",
        headers: "X-Api-Key: hook-key-55d0\n",
        "ca.crt": "HOOK CA",
        "tls.crt": "HOOK CERT",
        "tls.key": "HOOK KEY",
      }),
      userSecret("tcpstate-webhook-url", {
        url: "https://hooks.slack.example/services/T0/B0/slack-token-3e8b",
      }),
    ];
    const all = [...objects, ...secrets];
    const files = podFiles(all, deploy, c);
    const env = podEnv(all, c);
    const fileOf = (name: string) => files[env[name] as string];
    expect(fileOf("ALERTMANAGER_BEARER_TOKEN_FILE")).toBe("am-token-7f3a");
    expect(fileOf("ALERTMANAGER_TLS_CA_FILE")).toBe("AM CA");
    expect(fileOf("WEBHOOK_BASIC_AUTH_PASSWORD_FILE")).toBe("hook-password-91c2");
    expect(fileOf("WEBHOOK_HEADERS_FILE")).toBe("X-Api-Key: hook-key-55d0\n");
    expect(fileOf("WEBHOOK_TLS_CA_FILE")).toBe("HOOK CA");
    expect(fileOf("WEBHOOK_TLS_CERT_FILE")).toBe("HOOK CERT");
    expect(fileOf("WEBHOOK_TLS_KEY_FILE")).toBe("HOOK KEY");
    expect(env.WEBHOOK_URL).toContain("slack-token-3e8b");
    // Keys the values do not list never reach the pod.
    expect(Object.values(files)).not.toContain("not mounted");
    // What a `kubectl get deployment -o yaml` shows holds none of the secrets.
    const spec = JSON.stringify(deploy);
    for (const secret of [
      "am-token-7f3a",
      "hook-password-91c2",
      "hook-key-55d0",
      "slack-token-3e8b",
      "HOOK KEY",
    ])
      expect(spec).not.toContain(secret);
  });

  it("a listed key the Secret lacks keeps the pod from starting instead of pointing a flag at no file", () => {
    const { objects, deploy, c } = collector({ valuesFiles: [CI] });
    const secrets = [
      userSecret("tcpstate-alertmanager", { "ca.crt": "AM CA" }),
      userSecret("tcpstate-webhook", {}),
    ];
    expect(() => podFiles([...objects, ...secrets], deploy, c)).toThrow(
      "Secret tcpstate-alertmanager has no key token",
    );
  });

  it("collector.alertmanagerUrl / webhookUrl (older values) are still the sinks' URLs", () => {
    const { c } = collector({
      set: {
        "collector.alertmanagerUrl": "http://alertmanager-operated.monitoring.svc:9093",
        "collector.webhookUrl": "https://hooks.example.com/tcpstate",
      },
    });
    expect(sinkEnv(c)).toEqual({
      ALERTMANAGER_URL: "http://alertmanager-operated.monitoring.svc:9093",
      WEBHOOK_URL: "https://hooks.example.com/tcpstate",
    });
  });

  it("the older URL value takes the new credentials (mounted the same way)", () => {
    const { c } = collector({
      set: {
        "collector.webhookUrl": "https://hooks.example.com/tcpstate",
        "collector.webhook.existingSecret": "hook",
        "collector.webhook.existingSecretKeys": "{token}",
      },
    });
    expect(sinkEnv(c)).toEqual({
      WEBHOOK_URL: "https://hooks.example.com/tcpstate",
      WEBHOOK_BEARER_TOKEN_FILE: "/etc/tcpstate/sinks/webhook/token",
    });
  });

  it("passes helm lint --strict with the sink values", () => {
    const r = lint({ valuesFiles: [CI] });
    expect(r.status, r.output).toBe(0);
  });

  const refused: [string, Record<string, string>, string][] = [
    [
      "a URL with user:password@ in clear",
      { "collector.webhook.url": "https://alice:s3cret-pw@hooks.example.com/x" },
      'collector.webhook.url ("https://***@hooks.example.com/x") holds user:password@, which would sit in the Deployment spec in clear',
    ],
    [
      "url and urlSecret at once",
      { "collector.alertmanager.url": "https://am:9093", "collector.alertmanager.urlSecret.name": "am-url" },
      'collector.alertmanager.url ("https://am:9093") and collector.alertmanager.urlSecret.name ("am-url") are both set',
    ],
    [
      "the older URL value with the new one",
      { "collector.alertmanagerUrl": "http://a:9093", "collector.alertmanager.url": "http://b:9093" },
      'collector.alertmanagerUrl ("http://a:9093") and collector.alertmanager.url are both set',
    ],
    [
      "a Secret without the keys it holds",
      { "collector.webhook.url": "https://h/x", "collector.webhook.existingSecret": "hook" },
      'collector.webhook.existingSecret ("hook") is set but collector.webhook.existingSecretKeys is empty',
    ],
    [
      "keys without their Secret",
      { "collector.webhook.url": "https://h/x", "collector.webhook.existingSecretKeys": "{token}" },
      "collector.webhook.existingSecretKeys (token) is set but collector.webhook.existingSecret is empty",
    ],
    [
      "credentials without a URL",
      { "collector.webhook.existingSecret": "hook", "collector.webhook.existingSecretKeys": "{token}" },
      "collector.webhook has credentials (existingSecret or basicAuthUser) but no URL",
    ],
    [
      "a key the collector has no flag for",
      { "collector.webhook.existingSecret": "hook", "collector.webhook.existingSecretKeys": "{bearer}" },
      "at '/collector/webhook/existingSecretKeys/0'",
    ],
    [
      "a basic-auth user with a colon",
      { "collector.webhook.url": "https://h/x", "collector.webhook.basicAuthUser": "a:b" },
      "at '/collector/webhook/basicAuthUser'",
    ],
  ];
  for (const [what, set, message] of refused)
    it(`refuses ${what}, naming the value`, () => {
      const error = renderError({ set });
      expect(error).toContain(message);
      expect(error).not.toContain("s3cret-pw");
    });
});
