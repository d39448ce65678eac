/*
 * churn: TCP connection churn generator for bench/agent-bench.ts (compiled at run time with cc -O2).
 *
 *   churn server <ip> <port> [nports] [workers]
 *     Listens on ports port..port+nports-1; `workers` processes accept, read until EOF and close (passive
 *     close). Prints {"listening":true} once listening and {"accepted":N} on SIGTERM/SIGINT.
 *   churn client <ip> <port> <seconds> <procs> [rate] [nports]
 *     `procs` processes each loop socket → connect → close (active close: the client ends in TIME_WAIT) for
 *     `seconds`, process i on port port + i % nports. rate > 0 paces the total to `rate` connections/s
 *     (rate/procs per process, absolute-deadline nanosleep); 0 runs flat out. Prints exact totals as JSON.
 *
 * Counters live in shared memory, one slot per process, so totals are exact without any IPC per connection.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 64
#define MAX_PORTS 64
#define MAX_ERRNO 160

struct slot {
  uint64_t ok;
  uint64_t failed;
  uint64_t socket_failed; /* socket() itself failed: no connect attempted, no transition */
  uint64_t errs[MAX_ERRNO];
};

static void die(const char *what) {
  fprintf(stderr, "churn: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void *shared(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  return p;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct sockaddr_in address(const char *ip, int port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
    fprintf(stderr, "churn: not an IPv4 address: %s\n", ip);
    exit(2);
  }
  return sa;
}

static int positive(const char *s, const char *what) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*end != '\0' || v < 0 || v > 1000000000) {
    fprintf(stderr, "churn: bad %s: %s\n", what, s);
    exit(2);
  }
  return (int)v;
}

static volatile sig_atomic_t stop_requested;
static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

/* ---- server ---- */

static void serve(int *listeners, int n, volatile uint64_t *accepted) {
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  for (int i = 0; i < n; i++) {
    /* EPOLLEXCLUSIVE: one worker wakes per new connection instead of all of them. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = -1 - i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, listeners[i], &ev) < 0) die("epoll_ctl listener");
  }
  char buf[4096];
  struct epoll_event evs[256];
  for (;;) {
    int k = epoll_wait(ep, evs, 256, -1);
    if (k < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < k; e++) {
      int fd = evs[e].data.fd;
      if (fd < 0) {
        int lfd = listeners[-1 - fd];
        for (;;) {
          int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break; /* EAGAIN: another worker took it, or the queue is empty */
          *accepted += 1;
          /* The client closes right after connecting, so EOF is usually already here. */
          ssize_t r;
          while ((r = read(c, buf, sizeof buf)) > 0) {
          }
          if (r == 0 || errno != EAGAIN) {
            close(c);
            continue;
          }
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0) close(c);
        }
      } else {
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0) {
        }
        if (r == 0 || errno != EAGAIN) close(fd); /* close also removes it from the epoll set */
      }
    }
  }
}

static int server(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: churn server <ip> <port> [nports] [workers]\n");
    return 2;
  }
  struct sockaddr_in sa = address(argv[0], positive(argv[1], "port"));
  int nports = argc > 2 ? positive(argv[2], "nports") : 1;
  int workers = argc > 3 ? positive(argv[3], "workers") : 2;
  if (nports < 1 || nports > MAX_PORTS || workers < 1 || workers > MAX_PROCS) {
    fprintf(stderr, "churn: nports 1-%d, workers 1-%d\n", MAX_PORTS, MAX_PROCS);
    return 2;
  }
  int listeners[MAX_PORTS];
  int base = ntohs(sa.sin_port);
  for (int i = 0; i < nports; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sa.sin_port = htons((uint16_t)(base + i));
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
    /* A deep accept queue: an overflow would drop the final ACK and stall the client's connect. */
    if (listen(fd, 65535) < 0) die("listen");
    listeners[i] = fd;
  }
  volatile uint64_t *counts = shared(sizeof(uint64_t) * MAX_PROCS);

  struct sigaction sact = {.sa_handler = on_stop};
  sigaction(SIGTERM, &sact, NULL);
  sigaction(SIGINT, &sact, NULL);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &old);

  pid_t pids[MAX_PROCS];
  for (int w = 0; w < workers; w++) {
    pids[w] = fork();
    if (pids[w] < 0) die("fork");
    if (pids[w] == 0) {
      signal(SIGTERM, SIG_DFL);
      signal(SIGINT, SIG_DFL);
      sigprocmask(SIG_SETMASK, &old, NULL);
      serve(listeners, nports, &counts[w]);
      _exit(0);
    }
  }
  printf("{\"listening\":true,\"port\":%d,\"ports\":%d}\n", base, nports);
  fflush(stdout);
  while (!stop_requested) sigsuspend(&old);
  /* The bench stops the server only after the client is done and the accept queues drained. */
  for (int w = 0; w < workers; w++) kill(pids[w], SIGKILL);
  for (int w = 0; w < workers; w++) waitpid(pids[w], NULL, 0);
  uint64_t total = 0;
  for (int w = 0; w < workers; w++) total += counts[w];
  printf("{\"accepted\":%llu}\n", (unsigned long long)total);
  return 0;
}

/* ---- client ---- */

static void churn_loop(struct sockaddr_in sa, uint64_t deadline, uint64_t interval_ns, struct slot *s) {
  uint64_t next = now_ns();
  for (;;) {
    uint64_t now = now_ns();
    if (now >= deadline) return;
    if (interval_ns) {
      next += interval_ns;
      if (next > now) {
        struct timespec ts = {.tv_sec = (time_t)(next / 1000000000ull), .tv_nsec = (long)(next % 1000000000ull)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
      } else if (now - next > 100000000ull) {
        next = now; /* more than 100 ms behind: do not burst to catch up */
      }
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      s->socket_failed++;
      continue;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
      s->ok++;
    } else {
      s->failed++;
      s->errs[errno < MAX_ERRNO ? errno : 0]++;
    }
    close(fd);
  }
}

static const char *errno_name(int e) {
  switch (e) {
  case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
  case ECONNREFUSED: return "ECONNREFUSED";
  case ECONNRESET: return "ECONNRESET";
  case ETIMEDOUT: return "ETIMEDOUT";
  case EAGAIN: return "EAGAIN";
  case EINTR: return "EINTR";
  case ENOBUFS: return "ENOBUFS";
  case EADDRINUSE: return "EADDRINUSE";
  case ENETUNREACH: return "ENETUNREACH";
  case EHOSTUNREACH: return "EHOSTUNREACH";
  default: return NULL;
  }
}

static int client(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: churn client <ip> <port> <seconds> <procs> [rate] [nports]\n");
    return 2;
  }
  struct sockaddr_in sa = address(argv[0], positive(argv[1], "port"));
  int seconds = positive(argv[2], "seconds");
  int procs = positive(argv[3], "procs");
  int rate = argc > 4 ? positive(argv[4], "rate") : 0;
  int nports = argc > 5 ? positive(argv[5], "nports") : 1;
  if (procs < 1 || procs > MAX_PROCS || nports < 1 || nports > MAX_PORTS) {
    fprintf(stderr, "churn: procs 1-%d, nports 1-%d\n", MAX_PROCS, MAX_PORTS);
    return 2;
  }
  struct slot *slots = shared(sizeof(struct slot) * (size_t)procs);
  uint64_t interval_ns = rate > 0 ? 1000000000ull * (uint64_t)procs / (uint64_t)rate : 0;
  uint64_t start = now_ns();
  uint64_t deadline = start + (uint64_t)seconds * 1000000000ull;
  int base = ntohs(sa.sin_port);
  pid_t pids[MAX_PROCS];
  for (int p = 0; p < procs; p++) {
    pids[p] = fork();
    if (pids[p] < 0) die("fork");
    if (pids[p] == 0) {
      struct sockaddr_in target = sa;
      target.sin_port = htons((uint16_t)(base + p % nports));
      churn_loop(target, deadline, interval_ns, &slots[p]);
      _exit(0);
    }
  }
  for (int p = 0; p < procs; p++) waitpid(pids[p], NULL, 0);
  double elapsed = (double)(now_ns() - start) / 1e9;

  uint64_t ok = 0, failed = 0, socket_failed = 0, errs[MAX_ERRNO] = {0};
  for (int p = 0; p < procs; p++) {
    ok += slots[p].ok;
    failed += slots[p].failed;
    socket_failed += slots[p].socket_failed;
    for (int e = 0; e < MAX_ERRNO; e++) errs[e] += slots[p].errs[e];
  }
  printf("{\"ok\":%llu,\"failed\":%llu,\"socketFailed\":%llu,\"seconds\":%.3f,\"errors\":{",
         (unsigned long long)ok, (unsigned long long)failed, (unsigned long long)socket_failed, elapsed);
  const char *sep = "";
  for (int e = 0; e < MAX_ERRNO; e++) {
    if (!errs[e]) continue;
    const char *name = errno_name(e);
    if (name) printf("%s\"%s\":%llu", sep, name, (unsigned long long)errs[e]);
    else printf("%s\"errno%d\":%llu", sep, e, (unsigned long long)errs[e]);
    sep = ",";
  }
  printf("}}\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "server") == 0) return server(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "client") == 0) return client(argc - 2, argv + 2);
  fprintf(stderr, "usage: churn server <ip> <port> [nports] [workers]\n"
                  "       churn client <ip> <port> <seconds> <procs> [rate] [nports]\n");
  return 2;
}
