#!/usr/bin/env bash
# npm ci for the plugin frontend, from the committed package-lock.json, as
# deploy/scripts/build-plugin.sh and test-plugin-frontend.sh run it:
#
# - skipped when node_modules already holds this lockfile's install by this
#   Node version (npm ci always starts from an empty node_modules, a minute
#   or more for @grafana/ui's tree); FORCE_NPM_CI=1 reinstalls
# - --ignore-scripts: no dependency needs its install script (swc ships its
#   binary as a per-platform package), and it keeps the install the same
#   across npm versions
# - node_modules gets a go.mod, so the go command's ./... (go vet, go test,
#   golangci-lint) does not take the Go files some npm packages ship for
#   packages of this module
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.stockflow-lock
want="$(node -p "process.version + ' ' + require('crypto').createHash('sha256').update(require('fs').readFileSync('package-lock.json')).digest('hex')")"
if [[ "${FORCE_NPM_CI:-}" != 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
	echo "npm ci: node_modules is up to date with package-lock.json"
else
	npm ci --no-audit --no-fund --prefer-offline --ignore-scripts --loglevel=error
	echo "$want" >"$stamp"
fi
printf '// Not Go: npm packages (see ../npm-ci.sh).\nmodule node_modules\n' >node_modules/go.mod
