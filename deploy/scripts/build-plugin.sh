#!/usr/bin/env bash
# Builds the stockflow Grafana data source's backend as Grafana expects it:
# gpx_stockflow_<os>_<arch> next to plugin.json, in OUT (default
# dist/stockflow-inventory-datasource), for linux/amd64, linux/arm64,
# darwin/amd64, darwin/arm64 and windows/amd64 (.exe), or for the
# platforms given as arguments (linux/amd64 …).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${OUT:-$root/dist/stockflow-inventory-datasource}"
platforms=("$@")
if [ ${#platforms[@]} -eq 0 ]; then
	platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64)
fi
mkdir -p "$out"
cp "$root/dashboards/plugin/plugin.json" "$out/"
for p in "${platforms[@]}"; do
	os="${p%/*}" arch="${p#*/}"
	exe="gpx_stockflow_${os}_${arch}"
	[ "$os" = windows ] && exe="$exe.exe"
	(cd "$root" && CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build -trimpath -ldflags "-s -w" -o "$out/$exe" ./cmd/gpx_stockflow)
	echo "built $out/$exe" >&2
done
