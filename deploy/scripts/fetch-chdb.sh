#!/usr/bin/env bash
# fetch-chdb.sh — download chDB's libchdb.so (the ClickHouse engine as a
# shared library) once and cache it outside the repository.
#
# The library comes from the npm registry package @chdb/lib-linux-x64-gnu,
# whose tarball is a plain HTTPS download: no Node.js is needed to unpack it.
# The tarball's SHA-1 is checked against the registry's published shasum.
#
# Prints the absolute path of libchdb.so on stdout (and nothing else), so
# callers can do: export STOCKFLOW_CHDB_LIB="$(deploy/scripts/fetch-chdb.sh)".
set -euo pipefail

VERSION="${CHDB_VERSION:-26.7.3-stable.1}"
SHA1="${CHDB_SHA1:-d2905fafd0e0ac0e231cccadd1f0f6d010977297}"
CACHE="${STOCKFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stockflow}"
DIR="$CACHE/chdb/$VERSION"
LIB="$DIR/libchdb.so"
URL="https://registry.npmjs.org/@chdb/lib-linux-x64-gnu/-/lib-linux-x64-gnu-${VERSION}.tgz"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "fetch-chdb: only linux-x86_64 is packaged by this script (got $(uname -s)-$(uname -m))" >&2; exit 1 ;;
esac

if [[ -s "$LIB" ]]; then
  echo "$LIB"
  exit 0
fi

mkdir -p "$DIR"
tmp="$(mktemp -d "$DIR/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "fetch-chdb: downloading libchdb $VERSION from the npm registry" >&2
curl -fsSL --retry 3 --retry-delay 2 -o "$tmp/pkg.tgz" "$URL"
got="$(sha1sum "$tmp/pkg.tgz" | cut -d' ' -f1)"
if [[ "$got" != "$SHA1" ]]; then
  echo "fetch-chdb: checksum mismatch for $URL: got $got, want $SHA1" >&2
  exit 1
fi
tar -xzf "$tmp/pkg.tgz" -C "$tmp"
so="$(find "$tmp" -name 'libchdb.so' -type f | head -n1)"
if [[ -z "$so" ]]; then
  echo "fetch-chdb: libchdb.so not found in $URL" >&2
  exit 1
fi
mv "$so" "$LIB.partial"
mv "$LIB.partial" "$LIB"
echo "fetch-chdb: cached $LIB ($(du -h "$LIB" | cut -f1))" >&2
echo "$LIB"
