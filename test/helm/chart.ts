/** Renders helm/tcpstate with the real helm (scripts/helm.sh installs it) and finds objects in the result. */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "../support/agent-process.js";

export const REPO = repoRoot();
export const CHART = path.join(REPO, "helm/tcpstate");
export const RELEASE = "t";
export const NAMESPACE = "obs";
export const MONITORING_API = "monitoring.coreos.com/v1";

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are untyped YAML; tests assert their shape.
export type K8sObject = Record<string, any> & {
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
};

export interface RenderOptions {
  valuesFiles?: string[];
  set?: Record<string, string>;
  apiVersions?: string[];
  /** The cluster's version (helm's default otherwise: the Kubernetes release helm was built against). */
  kubeVersion?: string;
}

function helmArgs(o: RenderOptions): string[] {
  const args: string[] = [];
  for (const f of o.valuesFiles ?? []) args.push("-f", path.isAbsolute(f) ? f : path.join(CHART, f));
  for (const [k, v] of Object.entries(o.set ?? {})) args.push("--set", `${k}=${v}`);
  for (const a of o.apiVersions ?? []) args.push("--api-versions", a);
  if (o.kubeVersion) args.push("--kube-version", o.kubeVersion);
  return args;
}

export function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("helm", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`helm could not run (scripts/helm.sh installs it): ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` output as objects; throws with helm's message when it fails. */
export function render(o: RenderOptions = {}): K8sObject[] {
  const r = helm(["template", RELEASE, CHART, "--namespace", NAMESPACE, ...helmArgs(o)]);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null);
}

/** `helm template` expected to fail: its error text. */
export function renderError(o: RenderOptions): string {
  const r = helm(["template", RELEASE, CHART, "--namespace", NAMESPACE, ...helmArgs(o)]);
  if (r.status === 0) throw new Error("helm template succeeded, expected it to fail");
  return r.stderr;
}

export function lint(o: RenderOptions = {}): { status: number | null; output: string } {
  const r = helm(["lint", CHART, "--strict", ...helmArgs(o)]);
  return { status: r.status, output: r.stdout + r.stderr };
}

export function all(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function one(objects: K8sObject[], kind: string, nameSuffix = ""): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1)
    throw new Error(`expected one ${kind} named *${nameSuffix}, found ${found.map((o) => o.metadata.name)}`);
  return found[0] as K8sObject;
}

// biome-ignore lint/suspicious/noExplicitAny: see K8sObject.
export type Container = Record<string, any> & { name: string };

export function container(workload: K8sObject, name: string): Container {
  const c = (workload.spec.template.spec.containers as Container[]).find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name} in ${workload.kind} ${workload.metadata.name}`);
  return c;
}

/** A container's plain env values (valueFrom entries as their source object). */
export function envOf(c: Container): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of c.env ?? []) out[e.name] = e.value ?? e.valueFrom;
  return out;
}

/** The ci/*.yaml values files of the chart, read from the directory so that a new one is linted too. */
export const CI_VALUES = readdirSync(path.join(CHART, "ci"))
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .map((f) => `ci/${f}`);
