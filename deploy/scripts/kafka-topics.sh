#!/usr/bin/env bash
# kafka-topics.sh — Apache Kafka's kafka-topics tool (TopicCommand) run from
# the fetched jars, pointed at the broker of kafka-start.sh unless the
# arguments name --bootstrap-server.
#
#   deploy/scripts/kafka-topics.sh --list
#   deploy/scripts/kafka-topics.sh --create --topic t --partitions 3
#   deploy/scripts/kafka-topics.sh --describe --topic t
set -euo pipefail

# shellcheck source=deploy/scripts/kafka-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka-env.sh"

args=("$@")
if [[ " $* " != *" --bootstrap-server "* ]]; then
  if [[ -n "${KAFKA_BROKERS:-}" ]]; then
    bootstrap="$KAFKA_BROKERS"
  elif [[ -f "$KAFKA_ENV_FILE" ]]; then
    # shellcheck disable=SC1090
    source "$KAFKA_ENV_FILE"
    bootstrap="127.0.0.1:$KAFKA_PORT_RUNNING"
  else
    echo "kafka-topics: no broker: run kafka-start.sh, set KAFKA_BROKERS or pass --bootstrap-server" >&2
    exit 1
  fi
  args=(--bootstrap-server "$bootstrap" "${args[@]}")
fi

CP="$(kafka_classpath)"
log4j="$KAFKA_STATE_DIR/tools-log4j2.xml"
opts=()
[[ -f "$log4j" ]] && opts+=(-Dlog4j2.configurationFile="$log4j")
exec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "${opts[@]}" \
  -cp "$CP" org.apache.kafka.tools.TopicCommand "${args[@]}"
