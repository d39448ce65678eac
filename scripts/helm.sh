#!/usr/bin/env bash
# Installs helm (the chart tests' tool) at /usr/local/bin/helm from the Go module proxy, built like helm's own
# Makefile does: with its version and the Kubernetes version of its client-go stamped in (a plain `go install`
# leaves Kubernetes v1.20 as `helm template`'s default cluster version). Reused when that version is there.
# Usage: bash scripts/helm.sh   (run by scripts/prerequisites.sh's require_deploy_test_tools)
set -euo pipefail

HELM_VERSION=v3.22.0
HELM_K8S_MAJOR=1
HELM_K8S_MINOR=37 # client-go v0.37 in helm v3.22.0's go.mod
HELM_BIN=/usr/local/bin/helm

if [ -x "$HELM_BIN" ] && "$HELM_BIN" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; then
  exit 0
fi
[ -x /usr/local/go/bin/go ] && PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "tcpstate: helm is missing and so is Go to build it (apt-get install golang-go, or Go from go.dev)" >&2; exit 2; }
echo "tcpstate: installing helm $HELM_VERSION at $HELM_BIN (go install, about a minute)" >&2
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  ldflags+=" -X $pkg.k8sVersionMajor=$HELM_K8S_MAJOR -X $pkg.k8sVersionMinor=$HELM_K8S_MINOR"
done
(cd /tmp && GOBIN=$(dirname "$HELM_BIN") CGO_ENABLED=0 go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >&2 ||
  { echo "tcpstate: go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed" >&2; exit 2; }
"$HELM_BIN" version --template '{{.Version}}' | grep -qx "$HELM_VERSION" || { echo "tcpstate: $HELM_BIN is not helm $HELM_VERSION after installing it" >&2; exit 2; }
