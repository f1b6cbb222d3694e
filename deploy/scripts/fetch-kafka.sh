#!/usr/bin/env bash
# fetch-kafka.sh — fetch Apache Kafka (broker and its runtime dependencies)
# from Maven Central with Maven, once, into a cache outside the repository.
#
# Prints the directory holding the jars (the class path) on stdout, and
# nothing else: callers do LIBS="$(deploy/scripts/fetch-kafka.sh)".
#
# Logging matches the Apache Kafka binary distribution: log4j2 behind the
# SLF4J 1.x API that Kafka's POMs declare (slf4j-api 1.7.36), bound through
# log4j-slf4j-impl. (log4j-slf4j2-impl would need slf4j-api 2.x and leaves
# the broker on SLF4J's no-op logger, i.e. with no log at all.)
#
# The cache is keyed by the generated POM: when this recipe changes, the
# cached jars are resolved again.
set -euo pipefail

VERSION="${KAFKA_VERSION:-4.4.0}"
SCALA="${KAFKA_SCALA:-2.13}"
CACHE="${STOCKFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stockflow}"
DIR="$CACHE/kafka/$VERSION"
LIBS="$DIR/libs"
LOG4J="${KAFKA_LOG4J_VERSION:-2.25.5}"

pom="$(cat <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.stockflow.test</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${SCALA}</artifactId><version>${VERSION}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>${LOG4J}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>${LOG4J}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>${LOG4J}</version></dependency>
  </dependencies>
</project>
POM
)"

if [[ -f "$DIR/.complete" && -f "$DIR/pom.xml" && "$(cat "$DIR/pom.xml")" == "$pom" ]]; then
  echo "$LIBS"
  exit 0
fi

command -v mvn >/dev/null || { echo "fetch-kafka: mvn (Apache Maven) not found on PATH" >&2; exit 1; }
command -v java >/dev/null || { echo "fetch-kafka: java not found on PATH" >&2; exit 1; }

mkdir -p "$DIR"
rm -f "$DIR/.complete"
printf '%s\n' "$pom" >"$DIR/pom.xml"
echo "fetch-kafka: resolving org.apache.kafka:kafka_${SCALA}:${VERSION} from Maven Central" >&2
tmp="$(mktemp -d "$DIR/.libs.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mvn -B -q -Dstyle.color=never -f "$DIR/pom.xml" dependency:copy-dependencies \
  -DoutputDirectory="$tmp" -DincludeScope=runtime >&2
rm -rf "$LIBS"
mv "$tmp" "$LIBS"
touch "$DIR/.complete"
jars=("$LIBS"/*.jar)
echo "fetch-kafka: ${#jars[@]} jars in $LIBS" >&2
echo "$LIBS"
