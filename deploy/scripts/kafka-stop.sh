#!/usr/bin/env bash
# kafka-stop.sh — stop the test broker started by kafka-start.sh and remove
# its state directory. Safe to call when nothing runs (exits 0).
#
# Sends SIGTERM (Kafka shuts down cleanly), waits KAFKA_STOP_TIMEOUT seconds
# (default 30), then SIGKILL. Set KAFKA_KEEP_STATE=1 to keep the state
# directory (config, data and logs) for a post-mortem.
set -euo pipefail

# shellcheck source=deploy/scripts/kafka-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka-env.sh"

log() { echo "kafka-stop: $*" >&2; }

TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

if pid="$(kafka_pid)"; then
  t0=$SECONDS
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after ${TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  log "stopped in $((SECONDS - t0))s"
else
  log "no broker running from $KAFKA_STATE_DIR"
fi

if [[ "${KAFKA_KEEP_STATE:-0}" == 1 ]]; then
  rm -f "$KAFKA_PID_FILE" "$KAFKA_ENV_FILE"
  [[ -d "$KAFKA_STATE_DIR" ]] && log "kept $KAFKA_STATE_DIR"
elif [[ -f "$KAFKA_MARKER" ]]; then
  rm -rf "$KAFKA_STATE_DIR"
elif [[ -e "$KAFKA_STATE_DIR" ]]; then
  log "left $KAFKA_STATE_DIR alone: it was not made by kafka-start.sh"
fi
exit 0
