#!/usr/bin/env bash
# Builds the stockflow Grafana data source as Grafana expects it, in OUT
# (default dist/stockflow-inventory-datasource):
#
#   plugin.json, img/            the plugin's metadata and logo
#   module.js (+ .map)           the frontend (dashboards/plugin: config,
#                                query and variable editors), an AMD module
#                                built with npm: npm ci from the committed
#                                package-lock.json (npm-ci.sh), then
#                                node build.mjs.
#                                Needs Node 20 or later and npm.
#   gpx_stockflow_<os>_<arch>    the backend, for linux/amd64, linux/arm64,
#                                darwin/amd64, darwin/arm64 and
#                                windows/amd64 (.exe), or for the platforms
#                                given as arguments (linux/amd64 …)
#
# --skip-frontend (or SKIP_FRONTEND=1) builds the backend only, e.g. on a
# machine without Node; Grafana does not load the data source without
# module.js.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${OUT:-$root/dist/stockflow-inventory-datasource}"
skip_frontend="${SKIP_FRONTEND:-0}"
platforms=()
for arg in "$@"; do
	case "$arg" in
	--skip-frontend) skip_frontend=1 ;;
	-*)
		echo "build-plugin: unknown option $arg (have --skip-frontend)" >&2
		exit 2
		;;
	*) platforms+=("$arg") ;;
	esac
done
if [ ${#platforms[@]} -eq 0 ]; then
	platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64)
fi
mkdir -p "$out"
cp "$root/dashboards/plugin/plugin.json" "$out/"
cp -R "$root/dashboards/plugin/img" "$out/"

if [ "$skip_frontend" = 1 ]; then
	echo "build-plugin: frontend skipped: Grafana needs module.js to load the data source" >&2
else
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		echo "build-plugin: the frontend needs Node 20 or later and npm (or pass --skip-frontend)" >&2
		exit 1
	fi
	"$root/dashboards/plugin/npm-ci.sh"
	node "$root/dashboards/plugin/build.mjs" "$out"
fi

for p in "${platforms[@]}"; do
	os="${p%/*}" arch="${p#*/}"
	exe="gpx_stockflow_${os}_${arch}"
	[ "$os" = windows ] && exe="$exe.exe"
	(cd "$root" && CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build -trimpath -ldflags "-s -w" -o "$out/$exe" ./cmd/gpx_stockflow)
	echo "built $out/$exe" >&2
done
