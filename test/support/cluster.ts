/**
 * A real one-node Kubernetes cluster for a test file (scripts/cluster/: built once from the Go module proxy and
 * Debian's packages, then cached; brought up in its own network namespace in about 35 s): up in beforeAll, or
 * the one already up reused; kubectl, helm and ctr against it; images imported into its containerd; torn down
 * in afterAll by the file that brought it up (TCPSTATE_CLUSTER_KEEP=1 leaves it up for the next run).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { repoRoot } from "./agent-process.js";
import { buildTcpstateImage, imageId, podman } from "./tcpstate-image.js";

const REPO = repoRoot();
const SCRIPTS = path.join(REPO, "scripts/cluster");
export const CLUSTER_STATE = process.env.TCPSTATE_CLUSTER_STATE ?? "/run/tcpstate-cluster";
/** Bring-up with an empty binary cache builds Kubernetes first: 6–9 minutes on 2 idle cores, 19 on busy ones. */
export const CLUSTER_UP_TIMEOUT_MS = 30 * 60_000;

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
}

export class CommandError extends Error {
  readonly code = "COMMAND_FAILED";
  constructor(
    readonly command: string,
    readonly stdout: string,
    readonly stderr: string,
    cause?: unknown,
  ) {
    super(`${command} failed:\n${stderr.trim()}\n${stdout.trim()}`.trim(), { cause });
  }
}

/** Runs a command; resolves its stdout, rejects with its stderr and stdout in the message. */
export function run(file: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { encoding: "utf8", timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new CommandError(`${path.basename(file)} ${args.join(" ")}`, stdout, stderr, err));
        else resolve(stdout);
      },
    );
    // A command that exits without reading its input (most do) closes the pipe first: not an error.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(opts.input ?? "");
  });
}

export interface Cluster {
  /** The state directory (PKI, logs, namespace files, bin/ wrappers). */
  readonly state: string;
  /** The network namespace file of the node: hostNetwork pods live in it. */
  readonly netns: string;
  kubectl(args: string[], opts?: RunOptions): Promise<string>;
  /** `kubectl … -o json`, parsed. */
  kubectlJson<T = unknown>(args: string[]): Promise<T>;
  helm(args: string[], opts?: RunOptions): Promise<string>;
  /** Runs a command in the node's network namespace (where the Services' ClusterIPs answer). */
  inNodeNet(args: string[], opts?: RunOptions): Promise<string>;
  /** Imports a podman image into the cluster's containerd; the reference pods use (pullPolicy Never). */
  importPodmanImage(tag: string): Promise<{ repository: string; tag: string }>;
  /** The image reference of a part build.sh made (`nats`, `pause`). */
  builtImage(name: "nats" | "pause"): Promise<{ repository: string; tag: string }>;
  /** Tears the cluster down when this handle brought it up (and TCPSTATE_CLUSTER_KEEP is not set). */
  release(): Promise<void>;
}

async function isUp(): Promise<boolean> {
  if (!existsSync(path.join(CLUSTER_STATE, "ready"))) return false;
  return run(path.join(CLUSTER_STATE, "bin/kubectl"), ["get", "--raw", "/readyz"], {
    timeoutMs: 10_000,
  }).then(
    () => true,
    () => false,
  );
}

function splitRef(ref: string): { repository: string; tag: string } {
  const i = ref.lastIndexOf(":");
  return { repository: ref.slice(0, i), tag: ref.slice(i + 1) };
}

/** Brings the cluster up (or reuses the one that is up); a failed bring-up is torn down and its log shown. */
export async function startCluster(): Promise<Cluster> {
  const env = { ...process.env, TCPSTATE_CLUSTER_STATE: CLUSTER_STATE };
  const owned = !(await isUp());
  if (owned) {
    await new Promise<void>((resolve, reject) => {
      execFile(
        "bash",
        [path.join(SCRIPTS, "up.sh")],
        { env, encoding: "utf8", timeout: CLUSTER_UP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
        (err, _stdout, stderr) => {
          if (!err) return resolve();
          execFile("bash", [path.join(SCRIPTS, "down.sh")], { env }, () =>
            reject(new Error(`scripts/cluster/up.sh failed (${err.message.split("\n")[0]}):\n${stderr}`)),
          );
        },
      );
    });
  }
  const bin = (name: string) => path.join(CLUSTER_STATE, "bin", name);
  const imported = new Map<string, { repository: string; tag: string }>();
  const cluster: Cluster = {
    state: CLUSTER_STATE,
    netns: path.join(CLUSTER_STATE, "ns/net"),
    kubectl: (args, opts) => run(bin("kubectl"), args, opts),
    kubectlJson: async <T>(args: string[]) =>
      JSON.parse(await run(bin("kubectl"), [...args, "-o", "json"])) as T,
    helm: (args, opts) => run(bin("helm"), args, opts),
    inNodeNet: (args, opts) => run("nsenter", [`--net=${cluster.netns}`, "--", ...args], opts),
    async importPodmanImage(tag) {
      // Named by its image id, so a rebuilt image is a new reference and an unchanged one is imported once.
      const id = imageId(tag);
      if (!id) throw new Error(`podman has no image ${tag}`);
      const ref = { repository: splitRef(tag).repository, tag: `id-${id.slice(0, 12)}` };
      const known = imported.get(id);
      if (known) return known;
      const present = await run(bin("ctr"), ["images", "list", "-q"]);
      if (!present.split("\n").includes(`${ref.repository}:${ref.tag}`)) {
        const dir = await mkdtemp(path.join(tmpdir(), "tcpstate-cluster-image-"));
        try {
          const tar = path.join(dir, "image.tar");
          podman(["save", "--format", "docker-archive", "-o", tar, tag], 10 * 60_000);
          await run(bin("ctr"), ["images", "import", tar], { timeoutMs: 10 * 60_000 });
          await run(bin("ctr"), ["images", "tag", "--force", tag, `${ref.repository}:${ref.tag}`]);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
      imported.set(id, ref);
      return ref;
    },
    async builtImage(name) {
      const cache = (
        await run("bash", [path.join(SCRIPTS, "build.sh")], { timeoutMs: CLUSTER_UP_TIMEOUT_MS })
      ).trim();
      return splitRef((await run("cat", [path.join(cache, "images", `${name}.tag`)])).trim());
    },
    async release() {
      if (!owned || process.env.TCPSTATE_CLUSTER_KEEP === "1") return;
      await run("bash", [path.join(SCRIPTS, "down.sh")], { timeoutMs: 5 * 60_000 });
    },
  };
  return cluster;
}

/** The tcpstate image built from the Dockerfile (test/support/tcpstate-image.ts) and imported into `cluster`. */
export async function tcpstateImageIn(cluster: Cluster): Promise<{ repository: string; tag: string }> {
  const tag = "localhost/tcpstate:cluster";
  await buildTcpstateImage(tag);
  return cluster.importPodmanImage(tag);
}
