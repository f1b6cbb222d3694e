#!/usr/bin/env bash
# shellcheck disable=SC2317 # the steps are functions called through step()
# test.sh — the whole test suite, exactly as `make test` and CI (.ci/run) run
# it, on a fresh machine or a developer's:
#
#   1. host tools (ensure-deps.sh), then in parallel: golangci-lint, libchdb.so
#      (the embedded ClickHouse engine), the Apache Kafka jars, the
#      Kubernetes JSON schemas (deploy/k8s_test.go), Go modules, the
#      Grafana plugin frontend's npm packages (dashboards/plugin/npm-ci.sh)
#   2. go vet (plain and with -tags integration)
#   3. golangci-lint
#   4. go test ./...  (unit, kfake, embedded ClickHouse)
#   5. the plugin frontend: tsc, jest and the AMD build
#      (test-plugin-frontend.sh)
#   6. a short fuzz run of the event decoder
#   7. a real Apache Kafka broker (kafka-start.sh), then
#      go test -tags integration -run Integration -count=1 -p 1 -timeout 25m ./...
#      against it (including the crash, rebalance, broker-restart and
#      three-instance scale-out harness)
#   8. the broker is stopped whatever happened (trap), a summary is printed,
#      and the exit status is non-zero if any step failed.
#
# Every step runs even if an earlier one failed, so one run shows every
# problem. Tests append the engines they ran against to $STOCKFLOW_TEST_REPORT,
# printed at the end under "== engines used ==".
#
# Environment (optional):
#   FUZZTIME        fuzz budget (default 400000x executions, about 15 s
#                   here). A count, not a duration: with a duration Go 1.26's
#                   fuzz coordinator can report a spurious "context deadline
#                   exceeded" at the deadline (go.dev/issue/75804, fixed in
#                   Go 1.27), which failed CI once with no crasher written.
#   GO_TEST_FLAGS   extra flags for both go test runs (e.g. -race, -v)
#   STOCKFLOW_STATE scratch root (default /tmp/stockflow); the broker of this
#                   run lives in its own directory below it, on a free port,
#                   so concurrent runs do not collide
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SCRIPTS="$PWD/deploy/scripts"

export STOCKFLOW_STATE="${STOCKFLOW_STATE:-/tmp/stockflow}"
mkdir -p "$STOCKFLOW_STATE"
RUN_DIR="$(mktemp -d "$STOCKFLOW_STATE/test-run.XXXXXX")"
export KAFKA_STATE_DIR="$RUN_DIR/kafka"
unset KAFKA_PORT KAFKA_CONTROLLER_PORT # pick a free port pair
unset STOCKFLOW_KAFKA_BROKERS          # set only for the integration run
if [[ -z "${STOCKFLOW_TEST_REPORT:-}" ]]; then
  export STOCKFLOW_TEST_REPORT="$RUN_DIR/engines.txt"
fi
: >"$STOCKFLOW_TEST_REPORT"
FUZZTIME="${FUZZTIME:-400000x}"
read -r -a GO_TEST_FLAGS <<<"${GO_TEST_FLAGS:-}"

broker_started=0
cleanup() {
  local rc=$?
  if ((broker_started)); then
    "$SCRIPTS/kafka-stop.sh" || true
  fi
  rm -rf "$RUN_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

results=()
failed=0
T0=$SECONDS

# step NAME CMD... runs one step, records its status and duration, and never
# stops the script.
step() {
  local name="$1" t0=$SECONDS rc=0
  shift
  echo
  echo "== $name =="
  "$@" || rc=$?
  if ((rc == 0)); then
    results+=("$(printf '%-22s %-18s %5ss' "$name" ok $((SECONDS - t0)))")
  else
    failed=1
    results+=("$(printf '%-22s %-18s %5ss' "$name" "FAILED (exit $rc)" $((SECONDS - t0)))")
    echo "-- $name failed (exit $rc)"
  fi
  return 0
}

summary() {
  echo
  echo "== summary =="
  printf '%s\n' "${results[@]}"
  echo "total $((SECONDS - T0))s"
  echo
  echo "== engines used =="
  if [[ -s "$STOCKFLOW_TEST_REPORT" ]]; then
    sort -u "$STOCKFLOW_TEST_REPORT"
  else
    echo "(no test reported an engine to $STOCKFLOW_TEST_REPORT)"
  fi
  # A suite that ran against nothing is worth a line of its own.
  if [[ -n "${STOCKFLOW_KAFKA_BROKERS:-}" ]] && ! grep -qi kafka "$STOCKFLOW_TEST_REPORT"; then
    echo "warning: no test reported running against the Apache Kafka broker at $STOCKFLOW_KAFKA_BROKERS"
  fi
  if ! grep -qi clickhouse "$STOCKFLOW_TEST_REPORT"; then
    echo "warning: no test reported running against ClickHouse"
  fi
}

# --- 1. tools and libraries -------------------------------------------------

fetch_all() {
  local logs="$RUN_DIR/fetch" rc=0 name
  mkdir -p "$logs"
  declare -A pids
  "$SCRIPTS/fetch-tools.sh" >"$logs/tools.out" 2>"$logs/tools.err" &
  pids[golangci-lint]=$!
  "$SCRIPTS/fetch-chdb.sh" >"$logs/chdb.out" 2>"$logs/chdb.err" &
  pids[libchdb]=$!
  "$SCRIPTS/fetch-kafka.sh" >"$logs/kafka.out" 2>"$logs/kafka.err" &
  pids[kafka]=$!
  "$SCRIPTS/fetch-k8s-schemas.sh" >"$logs/k8s.out" 2>"$logs/k8s.err" &
  pids[k8s-schemas]=$!
  go mod download >"$logs/gomod.out" 2>"$logs/gomod.err" &
  pids[go-modules]=$!
  "$SCRIPTS/fetch-pyexport.sh" >"$logs/pyexport.out" 2>"$logs/pyexport.err" &
  pids[pyexport]=$!
  if command -v npm >/dev/null 2>&1; then # else the plugin frontend step names what is missing
    dashboards/plugin/npm-ci.sh >"$logs/npm.out" 2>"$logs/npm.err" &
    pids[npm]=$!
  fi
  for name in "${!pids[@]}"; do
    if ! wait "${pids[$name]}"; then
      echo "fetch: $name failed" >&2
      rc=1
    fi
  done
  cat "$logs"/*.err >&2
  GOLANGCI_LINT="$(cat "$logs/tools.out")"
  STOCKFLOW_CHDB_LIB="$(cat "$logs/chdb.out")"
  KAFKA_LIBS="$(cat "$logs/kafka.out")"
  STOCKFLOW_K8S_SCHEMAS="$(cat "$logs/k8s.out")"
  export STOCKFLOW_CHDB_LIB STOCKFLOW_K8S_SCHEMAS
  echo "golangci-lint: ${GOLANGCI_LINT:-missing}"
  echo "libchdb:       ${STOCKFLOW_CHDB_LIB:-missing}"
  echo "kafka jars:    ${KAFKA_LIBS:-missing}"
  echo "pyexport:      ${STOCKFLOW_PYEXPORT:-missing}"
  echo "k8s schemas:   ${STOCKFLOW_K8S_SCHEMAS:-missing}"
  return "$rc"
}

versions() {
  go version
  java -version 2>&1 | head -n1
  [[ -x "${GOLANGCI_LINT:-}" ]] && "$GOLANGCI_LINT" version 2>&1 | head -n1
  return 0
}

step "host tools" "$SCRIPTS/ensure-deps.sh"
if ((failed)); then
  summary
  exit 1
fi
GOLANGCI_LINT="" STOCKFLOW_CHDB_LIB="" KAFKA_LIBS="" STOCKFLOW_K8S_SCHEMAS=""
step "fetch" fetch_all
versions

# --- 2-6. static checks, unit tests, plugin frontend, fuzz ------------------

vet() {
  go vet ./... && go vet -tags integration ./... && go vet -tags chserver ./internal/store/server
}
lint() {
  [[ -x "$GOLANGCI_LINT" ]] || { echo "golangci-lint is missing (see fetch)"; return 1; }
  "$GOLANGCI_LINT" run ./...
}
unit() {
  go test "${GO_TEST_FLAGS[@]}" ./...
}
fuzz() {
  # A fuzz run that fuzzes nothing must not pass silently.
  local listed
  # Capture first: grep -q exits at the first match, and under pipefail the
  # SIGPIPE that go test then gets would fail the pipeline.
  listed="$(go test -list '^FuzzDecode$' ./internal/event)"
  if ! grep -qx FuzzDecode <<<"$listed"; then
    echo "no FuzzDecode in ./internal/event"
    return 1
  fi
  go test -run='^$' -fuzz='^FuzzDecode$' -fuzztime="$FUZZTIME" ./internal/event
}

step "go vet" vet
step "golangci-lint" lint
step "go test" unit
step "plugin frontend" "$SCRIPTS/test-plugin-frontend.sh"
step "fuzz FuzzDecode" fuzz

# --- 7. real Apache Kafka ------------------------------------------------------

start_kafka() {
  local out
  broker_started=1 # from here on, the trap stops whatever was started
  out="$("$SCRIPTS/kafka-start.sh")" || return 1
  eval "$out"
  export STOCKFLOW_KAFKA_BROKERS="$KAFKA_BROKERS"
  echo "kafka: Apache Kafka ${KAFKA_VERSION:-4.4.0} (KRaft, single node, jars from Maven Central) at $KAFKA_BROKERS, started by kafka-start.sh" >>"$STOCKFLOW_TEST_REPORT"
}
integration() {
  [[ -n "${STOCKFLOW_KAFKA_BROKERS:-}" ]] || { echo "Apache Kafka did not start (see kafka start)"; return 1; }
  # The crash, rebalance and broker-restart harness (cmd/stockflow) runs for
  # several minutes: above go test's default 10-minute limit.
  if ! go test "${GO_TEST_FLAGS[@]}" -tags integration -run Integration -count=1 -p 1 -timeout 25m ./...; then
    # shellcheck source=deploy/scripts/kafka-env.sh
    (source "$SCRIPTS/kafka-env.sh" && kafka_log_tail 40)
    return 1
  fi
}
stop_kafka() {
  broker_started=0
  "$SCRIPTS/kafka-stop.sh"
}

step "kafka start" start_kafka
step "go test integration" integration
step "kafka stop" stop_kafka

summary
exit "$failed"
