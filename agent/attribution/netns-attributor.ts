import { readFile } from "node:fs/promises";
import type { Owner } from "../wire/summary.js";
import type { CgroupIndex } from "./cgroup-index.js";
import { containerNameOf, parseProcCgroup, readProcCgroupText } from "./cgroup-path.js";
import { bindMountHandle, type NetnsHandle, processHandle } from "./netns-handle.js";
import { representativeCandidates, scanNetns } from "./netns-scan.js";
import type { PodLookup } from "./pod-index.js";
import { readNetnsAddresses } from "./proc-net.js";

interface NetnsFacts {
  pid: number;
  podUid: string | null;
  ips: string[];
  /** Standalone: the container (runtime and short id) or else the process (comm-pid) the netns belongs to. */
  localName: string | null;
}

export interface NetnsAttributorOptions {
  procRoot: string;
  netnsDir: string;
  /** null in standalone mode: no kube API, a pod is a network namespace. */
  pods: PodLookup | null;
  /** cgroup id → pod, for the pods that share the host netns (hostNetwork); null: no cgroup v2 mount. */
  cgroups: CgroupIndex | null;
}

/** Without Kubernetes, an unnamed netns is named by its container (runtime cgroup), else by its process. */
async function localNameOf(procRoot: string, pid: number, cgroupText: string): Promise<string | null> {
  const comm = (await readFile(`${procRoot}/${pid}/comm`, "utf8").catch(() => "")).trim();
  return containerNameOf(cgroupText) ?? (comm ? `${comm}-${pid}` : null);
}

/**
 * Network namespace → owner, from the kernel's side: a pid in the netns (hostPID), that pid's cgroup (the pod
 * UID in kubepods paths) and the netns's addresses (pod IP). Never from the pid that triggered a transition
 * (docs/design.md, "Pods from the kernel's point of view").
 */
export class NetnsAttributor {
  private facts = new Map<number, NetnsFacts>();
  private names = new Map<number, string>();
  private pids = new Map<number, number>();
  private hostInode: number | null = null;

  constructor(private readonly opts: NetnsAttributorOptions) {}

  /**
   * Rescans namespaces; reads cgroup and addresses of new ones and of those not yet matched to a pod. A netns
   * keeps its representative process while it lives, and a netns known as a pod's stays the pod's when the
   * processes read exited meanwhile or are no pod's (a host tool entered the netns): never downgraded to a name.
   */
  async refresh(): Promise<void> {
    const { netnsDir, pods } = this.opts;
    const scan = await scanNetns(this.opts.procRoot, netnsDir);
    this.hostInode = scan.hostInode;
    this.names = scan.nameByInode;
    const representatives = new Map<number, number>();
    const next = new Map<number, NetnsFacts>();
    await Promise.all(
      [...scan.pidsByInode].map(async ([inode, inNetns]) => {
        const candidates = representativeCandidates(inNetns, this.pids.get(inode));
        const first = candidates[0] as number;
        representatives.set(inode, first);
        if (inode === scan.hostInode) return;
        const known = this.facts.get(inode);
        const matched = known && pods && (known.podUid ? pods.byUid(known.podUid) : this.podByIps(known.ips));
        if (known && known.pid === first && (matched || !pods)) {
          next.set(inode, known);
          return;
        }
        const read = await this.readFacts(candidates);
        if (read) representatives.set(inode, read.pid);
        const keepKnown = known?.podUid && !(read && this.namesPod(read));
        next.set(inode, keepKnown ? known : (read ?? { pid: first, podUid: null, ips: [], localName: null }));
      }),
    );
    this.pids = representatives;
    this.facts = next;
  }

  /** A process's cgroup names a pod of its own network (not a hostNetwork pod's process that entered it). */
  private namesPod(facts: NetnsFacts): boolean {
    return facts.podUid !== null && this.opts.pods?.byUid(facts.podUid)?.hostNetwork !== true;
  }

  /**
   * The facts of the first candidate whose cgroup names a pod (any readable one in standalone mode), else of
   * the first readable one; null when every candidate exited before its cgroup was read.
   */
  private async readFacts(candidates: readonly number[]): Promise<NetnsFacts | null> {
    const { procRoot, pods } = this.opts;
    let fallback: NetnsFacts | null = null;
    for (const pid of candidates) {
      const cgroupText = await readProcCgroupText(procRoot, pid);
      if (!cgroupText) continue; // exited between the scan and the read: says nothing about the netns
      const facts: NetnsFacts = {
        pid,
        podUid: parseProcCgroup(cgroupText)?.podUid ?? null,
        ips: await readNetnsAddresses(procRoot, pid),
        localName: pods ? null : await localNameOf(procRoot, pid, cgroupText),
      };
      if (!pods || this.namesPod(facts)) return facts;
      fallback ??= facts;
    }
    return fallback;
  }

  private podByIps(ips: string[]) {
    for (const ip of ips) {
      const pod = this.opts.pods?.byIp(ip);
      if (pod) return pod;
    }
    return undefined;
  }

  /** Netns that exist now: those with a process in them or a name under the netns dir. */
  alive(): Set<number> {
    const set = new Set<number>(this.facts.keys());
    for (const inode of this.names.keys()) set.add(inode);
    if (this.hostInode !== null) set.add(this.hostInode);
    return set;
  }

  /**
   * The way into each netns (the host's included): a process in it where there is one (its /proc/<pid>/net is
   * read directly), else its bind mount under the netns dir (an `ip netns add` netns with no process left).
   */
  handles(): ReadonlyMap<number, NetnsHandle> {
    const out = new Map<number, NetnsHandle>();
    for (const [inode, pid] of this.pids) out.set(inode, processHandle(pid));
    for (const [inode, name] of this.names)
      if (!out.has(inode)) out.set(inode, bindMountHandle(`${this.opts.netnsDir}/${name}`));
    return out;
  }

  /**
   * Netns reported every window, idle or not: the host, pods' netns (kube mode) or named netns (standalone,
   * where unnamed netns of arbitrary processes would be noise).
   */
  reported(): number[] {
    const out = this.hostInode === null ? [] : [this.hostInode];
    if (!this.opts.pods) return [...out, ...this.names.keys()];
    for (const inode of this.facts.keys()) if (this.ownerOf(inode).kind === "pod") out.push(inode);
    return out;
  }

  /** The host netns is split by cgroup when hostNetwork pods can be told apart (kube mode, cgroup v2). */
  splitsByCgroup(inode: number): boolean {
    return inode === this.hostInode && this.opts.pods !== null && this.opts.cgroups !== null;
  }

  /** Makes sure the cgroup ids counted in the host netns are indexed (rescans at most every 5 s). */
  async learnCgroups(ids: Iterable<number>): Promise<void> {
    const { cgroups } = this.opts;
    if (!cgroups) return;
    for (const id of ids) if (!cgroups.peek(id)) await cgroups.lookup(id);
  }

  ownerOf(inode: number, cgroup = 0): Owner {
    if (inode === this.hostInode) return this.hostOwnerOf(cgroup);
    const facts = this.facts.get(inode);
    const pods = this.opts.pods;
    if (pods && facts) {
      const pod = (facts.podUid ? pods.byUid(facts.podUid) : undefined) ?? this.podByIps(facts.ips);
      if (pod && !pod.hostNetwork) {
        const { ips: _ips, ...owner } = pod;
        return owner;
      }
    }
    return { kind: "netns", name: this.names.get(inode) ?? facts?.localName ?? `netns-${inode}` };
  }

  /** A host-netns socket's owner: the hostNetwork pod its cgroup names, else the host. */
  private hostOwnerOf(cgroup: number): Owner {
    const ref = cgroup === 0 ? null : this.opts.cgroups?.peek(cgroup);
    if (!ref) return { kind: "host", name: "host" };
    const pod = this.opts.pods?.byUid(ref.podUid);
    // Counted before the kube API named the pod: kept under its UID, moved to the pod once it is known.
    if (!pod) return { kind: "netns", name: `pod-${ref.podUid}` };
    if (!pod.hostNetwork) return { kind: "host", name: "host" };
    const { ips: _ips, ...owner } = pod;
    return owner;
  }
}
