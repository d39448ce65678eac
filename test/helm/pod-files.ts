/**
 * The files a rendered container would see from the chart's ConfigMaps and Secrets, and how a test runs the
 * container's process here: those files written under a temp root, the env's paths pointed at them.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Container, K8sObject } from "./chart.js";

interface Mount {
  name: string;
  mountPath: string;
  subPath?: string;
}

interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
}

/** A ConfigMap's or Secret's keys and contents (a Secret's stringData, or its base64 data decoded). */
function contents(o: K8sObject): Record<string, string> {
  if (o.kind === "ConfigMap") return { ...(o.data ?? {}) };
  const decoded = Object.entries((o.data ?? {}) as Record<string, string>).map(([k, v]) => [
    k,
    Buffer.from(v, "base64").toString("utf8"),
  ]);
  return { ...Object.fromEntries(decoded), ...(o.stringData ?? {}) };
}

/**
 * Container path → content of every file `c` mounts from a ConfigMap or Secret in `objects` (items and subPath
 * as the kubelet applies them). Volumes of objects the chart does not render (a user's Secret) are left out.
 */
export function podFiles(objects: K8sObject[], workload: K8sObject, c: Container): Record<string, string> {
  const files: Record<string, string> = {};
  const volumes = (workload.spec.template.spec.volumes ?? []) as Volume[];
  for (const m of (c.volumeMounts ?? []) as Mount[]) {
    const v = volumes.find((x) => x.name === m.name);
    const source = v?.configMap
      ? { kind: "ConfigMap", name: v.configMap.name, items: v.configMap.items }
      : v?.secret
        ? { kind: "Secret", name: v.secret.secretName, items: v.secret.items }
        : undefined;
    if (!source) continue;
    const o = objects.find((x) => x.kind === source.kind && x.metadata.name === source.name);
    if (!o) continue;
    const data = contents(o);
    const paths = source.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const { key, path: p } of paths) {
      const text = data[key];
      if (text === undefined) throw new Error(`${source.kind} ${source.name} has no key ${key}`);
      if (m.subPath === undefined) files[path.posix.join(m.mountPath, p)] = text;
      else if (m.subPath === p) files[m.mountPath] = text;
    }
  }
  return files;
}

/**
 * Writes `files` (container paths) under `root`; container path → the path written. `mode`: 0600 for a process
 * of this user; a container running as another user (the collector's 10001) needs 0444 on a bind mount.
 */
export async function writePodFiles(
  root: string,
  files: Record<string, string>,
  mode = 0o600,
): Promise<Record<string, string>> {
  const written: Record<string, string> = {};
  for (const [file, text] of Object.entries(files)) {
    const local = path.join(root, path.posix.resolve("/", file));
    await mkdir(path.dirname(local), { recursive: true });
    await writeFile(local, text, { mode });
    written[file] = local;
  }
  return written;
}

/** `env` with each value that names a written file replaced by where it was written. */
export function localEnv(
  env: Record<string, string>,
  written: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, written[v] ?? v]));
}

/** A Secret the user creates (the chart only names it), for podFiles and podEnv to resolve. */
export function userSecret(name: string, stringData: Record<string, string>): K8sObject {
  return { apiVersion: "v1", kind: "Secret", metadata: { name }, stringData };
}

/**
 * A container's env as the kubelet gives it: plain values, and each secretKeyRef's value from its Secret in
 * `objects` (a missing Secret or key keeps the pod from starting, so it throws here too).
 */
export function podEnv(objects: K8sObject[], c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of (c.env ?? []) as { name: string; value?: string; valueFrom?: Record<string, unknown> }[]) {
    if (e.valueFrom === undefined) {
      env[e.name] = e.value ?? "";
      continue;
    }
    const ref = e.valueFrom.secretKeyRef as { name: string; key: string } | undefined;
    if (!ref)
      throw new Error(
        `env ${e.name}: only secretKeyRef is resolved here, got ${JSON.stringify(e.valueFrom)}`,
      );
    const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === ref.name);
    const value = secret ? contents(secret)[ref.key] : undefined;
    if (value === undefined) throw new Error(`env ${e.name}: Secret ${ref.name} has no key ${ref.key}`);
    env[e.name] = value;
  }
  return env;
}
