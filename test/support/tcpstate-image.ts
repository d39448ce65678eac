/**
 * The tcpstate image built from the unchanged Dockerfile with podman (base images made locally by
 * scripts/image-bases.sh, --pull=never), the way a user builds it. The layer cache makes a rebuild of an
 * unchanged tree take seconds.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { repoRoot } from "./agent-process.js";

const REPO = repoRoot();

export function podman(args: string[], timeoutMs = 60_000): string {
  const r = spawnSync("podman", args, { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`podman ${args[0]}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`podman ${args.join(" ")} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** The image's id (its config digest), or "" when `tag` names no image. */
export function imageId(tag: string): string {
  const r = spawnSync("podman", ["image", "inspect", "--format", "{{.Id}}", tag], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "";
}

/**
 * Builds the repository's Dockerfile as `tag`; the image the tag named before goes (its cached layers stay).
 * npm inside the build trusts this machine's CA bundle through build-time mounts that leave no trace in the
 * image (the Dockerfile stays as users build it).
 */
export async function buildTcpstateImage(tag: string): Promise<void> {
  execFileSync("bash", [path.join(REPO, "scripts/image-bases.sh")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const dir = await mkdtemp(path.join(tmpdir(), "tcpstate-image-build-"));
  try {
    const npmrc = path.join(dir, "npmrc");
    await writeFile(npmrc, "cafile=/usr/local/etc/npm-host-ca.crt\n");
    const revision = execFileSync("git", ["-C", REPO, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const previousId = imageId(tag);
    podman(
      [
        "build",
        "--pull=never",
        "--layers",
        "-v",
        "/etc/ssl/certs/ca-certificates.crt:/usr/local/etc/npm-host-ca.crt:ro",
        "-v",
        `${npmrc}:/usr/local/etc/npmrc:ro`,
        "--build-arg",
        `REVISION=${revision}`,
        "-t",
        tag,
        "-f",
        path.join(REPO, "Dockerfile"),
        REPO,
      ],
      15 * 60_000,
    );
    if (previousId && imageId(tag) !== previousId)
      spawnSync("podman", ["rmi", previousId], { encoding: "utf8" });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
