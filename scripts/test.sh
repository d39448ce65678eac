#!/usr/bin/env bash
# The README's test line (and CI's): installs what the tests need, builds, lints, typechecks, runs every test.
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh
require_agent_host
apt_install nats-server nats-server
apt_install prometheus-alertmanager prometheus-alertmanager
apt_install python3 python3
apt_install prometheus prometheus   # a real Prometheus scrapes the collector (test/nats/query-e2e)
apt_install chromium chromium       # the dashboard in headless Chromium, driven by playwright-core
apt_install openssl openssl         # a CA and certificates for NATS over mutual TLS (test/nats/nats-secured)
require_deploy_test_tools
npm run --silent build
npx biome check .
npx tsc -p tsconfig.test.json
mkdir -p test-artifacts
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@" || status=$?
# One plain closing line any CI can read.
node -e '
  const r = require("./test-artifacts/vitest.json");
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit "$status"
