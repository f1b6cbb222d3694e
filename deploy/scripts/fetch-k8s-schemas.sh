#!/usr/bin/env bash
# fetch-k8s-schemas.sh — cache the Kubernetes JSON schemas that
# deploy/k8s_test.go validates the kustomize manifests against.
#
# The schemas come from the PyPI package kubernetes-validate, which bundles
# the strict ("additionalProperties": false) JSON schemas generated from
# the Kubernetes OpenAPI documents, one directory per Kubernetes release.
# pip only downloads the wheel (nothing is installed, Python does not run
# it); the wheel's SHA-256 is checked and one release's strict schemas are
# unpacked into the cache.
#
# Prints the absolute path of the schema directory on stdout (and nothing
# else), so callers can do:
#   export STOCKFLOW_K8S_SCHEMAS="$(deploy/scripts/fetch-k8s-schemas.sh)"
set -euo pipefail

PKG_VERSION="${K8S_VALIDATE_VERSION:-1.37.0}"
SHA256="${K8S_VALIDATE_SHA256:-85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9}"
KUBE="${K8S_SCHEMA_VERSION:-v1.37.0}"
CACHE="${STOCKFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stockflow}"
SUBDIR="$KUBE-local-strict"
DIR="$CACHE/k8s-schemas/$SUBDIR"

if [[ -s "$DIR/_definitions.json" && -s "$DIR/deployment-apps-v1.json" ]]; then
  echo "$DIR"
  exit 0
fi

if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "fetch-k8s-schemas: python3 -m pip is missing (needed to download kubernetes-validate from PyPI): install python3-pip" >&2
  exit 1
fi

mkdir -p "$CACHE/k8s-schemas"
tmp="$(mktemp -d "$CACHE/k8s-schemas/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "fetch-k8s-schemas: downloading kubernetes-validate $PKG_VERSION from PyPI" >&2
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  -d "$tmp" "kubernetes-validate==$PKG_VERSION" >&2
whl="$(find "$tmp" -maxdepth 1 -name 'kubernetes_validate-*.whl' | head -n1)"
if [[ -z "$whl" ]]; then
  echo "fetch-k8s-schemas: pip downloaded no kubernetes_validate wheel" >&2
  exit 1
fi
got="$(sha256sum "$whl" | cut -d' ' -f1)"
if [[ "$got" != "$SHA256" ]]; then
  echo "fetch-k8s-schemas: checksum mismatch for $(basename "$whl"): got $got, want $SHA256" >&2
  exit 1
fi
python3 - "$whl" "$tmp/out" "kubernetes_validate/kubernetes-json-schema/$SUBDIR/" <<'EOF'
import os, sys, zipfile
whl, out, prefix = sys.argv[1:]
n = 0
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        if name.startswith(prefix) and name.endswith(".json"):
            dst = os.path.join(out, os.path.basename(name))
            os.makedirs(out, exist_ok=True)
            with z.open(name) as src, open(dst, "wb") as f:
                f.write(src.read())
            n += 1
if n == 0:
    sys.exit("fetch-k8s-schemas: no schemas under " + prefix + " in " + whl)
EOF
rm -rf "$DIR"
mv "$tmp/out" "$DIR"
echo "fetch-k8s-schemas: cached $DIR ($(find "$DIR" -name '*.json' | wc -l) schemas)" >&2
echo "$DIR"
