# syntax=docker/dockerfile:1
# tcpstate: one image for `tcpstate agent` (the node DaemonSet) and `tcpstate collector`.
#   docker build -t tcpstate .        (podman: podman build -t tcpstate .)
# The agent runs as root (the chart sets runAsUser 0: bpftrace loads kernel programs); everything else runs as
# the image's non-root user `tcpstate` (uid 10001).
# Size: every node pulls this image, so the runtime root is Debian plus exactly what runs (Node, bpftrace and the
# libraries it loads, ss, nsenter), pruned and copied into an empty image (see the `system` stage).

ARG NODE_IMAGE=docker.io/library/node:22-bookworm-slim
ARG DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim

# Build: all dependencies, compile TypeScript.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only, without what Node never loads: type declarations, source maps, TypeScript
# sources, docs, packages' own tests, examples and benchmarks, and native addons built for the Bare runtime
# (tar-fs's optional bare-fs; under Node it resolves `fs`). Licence files stay.
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
      -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.md' -o -name '*.markdown' -o -name '*.bare' \) \
      ! -iname 'LICEN[CS]E*' -delete \
 && find node_modules -type d \( -name test -o -name tests -o -name __tests__ -o -name example -o -name examples \
      -o -name benchmark -o -name benchmarks \) -prune -exec rm -rf {} +

# The runtime root: Debian with Node's binary, Debian's bpftrace and the tools the agent runs (ss from iproute2,
# nsenter from util-linux, tail and env from coreutils, sh from dash). Pruned in the same RUN, so nothing deleted
# here is shipped (the next stage copies this root into an empty image):
# - apt's downloaded packages and lists, docs (copyright files stay), man pages, locales: nothing reads them.
# - libclang-cpp14: a Depends of Debian's bpftrace that the binary never loads (it links libclang-14.so, which
#   has clang built in); bpftrace needs no clang headers either: the probes use kernel types from BTF only.
# - Node's debug symbols (strip): 18 MB that only a native debugger reads; JavaScript stack traces are unchanged.
# - Packages that only install, configure or log in (apt and its TLS stack, dpkg's perl and debconf, login,
#   passwd and PAM modules, e2fsprogs, bash, gzip, …): purged through dpkg, so its status file, which image
#   scanners read, lists exactly what ships. dpkg stays for that reason, tar for `kubectl cp`, sh is dash.
# - Files no program here loads: glibc's iconv modules, libbcc (bpftrace links libbcc_bpf only), ICU's i18n/io/test
#   libraries (libxml2, loaded by LLVM, links libicuuc only), two plugins whose libraries are not installed:
#   Kerberos SPAKE pre-authentication (libcrypto: Node has its own OpenSSL) and tc's ATM qdisc (libatm, never was).
# The build fails here if any program, library or plugin left lacks a library it links (what ldd does, without
# bash), or if bpftrace, ss, nsenter or node no longer start.
FROM ${NODE_IMAGE} AS node
FROM ${DEBIAN_IMAGE} AS system
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      bpftrace iproute2 util-linux coreutils ca-certificates binutils \
 && strip --strip-unneeded /usr/local/bin/node \
 && DEBIAN_FRONTEND=noninteractive apt-get purge -y --auto-remove binutils \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old \
 && groupadd --system --gid 10001 tcpstate \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin tcpstate \
 && purge() { dpkg --purge --force-remove-essential --force-remove-protected --force-depends "$@" >/tmp/purge.log 2>&1 \
      || { cat /tmp/purge.log; exit 1; }; } \
 && purge util-linux-extra libpam-modules libpam-modules-bin libpam-runtime login passwd adduser \
      e2fsprogs logsave libext2fs2 libss2 libsemanage2 libsemanage-common libsepol2 \
 && purge apt libapt-pkg6.0 gpgv debian-archive-keyring libgnutls30 libnettle8 libhogweed6 libp11-kit0 libtasn1-6 \
      libunistring2 libidn2-0 openssl libssl3 libclang-cpp14 \
 && purge diffutils gzip hostname ncurses-bin init-system-helpers sysvinit-utils debconf perl-base bash \
 && rm -rf /tmp/purge.log /var/log/* /var/cache/debconf /usr/lib/x86_64-linux-gnu/gconv /usr/lib/x86_64-linux-gnu/libbcc.so.* \
      /usr/lib/x86_64-linux-gnu/libicui18n.so.* /usr/lib/x86_64-linux-gnu/libicuio.so.* /usr/lib/x86_64-linux-gnu/libicut*.so.* \
      /usr/lib/x86_64-linux-gnu/krb5/plugins/preauth/spake.so /usr/lib/x86_64-linux-gnu/tc/q_atm.so \
 && find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete \
 && find /usr/share/doc -mindepth 1 -type d -empty -delete \
 && rm -rf /usr/share/man/* /usr/share/info/* /usr/share/locale/* /usr/share/lintian /usr/share/linda \
 && ldconfig \
 && missing=$(find / -xdev -type f \( -perm -0100 -o -name '*.so*' \) -exec sh -c \
      'for f; do LD_TRACE_LOADED_OBJECTS=1 /lib64/ld-linux-x86-64.so.2 "$f" 2>/dev/null | grep -q "=> not found" && echo "$f"; done; true' sh {} +) \
 && { [ -z "$missing" ] || { echo "missing libraries for: $missing"; exit 1; }; } \
 && bpftrace --version && ss -V && nsenter --version && node --version

# Runtime: the pruned root as one layer, the application on top (a new revision ships only the layers below it).
FROM scratch AS runtime
COPY --from=system / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_ENV=production
WORKDIR /opt/tcpstate
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/dist ./dist
COPY --from=build /src/agent/probe/*.bt ./agent/probe/
RUN ln -s /opt/tcpstate/dist/cli/main.js /usr/local/bin/tcpstate && chmod 0755 dist/cli/main.js && tcpstate --help >/dev/null
USER 10001:10001
# Labels last: a new revision reuses every layer above.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="tcpstate" \
      org.opencontainers.image.description="Per-pod TCP connection churn, TIME_WAIT and SYN_RECV for Kubernetes, from bpftrace: node agent and collector" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/tcpstate/tcpstate" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
EXPOSE 8080 9464
ENTRYPOINT ["tcpstate"]
CMD ["--help"]
