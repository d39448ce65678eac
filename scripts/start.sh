#!/usr/bin/env bash
# The README's main-job line: the agent on this host, standalone (no Kubernetes, no NATS needed).
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh
require_agent_host
npm run --silent build >&2 || die "build failed"
exec node dist/cli/main.js agent --standalone "$@"
