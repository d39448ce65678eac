// The node's socket load for bench/gauges-bench.ts: a small C program (source below, compiled at run time
// with cc) that holds N ESTABLISHED loopback connections inside one "load" netns. Both ends of every
// connection stay open, so the count is stable for as long as the benchmark needs (TIME_WAIT would expire
// after 60 s), and grows on request without closing anything.
import { execFile, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { exec, type Pod } from "../netns-lab/pod-network.js";
import { stopChild } from "../test/support/child-process.js";
import type { Cleanup } from "./cleanup.js";

const execFileAsync = promisify(execFile);

/** The generator's file name: what `pgrep -f` looks for after the run. */
export const LOAD_BIN_NAME = "gauges-load";

/*
 * gauges-load <ip> <port> <nports>
 *   Listens on ip:port..port+nports-1 and prints {"listening":true,…}. Then reads one number per stdin line, the
 *   total of connections to hold, and forks worker processes (one at a time) that each open their share of
 *   connections to the listeners (round robin over the ports) and accept them, until that many are ESTABLISHED
 *   on both ends; prints {"connections":N,"workers":W}. Workers exist because RLIMIT_NOFILE's hard limit cannot
 *   be raised without CAP_SYS_RESOURCE: each holds at most (hard limit - 100) / 2 connections. Exits on stdin
 *   EOF, and the workers die with it (PR_SET_PDEATHSIG), so nothing outlives the benchmark.
 */
const SOURCE = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 64
#define BATCH 512

static struct sockaddr_in addrs[MAX_PORTS];
static struct pollfd listeners[MAX_PORTS];
static int nports;

static void die(const char *what) {
  fprintf(stderr, "gauges-load: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* In a worker: opens k connections to the listeners and accepts them; both ends stay open. */
static void hold(long k) {
  long opened = 0, accepted = 0;
  time_t deadline = time(NULL) + 120;
  while (opened < k) {
    long batch = k - opened < BATCH ? k - opened : BATCH;
    for (long i = 0; i < batch; i++, opened++) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fd < 0) die("socket");
      struct sockaddr_in *to = &addrs[opened % nports];
      if (connect(fd, (struct sockaddr *)to, sizeof *to) != 0 && errno != EINPROGRESS) die("connect");
    }
    /* A child is accepted only after the client's ACK: both ends are ESTABLISHED once all are accepted. */
    while (accepted < opened) {
      if (poll(listeners, nports, 1000) < 0 && errno != EINTR) die("poll");
      for (int i = 0; i < nports; i++) {
        for (;;) {
          int a = accept4(listeners[i].fd, NULL, NULL, SOCK_NONBLOCK);
          if (a < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
            die("accept4");
          }
          accepted++;
        }
      }
      if (time(NULL) > deadline) {
        fprintf(stderr, "gauges-load: only %ld of %ld connections accepted after 120 s\n", accepted, opened);
        exit(1);
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: gauges-load <ip> <port> <nports>\n");
    return 2;
  }
  int port = atoi(argv[2]);
  nports = atoi(argv[3]);
  if (nports < 1 || nports > MAX_PORTS) {
    fprintf(stderr, "gauges-load: nports must be 1-%d\n", MAX_PORTS);
    return 2;
  }
  /* Soft limit up to the hard one; raising the hard limit needs CAP_SYS_RESOURCE, so connections are
     spread over worker processes of at most (hard limit - 100) / 2 connections (two fds each). */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit");
  long chunk = ((long)(rl.rlim_cur > 2000000 ? 2000000 : rl.rlim_cur) - 100) / 2;
  if (chunk < 100) {
    fprintf(stderr, "gauges-load: RLIMIT_NOFILE too low: %ld\n", (long)rl.rlim_cur);
    return 1;
  }

  for (int i = 0; i < nports; i++) {
    memset(&addrs[i], 0, sizeof addrs[i]);
    addrs[i].sin_family = AF_INET;
    addrs[i].sin_port = htons((unsigned short)(port + i));
    if (inet_pton(AF_INET, argv[1], &addrs[i].sin_addr) != 1) {
      fprintf(stderr, "gauges-load: not an IPv4 address: %s\n", argv[1]);
      return 2;
    }
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (l < 0) die("socket");
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (struct sockaddr *)&addrs[i], sizeof addrs[i]) != 0) die("bind");
    if (listen(l, 4096) != 0) die("listen");
    listeners[i].fd = l;
    listeners[i].events = POLLIN;
  }
  printf("{\"listening\":true,\"perWorker\":%ld}\n", chunk);
  fflush(stdout);

  pid_t self = getpid();
  long held = 0;
  int workers = 0;
  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    long target = strtol(line, NULL, 10);
    /* One worker at a time, so a worker accepts exactly the connections it opened. */
    while (held < target) {
      long k = target - held < chunk ? target - held : chunk;
      int p[2];
      if (pipe(p) != 0) die("pipe");
      pid_t pid = fork();
      if (pid < 0) die("fork");
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the parent */
        if (getppid() != self) _exit(1);
        close(p[0]);
        hold(k);
        if (write(p[1], "k", 1) != 1) _exit(1);
        for (;;) pause();
      }
      close(p[1]);
      char c;
      if (read(p[0], &c, 1) != 1) {
        fprintf(stderr, "gauges-load: worker %d failed\n", pid);
        return 1;
      }
      close(p[0]);
      held += k;
      workers++;
    }
    printf("{\"connections\":%ld,\"workers\":%d}\n", held, workers);
    fflush(stdout);
  }
  return 0; /* stdin closed: the workers die with us */
}
`;

/** Compiles the generator into `dir`. */
export async function buildLoad(dir: string): Promise<string> {
  const src = `${dir}/${LOAD_BIN_NAME}.c`;
  const bin = `${dir}/${LOAD_BIN_NAME}`;
  await writeFile(src, SOURCE);
  try {
    await execFileAsync("cc", ["-O2", "-Wall", "-o", bin, src]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT")
      throw new Error("no C compiler: `cc` is needed to build the socket load generator");
    throw new Error(`cc failed to build ${src}:\n${e.stderr ?? e.message}`);
  }
  return bin;
}

export interface SocketLoad {
  /** Holds `connections` ESTABLISHED connections in total (only grows). */
  hold(connections: number): Promise<void>;
  /** TCP sockets in the load netns as `ss -Htan` lists them (listeners + both ends of every connection). */
  countSockets(): Promise<number>;
  /** Listening sockets the generator holds. */
  listeners: number;
}

/** Starts the generator in `pod` (its netns gets a wide ephemeral port range first). */
export async function startLoad(bin: string, pod: Pod, cleanup: Cleanup, ports = 4): Promise<SocketLoad> {
  await exec(pod, ["sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=10000 65000"]);
  const child = spawn("ip", ["netns", "exec", pod.netns, bin, "127.0.0.1", "5000", String(ports)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  // `ip netns exec` execs the generator in place: the signal reaches it directly.
  cleanup.add(`socket load in ${pod.netns}`, async () => {
    child.stdin?.end();
    await stopChild(child, "SIGKILL", 1000);
  });
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> })[
    Symbol.asyncIterator
  ]();
  const next = async (what: string): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error(`socket load in ${pod.netns} exited before printing ${what}`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  await next("listening");
  return {
    listeners: ports,
    async hold(connections: number) {
      child.stdin?.write(`${connections}\n`);
      const got = Number((await next("connections")).connections);
      if (got < connections) throw new Error(`socket load: ${got} of ${connections} connections held`);
    },
    async countSockets() {
      const out = await exec(pod, ["ss", "-Htan"], { timeoutMs: 60_000 });
      return out.split("\n").filter(Boolean).length;
    },
  };
}
