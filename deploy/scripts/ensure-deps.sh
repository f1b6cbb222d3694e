#!/usr/bin/env bash
# ensure-deps.sh — make sure the host tools the test suite needs are present:
# go, curl, java (17+, for the Apache Kafka broker), mvn (to fetch it), and
# node (20+) with npm for the Grafana plugin frontend.
# Missing java, mvn or curl are installed with apt-get when running as root on
# a Debian-like system (as CI does); otherwise the script says what to install.
# Prints nothing on stdout.
set -euo pipefail

log() { echo "ensure-deps: $*" >&2; }

missing=()
command -v curl >/dev/null || missing+=(curl ca-certificates)
command -v java >/dev/null || missing+=(default-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if ((${#missing[@]})); then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    log "missing: ${missing[*]}; install them (Java 17 or newer, Apache Maven, curl, Node 20 or newer with npm) and retry"
    exit 1
  fi
fi

command -v go >/dev/null || { log "go not found on PATH: install Go $(sed -nE 's/^go ([0-9.]+).*/\1/p' "$(dirname "$0")/../../go.mod") or newer"; exit 1; }

java_major="$(java -version 2>&1 | sed -nE '1s/.*version "([0-9]+)(\.[0-9]+)*.*/\1/p')"
if [[ -n "$java_major" && "$java_major" -lt 17 ]]; then
  log "Java $java_major found; Apache Kafka 4 needs Java 17 or newer"
  exit 1
fi
