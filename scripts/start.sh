#!/usr/bin/env bash
# The README's main-job line: the agent on this host, standalone (no Kubernetes, no NATS needed).
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh
require_root
require_node
apt_install bpftrace bpftrace
apt_install ip iproute2
require_tracefs
require_btf
require_node_modules
npm run --silent build >&2 || die "build failed"
exec node dist/cli/main.js agent --standalone "$@"
