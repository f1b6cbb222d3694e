#!/usr/bin/env bash
# fetch-tools.sh — install the pinned golangci-lint (v2) once into the cache,
# built from source with `go install` through the Go module proxy.
#
# Prints the absolute path of the golangci-lint binary on stdout (and nothing
# else), so callers can do: GOLANGCI_LINT="$(deploy/scripts/fetch-tools.sh)".
# A second call is instant: the binary is keyed by its version.
set -euo pipefail

VERSION="${GOLANGCI_LINT_VERSION:-v2.15.0}"
CACHE="${STOCKFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stockflow}"
DIR="$CACHE/tools/golangci-lint-$VERSION"
BIN="$DIR/golangci-lint"

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { echo "fetch-tools: go not found on PATH" >&2; exit 1; }
mkdir -p "$DIR"
tmp="$(mktemp -d "$DIR/.install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-tools: installing golangci-lint $VERSION (go install, takes a few minutes once)" >&2
t0=$SECONDS
# Outside the module, so the project's go.mod is neither read nor changed.
(cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$VERSION") >&2
mv "$tmp/golangci-lint" "$BIN"
echo "fetch-tools: cached $BIN in $((SECONDS - t0))s" >&2
echo "$BIN"
