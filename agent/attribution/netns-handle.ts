/**
 * How the agent gets into a network namespace: through a process in it (/proc/<pid>/ns/net, /proc/<pid>/net),
 * or, when none is in it, through its bind mount under the netns dir (`ip netns add`): a netns with no process
 * lives on while its bind mount does, and so do its sockets (TIME_WAIT outlives every process).
 */
export type NetnsHandle =
  | { readonly kind: "process"; readonly pid: number }
  | { readonly kind: "bind-mount"; readonly path: string };

export function processHandle(pid: number): NetnsHandle {
  return { kind: "process", pid };
}

export function bindMountHandle(path: string): NetnsHandle {
  return { kind: "bind-mount", path };
}

/** The file `nsenter --net=` enters the netns through. */
export function netnsFileOf(procRoot: string, handle: NetnsHandle): string {
  switch (handle.kind) {
    case "process":
      return `${procRoot}/${handle.pid}/ns/net`;
    case "bind-mount":
      return handle.path;
    default: {
      const never: never = handle;
      throw new Error(`unknown netns handle ${JSON.stringify(never)}`);
    }
  }
}
