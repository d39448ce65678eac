# syntax=docker/dockerfile:1
# tcpstate: one image for `tcpstate agent` (the node DaemonSet) and `tcpstate collector`.
#   docker build -t tcpstate .        (podman: podman build -t tcpstate .)
# The agent runs as root (the chart sets runAsUser 0: bpftrace loads kernel programs); everything else runs as
# the image's non-root user `tcpstate` (uid 10001).

ARG NODE_IMAGE=docker.io/library/node:22-bookworm-slim

# Build: all dependencies, compile TypeScript.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# Runtime: Node LTS on Debian, bpftrace and the tools the agent runs (ss from iproute2, nsenter from
# util-linux) from Debian.
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bpftrace iproute2 util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 tcpstate \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin tcpstate
WORKDIR /opt/tcpstate
ENV NODE_ENV=production
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
      org.opencontainers.image.base.name="docker.io/library/node:22-bookworm-slim"
EXPOSE 8080 9464
ENTRYPOINT ["tcpstate"]
CMD ["--help"]
