#!/usr/bin/env bash
# kafka-start.sh — start a real Apache Kafka broker for tests: single node,
# KRaft combined mode (broker + controller in one JVM), loopback only, fresh
# data in a state directory, running from the jars fetched by fetch-kafka.sh.
#
# Usage:
#   eval "$(deploy/scripts/kafka-start.sh)"   # sets KAFKA_BROKERS
#   export STOCKFLOW_KAFKA_BROKERS="$KAFKA_BROKERS"
#   ...
#   deploy/scripts/kafka-stop.sh
#
# stdout carries exactly one line, KAFKA_BROKERS=127.0.0.1:PORT, so the
# output can be eval'd; progress and the "listening on" line go to stderr.
#
# Besides the PLAINTEXT listener every test uses, the broker has a
# SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) for the
# security tests, on KAFKA_SASL_PORT or a free port found above the client
# port. Its one user, KAFKA_SASL_USER (default stockflow), gets a password
# drawn at random for each fresh broker; the SCRAM credentials go into the
# cluster metadata when the storage is formatted (--add-scram, no extra
# JVM). The address and the credentials are written to sasl.env in the
# state directory (mode 600), never to stdout:
#   KAFKA_SASL_BROKERS=127.0.0.1:PORT KAFKA_SASL_USER=... KAFKA_SASL_PASSWORD=...
# Idempotent: if the broker of this state directory already runs and answers,
# it prints the same line and exits 0. Settings: see kafka-env.sh.
set -euo pipefail

# shellcheck source=deploy/scripts/kafka-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka-env.sh"

log() { echo "kafka-start: $*" >&2; }
die() { echo "kafka-start: $*" >&2; exit 1; }

TIMEOUT="${KAFKA_START_TIMEOUT:-120}"

command -v java >/dev/null || die "java not found on PATH (Apache Kafka 4 needs Java 17 or newer)"
java_major="$(java -version 2>&1 | sed -nE '1s/.*version "([0-9]+)(\.[0-9]+)*.*/\1/p')"
if [[ -n "$java_major" && "$java_major" -lt 17 ]]; then
  die "Apache Kafka 4 needs Java 17 or newer, found Java $java_major"
fi

CP="$(kafka_classpath)" || die "fetch-kafka.sh failed"
LIBS="${CP%/\*}"
clients_jar=("$LIBS"/kafka-clients-*.jar)
[[ -f "${clients_jar[0]}" ]] || die "no kafka-clients jar in $LIBS"
VERSION="${clients_jar[0]##*/kafka-clients-}"
VERSION="${VERSION%.jar}"

tools_java() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$KAFKA_STATE_DIR/tools-log4j2.xml" \
    -cp "$CP" "$@"
}

# probe asks the broker for metadata (the topic list) through the admin
# client: this proves the listener is up and the broker has joined the
# KRaft quorum and is serving requests, not merely that a port is open.
probe() {
  tools_java org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$1" \
    --command-config "$KAFKA_STATE_DIR/probe.properties" --list >/dev/null
}

announce() {
  echo "kafka: Apache Kafka $2 (KRaft) listening on 127.0.0.1:$1" >&2
  echo "KAFKA_BROKERS=127.0.0.1:$1"
}

# Already running? Reuse it.
if pid="$(kafka_pid)"; then
  [[ -f "$KAFKA_ENV_FILE" ]] || die "a broker from $KAFKA_STATE_DIR (pid $pid) is still starting or never became ready; run kafka-stop.sh first"
  # shellcheck disable=SC1090
  source "$KAFKA_ENV_FILE"
  if probe "$KAFKA_PORT_RUNNING" 2>/dev/null; then
    log "broker already running (pid $pid)"
    announce "$KAFKA_PORT_RUNNING" "$KAFKA_VERSION_RUNNING"
    exit 0
  fi
  die "a broker runs from $KAFKA_STATE_DIR (pid $pid) but does not answer on 127.0.0.1:$KAFKA_PORT_RUNNING; run kafka-stop.sh first"
fi

# Pick ports.
if [[ -n "${KAFKA_PORT:-}" ]]; then
  PORT="$KAFKA_PORT"
  CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
  kafka_port_taken "$PORT" && die "KAFKA_PORT=$PORT is already in use on 127.0.0.1"
  kafka_port_taken "$CPORT" && die "controller port $CPORT is already in use on 127.0.0.1 (set KAFKA_CONTROLLER_PORT)"
else
  PORT=""
  for ((p = 39092; p < 39292; p += 2)); do
    if ! kafka_port_taken "$p" && ! kafka_port_taken "$((p + 1))"; then
      PORT="$p"
      break
    fi
  done
  [[ -n "$PORT" ]] || die "no free port pair in 127.0.0.1:39092-39291; set KAFKA_PORT"
  CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
  [[ "$PORT" == 39092 ]] || log "port 39092 is busy, using $PORT"
fi

# The SASL listener's port: the first free one above the client port that
# is not the controller's.
if [[ -n "${KAFKA_SASL_PORT:-}" ]]; then
  SPORT="$KAFKA_SASL_PORT"
  kafka_port_taken "$SPORT" && die "KAFKA_SASL_PORT=$SPORT is already in use on 127.0.0.1"
else
  SPORT=""
  for ((p = PORT + 2; p < PORT + 200; p++)); do
    if ((p != CPORT)) && ! kafka_port_taken "$p"; then
      SPORT="$p"
      break
    fi
  done
  [[ -n "$SPORT" ]] || die "no free port for the SASL listener above $PORT; set KAFKA_SASL_PORT"
fi
SASL_USER="${KAFKA_SASL_USER:-stockflow}"
[[ "$SASL_USER" =~ ^[A-Za-z0-9_.-]+$ ]] || die "KAFKA_SASL_USER may only hold letters, digits, '_', '.' and '-'"
# URL-safe base64 without padding: nothing the JAAS line or --add-scram
# would have to quote.
SASL_PASSWORD="$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"

# Fresh state: a stale directory (no live broker) is ours to clear, but only
# if it carries our marker.
if [[ -e "$KAFKA_STATE_DIR" ]]; then
  if [[ -f "$KAFKA_MARKER" ]]; then
    rm -rf "$KAFKA_STATE_DIR"
  elif [[ -n "$(ls -A "$KAFKA_STATE_DIR" 2>/dev/null)" ]]; then
    die "$KAFKA_STATE_DIR exists, is not empty and was not made by kafka-start.sh; set KAFKA_STATE_DIR"
  fi
fi
mkdir -p "$KAFKA_STATE_DIR/data" "$KAFKA_LOG_DIR"
touch "$KAFKA_MARKER"

# Configuration from the templates in deploy/kafka/.
render() {
  local text
  text="$(<"$KAFKA_TEMPLATES/$1")"
  # Quoted replacements: no special meaning for & (bash 5.2 patsub_replacement).
  text="${text//@PORT@/"$PORT"}"
  text="${text//@CONTROLLER_PORT@/"$CPORT"}"
  text="${text//@SASL_PORT@/"$SPORT"}"
  text="${text//@SASL_USER@/"$SASL_USER"}"
  text="${text//@SASL_PASSWORD@/"$SASL_PASSWORD"}"
  text="${text//@DATA_DIR@/"$KAFKA_STATE_DIR/data"}"
  text="${text//@LOG_DIR@/"$KAFKA_LOG_DIR"}"
  printf '%s\n' "$text" >"$KAFKA_STATE_DIR/$1"
}
(umask 077 && : >"$KAFKA_STATE_DIR/server.properties") # it holds the PLAIN password
render server.properties
render log4j2.xml
render tools-log4j2.xml
# Extra broker settings, one key=value per line, for experiments.
if [[ -n "${KAFKA_EXTRA_CONFIG:-}" ]]; then
  printf '\n# KAFKA_EXTRA_CONFIG\n%s\n' "$KAFKA_EXTRA_CONFIG" >>"$KAFKA_STATE_DIR/server.properties"
fi

cat >"$KAFKA_STATE_DIR/probe.properties" <<EOF
request.timeout.ms=5000
default.api.timeout.ms=10000
EOF

# Format the log directory: a new cluster id and a standalone (single-voter,
# dynamic) controller quorum. A Kafka cluster id is 16 random bytes in
# URL-safe base64 without padding; making it here saves a JVM start. Like
# Kafka's own Uuid.randomUuid, never one starting with '-': the tool's
# argument parser would take it for an option.
cluster_id=-
while [[ "$cluster_id" == -* ]]; do
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
done
t0=$SECONDS
log "formatting $KAFKA_STATE_DIR/data (cluster id $cluster_id)"
if ! tools_java kafka.tools.StorageTool format --standalone \
  --cluster-id "$cluster_id" --config "$KAFKA_STATE_DIR/server.properties" \
  --add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$SASL_PASSWORD]" \
  --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]" \
  >"$KAFKA_LOG_DIR/format.out" 2>&1; then
  cat "$KAFKA_LOG_DIR/format.out" >&2
  die "formatting the storage failed"
fi

(umask 077 && cat >"$KAFKA_STATE_DIR/sasl.env" <<EOF
KAFKA_SASL_BROKERS=127.0.0.1:$SPORT
KAFKA_SASL_USER=$SASL_USER
KAFKA_SASL_PASSWORD=$SASL_PASSWORD
EOF
)
log "starting Apache Kafka $VERSION on 127.0.0.1:$PORT (controller 127.0.0.1:$CPORT, SASL_PLAINTEXT 127.0.0.1:$SPORT)"
read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
launch=(java "${heap[@]}"
  -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$KAFKA_STATE_DIR/log4j2.xml"
  -Dkafka.logs.dir="$KAFKA_LOG_DIR"
  -cp "$CP" kafka.Kafka "$KAFKA_STATE_DIR/server.properties")
# A session of its own: the broker outlives this script (make kafka-start)
# and does not get the terminal's Ctrl-C; it holds none of our stdio, so
# $(kafka-start.sh) returns.
if command -v setsid >/dev/null; then
  setsid "${launch[@]}" </dev/null >"$KAFKA_LOG_DIR/kafka.out" 2>&1 &
else
  nohup "${launch[@]}" </dev/null >"$KAFKA_LOG_DIR/kafka.out" 2>&1 &
fi
pid=$!
echo "$pid" >"$KAFKA_PID_FILE"

fail() {
  log "$*"
  kafka_log_tail 80
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  exit 1
}

deadline=$((SECONDS + TIMEOUT))
# 1. The process must stay up and log that startup completed.
until grep -q "Kafka Server started" "$KAFKA_LOG_DIR/server.log" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || fail "the broker exited during startup (see $KAFKA_LOG_DIR)"
  ((SECONDS < deadline)) || fail "the broker did not start within ${TIMEOUT}s (KAFKA_START_TIMEOUT)"
  sleep 0.2
done
# 2. The client listener accepts connections.
until kafka_port_busy "$PORT"; do
  kill -0 "$pid" 2>/dev/null || fail "the broker exited during startup"
  ((SECONDS < deadline)) || fail "nothing accepts connections on 127.0.0.1:$PORT after ${TIMEOUT}s"
  sleep 0.2
done
# 3. It answers metadata requests.
until probe "$PORT" 2>"$KAFKA_LOG_DIR/probe.err"; do
  kill -0 "$pid" 2>/dev/null || fail "the broker exited during startup"
  ((SECONDS < deadline)) || { cat "$KAFKA_LOG_DIR/probe.err" >&2; fail "the broker does not answer metadata requests after ${TIMEOUT}s"; }
  sleep 0.5
done

logged="$(sed -nE 's/.*Kafka version: ([^ ]+).*/\1/p' "$KAFKA_LOG_DIR/server.log" | head -n1)"
VERSION="${logged:-$VERSION}"
cat >"$KAFKA_ENV_FILE" <<EOF
KAFKA_PORT_RUNNING=$PORT
KAFKA_CONTROLLER_PORT_RUNNING=$CPORT
KAFKA_SASL_PORT_RUNNING=$SPORT
KAFKA_VERSION_RUNNING=$VERSION
EOF
log "ready in $((SECONDS - t0))s (pid $pid, logs in $KAFKA_LOG_DIR)"
announce "$PORT" "$VERSION"
