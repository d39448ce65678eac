#!/usr/bin/env bash
# The README's main-job line: the whole system on this host (`tcpstate local`): agent and collector in one
# process, dashboard and API on http://127.0.0.1:8080, a live table on the terminal. `-- --demo` adds demo pods.
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh
require_agent_host
# --demo's half-open connections are raw SYNs from python3.
case " $* " in *" --demo "*) apt_install python3 python3 ;; esac
npm run --silent build >&2 || die "build failed"
exec node dist/cli/main.js local "$@"
