/** The chart's collector Deployment as something this machine can run: its args, and env pointing at local files. */
import { container, type K8sObject, one } from "./chart.js";
import { localEnv, podEnv, podFiles, writePodFiles } from "./pod-files.js";

/**
 * Its args, and its env with the files it mounts (rules, NATS password, alert sink credentials) written under
 * `root`. `userSecrets`: the Secrets the values name but the chart does not render (as userSecret() makes them).
 */
export async function deploymentCollector(
  objects: K8sObject[],
  root: string,
  userSecrets: K8sObject[] = [],
): Promise<{ args: string[]; env: Record<string, string> }> {
  const all = [...objects, ...userSecrets];
  const deploy = one(objects, "Deployment", "-collector");
  const c = container(deploy, "collector");
  const written = await writePodFiles(root, podFiles(all, deploy, c));
  return { args: c.args as string[], env: localEnv(podEnv(all, c), written) };
}
