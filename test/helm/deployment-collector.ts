/** The chart's collector Deployment as something this machine can run: its args, and env pointing at local files. */
import { container, envOf, type K8sObject, one } from "./chart.js";
import { localEnv, podFiles, writePodFiles } from "./pod-files.js";

/** Its args, and its env with the files it mounts (rules, NATS password) written under `root`. */
export async function deploymentCollector(
  objects: K8sObject[],
  root: string,
): Promise<{ args: string[]; env: Record<string, string> }> {
  const deploy = one(objects, "Deployment", "-collector");
  const c = container(deploy, "collector");
  const written = await writePodFiles(root, podFiles(objects, deploy, c));
  return { args: c.args as string[], env: localEnv(envOf(c) as Record<string, string>, written) };
}
