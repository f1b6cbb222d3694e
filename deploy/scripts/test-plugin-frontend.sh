#!/usr/bin/env bash
# Tests the stockflow Grafana data source's frontend (dashboards/plugin):
#
#   1. node deps: npm ci from the committed package-lock.json into
#      dashboards/plugin/node_modules (dashboards/plugin/npm-ci.sh: skipped
#      when node_modules holds this lockfile's install; FORCE_NPM_CI=1
#      reinstalls)
#   2. typecheck: tsc --noEmit
#   3. jest (jsdom): the query, config and variable editors and the data
#      source (template variables, resources, live stock)
#   4. the production build into a temporary directory: module.js must
#      exist and be an AMD module, as Grafana loads plugins
#
# Needs Node 20 or later and npm, and the npm registry (or a warm npm
# cache) for step 1. Exits non-zero, naming the step, on any failure.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/dashboards/plugin"

fail() {
	echo "test-plugin-frontend: $*" >&2
	exit 1
}

command -v node >/dev/null 2>&1 || fail "node is not installed: the plugin frontend needs Node 20 or later and npm (https://nodejs.org)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed: the plugin frontend needs Node 20 or later and npm"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || fail "node $(node --version) is too old: the plugin frontend needs Node 20 or later"
echo "node $(node --version), npm $(npm --version)"

cd "$dir"

echo "== npm ci =="
./npm-ci.sh || fail "npm ci failed in dashboards/plugin (is the npm registry reachable?)"

echo "== tsc --noEmit =="
node_modules/.bin/tsc --noEmit || fail "typecheck failed"

echo "== jest =="
node_modules/.bin/jest --ci || fail "jest failed"

echo "== build =="
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
node build.mjs "$out" || fail "build failed"
[[ -s "$out/module.js" ]] || fail "the build wrote no module.js"
[[ "$(head -c 7 "$out/module.js")" == "define(" ]] ||
	fail "module.js is not an AMD module (want it to start with define(): $(head -c 60 "$out/module.js")"
echo "module.js: $(wc -c <"$out/module.js") bytes, AMD"
