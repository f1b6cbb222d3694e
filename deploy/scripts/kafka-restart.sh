#!/usr/bin/env bash
# kafka-restart.sh — start again a test broker that kafka-stop.sh stopped
# with KAFKA_KEEP_STATE=1: same state directory, same ports, same cluster,
# with its topics, records, committed offsets and transactions. (kafka-start.sh
# always starts a fresh broker: it clears a state directory it made.) The
# broker-restart tests use it to take the broker down under a running
# pipeline and bring it back.
#
# Usage:
#   KAFKA_KEEP_STATE=1 deploy/scripts/kafka-stop.sh
#   eval "$(deploy/scripts/kafka-restart.sh)"   # sets KAFKA_BROKERS, as before
#
# stdout carries exactly one line, KAFKA_BROKERS=127.0.0.1:PORT; progress goes
# to stderr. Settings (KAFKA_STATE_DIR, KAFKA_HEAP_OPTS, KAFKA_START_TIMEOUT):
# see kafka-env.sh. The ports are the ones in the kept server.properties.
set -euo pipefail

# shellcheck source=deploy/scripts/kafka-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka-env.sh"

log() { echo "kafka-restart: $*" >&2; }
die() { echo "kafka-restart: $*" >&2; exit 1; }

TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
PROPS="$KAFKA_STATE_DIR/server.properties"

[[ -f "$KAFKA_MARKER" && -f "$PROPS" && -d "$KAFKA_STATE_DIR/data" ]] ||
  die "no kept broker in $KAFKA_STATE_DIR (stop it with KAFKA_KEEP_STATE=1 kafka-stop.sh; start a new one with kafka-start.sh)"
if pid="$(kafka_pid)"; then
  die "the broker of $KAFKA_STATE_DIR is running (pid $pid)"
fi
command -v java >/dev/null || die "java not found on PATH (Apache Kafka 4 needs Java 17 or newer)"
CP="$(kafka_classpath)" || die "fetch-kafka.sh failed"

PORT="$(sed -nE 's#^listeners=PLAINTEXT://127\.0\.0\.1:([0-9]+),.*#\1#p' "$PROPS")"
CPORT="$(sed -nE 's#^listeners=.*CONTROLLER://127\.0\.0\.1:([0-9]+).*#\1#p' "$PROPS")"
[[ -n "$PORT" && -n "$CPORT" ]] || die "no listener ports in $PROPS"
kafka_port_busy "$PORT" && die "port $PORT is in use on 127.0.0.1"
kafka_port_busy "$CPORT" && die "controller port $CPORT is in use on 127.0.0.1"
# The SASL_PLAINTEXT listener (brokers started before it existed have none).
SPORT="$(sed -nE 's#^listeners=.*SASL_PLAINTEXT://127\.0\.0\.1:([0-9]+).*#\1#p' "$PROPS")"
if [[ -n "$SPORT" ]] && kafka_port_busy "$SPORT"; then
  die "SASL port $SPORT is in use on 127.0.0.1"
fi

probe() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$KAFKA_STATE_DIR/tools-log4j2.xml" \
    -cp "$CP" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$PORT" \
    --command-config "$KAFKA_STATE_DIR/probe.properties" --list >/dev/null
}

# The kept server.log already says "Kafka Server started": look only at what
# this start appends.
mkdir -p "$KAFKA_LOG_DIR"
touch "$KAFKA_LOG_DIR/server.log"
from=$(($(wc -l <"$KAFKA_LOG_DIR/server.log") + 1))

t0=$SECONDS
log "restarting the broker of $KAFKA_STATE_DIR on 127.0.0.1:$PORT (controller 127.0.0.1:$CPORT)"
read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
launch=(java "${heap[@]}"
  -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$KAFKA_STATE_DIR/log4j2.xml"
  -Dkafka.logs.dir="$KAFKA_LOG_DIR"
  -cp "$CP" kafka.Kafka "$PROPS")
if command -v setsid >/dev/null; then
  setsid "${launch[@]}" </dev/null >>"$KAFKA_LOG_DIR/kafka.out" 2>&1 &
else
  nohup "${launch[@]}" </dev/null >>"$KAFKA_LOG_DIR/kafka.out" 2>&1 &
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
until tail -n "+$from" "$KAFKA_LOG_DIR/server.log" 2>/dev/null | grep -q "Kafka Server started"; do
  kill -0 "$pid" 2>/dev/null || fail "the broker exited during startup (see $KAFKA_LOG_DIR)"
  ((SECONDS < deadline)) || fail "the broker did not start within ${TIMEOUT}s (KAFKA_START_TIMEOUT)"
  sleep 0.2
done
until probe 2>"$KAFKA_LOG_DIR/probe.err"; do
  kill -0 "$pid" 2>/dev/null || fail "the broker exited during startup"
  ((SECONDS < deadline)) || { cat "$KAFKA_LOG_DIR/probe.err" >&2; fail "the broker does not answer metadata requests after ${TIMEOUT}s"; }
  sleep 0.5
done

VERSION="$(sed -nE 's/.*Kafka version: ([^ ]+).*/\1/p' "$KAFKA_LOG_DIR/server.log" | tail -n1)"
cat >"$KAFKA_ENV_FILE" <<EOF
KAFKA_PORT_RUNNING=$PORT
KAFKA_CONTROLLER_PORT_RUNNING=$CPORT
KAFKA_SASL_PORT_RUNNING=$SPORT
KAFKA_VERSION_RUNNING=$VERSION
EOF
log "ready in $((SECONDS - t0))s (pid $pid, logs in $KAFKA_LOG_DIR)"
echo "kafka: Apache Kafka $VERSION (KRaft) listening again on 127.0.0.1:$PORT" >&2
echo "KAFKA_BROKERS=127.0.0.1:$PORT"
