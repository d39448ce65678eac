/**
 * The bundled NATS as the chart renders it, run by a real nats-server: its nats.conf and the Secret it includes,
 * at the paths the StatefulSet mounts them; flags move only its address, ports, store dir and pid file here.
 */
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { type Container, container, type K8sObject, one } from "./chart.js";
import { podFiles } from "./pod-files.js";

export interface BundledNats {
  server: NatsServer;
  /** The StatefulSet's nats container (its probes, args). */
  nats: Container;
}

export async function startBundledNats(objects: K8sObject[]): Promise<BundledNats> {
  const sts = one(objects, "StatefulSet", "-nats");
  const nats = container(sts, "nats");
  const args = nats.args as string[];
  const main = args[args.indexOf("--config") + 1];
  if (!main) throw new Error(`the nats container runs no --config: ${JSON.stringify(args)}`);
  const server = await startNatsServer({
    configTree: { main, files: podFiles(objects, sts, nats) },
    // The downward API's pod name (server_name: $POD_NAME).
    env: { POD_NAME: `${sts.metadata.name}-0` },
  });
  return { server, nats };
}
