# shellcheck shell=bash disable=SC2034 # sourced: its variables are used by the callers
# kafka-env.sh — settings shared by kafka-start.sh, kafka-stop.sh and
# kafka-topics.sh. Sourced, not executed.
#
# Environment (all optional):
#   KAFKA_PORT             client listener port (default 39092; when unset and
#                          busy, kafka-start.sh picks a free port)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port (default KAFKA_PORT+1)
#   KAFKA_SASL_PORT        SASL_PLAINTEXT listener port (default: the first free
#                          port above KAFKA_PORT+1)
#   KAFKA_SASL_USER        the SASL user (default stockflow); its random
#                          password is in $KAFKA_STATE_DIR/sasl.env
#   KAFKA_STATE_DIR        broker state: config, data, logs, pid
#                          (default ${STOCKFLOW_STATE:-/tmp/stockflow}/kafka)
#   KAFKA_HEAP_OPTS        JVM heap flags (default -Xms256m -Xmx512m)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness (default 120)
#   KAFKA_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL (default 30)
#   KAFKA_EXTRA_CONFIG     extra server.properties lines (key=value, newline-separated)
#   KAFKA_KEEP_STATE       1: kafka-stop.sh keeps the state directory
#
# The broker's configuration templates are in deploy/kafka/.

KAFKA_STATE_DIR="${KAFKA_STATE_DIR:-${STOCKFLOW_STATE:-/tmp/stockflow}/kafka}"
KAFKA_PID_FILE="$KAFKA_STATE_DIR/kafka.pid"
KAFKA_ENV_FILE="$KAFKA_STATE_DIR/kafka.env"
KAFKA_SASL_ENV_FILE="$KAFKA_STATE_DIR/sasl.env"
KAFKA_LOG_DIR="$KAFKA_STATE_DIR/logs"
# The marker proves a directory was made by kafka-start.sh, so kafka-stop.sh
# never deletes a directory it does not own.
KAFKA_MARKER="$KAFKA_STATE_DIR/.stockflow-kafka"

KAFKA_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_TEMPLATES="$(cd "$KAFKA_SCRIPTS/../kafka" && pwd)"

# kafka_pid prints the pid of the broker recorded in the pid file if that
# process is alive and is a Kafka broker started from this state dir.
kafka_pid() {
  local pid
  [[ -f "$KAFKA_PID_FILE" ]] || return 1
  pid="$(cat "$KAFKA_PID_FILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the command line must be our broker.
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"kafka.Kafka $KAFKA_STATE_DIR/server.properties"* ]] || return 1
  echo "$pid"
}

# kafka_port_busy succeeds when something accepts TCP connections on
# 127.0.0.1:$1.
kafka_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# kafka_port_taken succeeds when a broker could not bind 127.0.0.1:$1:
# something listens there, or any socket still holds the port locally (a
# connection of a broker stopped less than a minute ago in TIME_WAIT makes
# the next broker's bind fail with "Address already in use").
kafka_port_taken() {
  kafka_port_busy "$1" && return 0
  local hex
  hex="$(printf '%04X' "$1")"
  awk -v port=":$hex" 'FNR > 1 && substr($2, length($2) - 4) == port { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# kafka_classpath prints the class path of the fetched Kafka jars.
kafka_classpath() {
  local libs
  libs="$("$KAFKA_SCRIPTS/fetch-kafka.sh")" || return 1
  echo "$libs/*"
}

# kafka_log_tail prints the end of the broker's logs to stderr.
kafka_log_tail() {
  local f
  for f in "$KAFKA_LOG_DIR/server.log" "$KAFKA_LOG_DIR/kafka.out"; do
    [[ -s "$f" ]] || continue
    echo "---- last ${1:-60} lines of $f ----" >&2
    tail -n "${1:-60}" "$f" >&2
  done
}
