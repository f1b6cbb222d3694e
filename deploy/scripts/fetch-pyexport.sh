#!/usr/bin/env bash
# fetch-pyexport.sh — the Python environment that reads stockflow's Parquet
# exports in the tests (internal/export) and writes them in the export
# benchmark (stockflow bench export): a venv in the cache with pinned
# pyarrow, pandas, polars and duckdb, installed once with pip from PyPI.
#
# Prints the absolute path of the venv's python on stdout (and nothing
# else): PY="$(deploy/scripts/fetch-pyexport.sh)". A second call is
# instant: the venv is keyed by the pinned versions. Fails, naming what is
# missing, when python3 (3.11 or newer), its venv module or pip is absent.
set -euo pipefail

PYARROW="${STOCKFLOW_PYARROW_VERSION:-26.0.1}"
PANDAS="${STOCKFLOW_PANDAS_VERSION:-3.1.1}"
POLARS="${STOCKFLOW_POLARS_VERSION:-2.1.0}"
DUCKDB="${STOCKFLOW_DUCKDB_VERSION:-2.0.1}"
CACHE="${STOCKFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stockflow}"
VENV="$CACHE/pyexport-venv-pyarrow$PYARROW-pandas$PANDAS-polars$POLARS-duckdb$DUCKDB"
PY="$VENV/bin/python"

if [[ -x "$PY" && -f "$VENV/.complete" ]]; then
  echo "$PY"
  exit 0
fi

PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || { echo "fetch-pyexport: $PYTHON not found on PATH (need Python 3.11+ with venv and pip)" >&2; exit 1; }
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
  { echo "fetch-pyexport: $("$PYTHON" --version 2>&1) is too old (need 3.11+ for pandas $PANDAS)" >&2; exit 1; }
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null ||
  { echo "fetch-pyexport: $PYTHON lacks the venv or ensurepip module (Debian: apt-get install python3-venv)" >&2; exit 1; }

mkdir -p "$CACHE"
rm -rf "$VENV"
echo "fetch-pyexport: creating $VENV (pip install pyarrow==$PYARROW pandas==$PANDAS polars==$POLARS duckdb==$DUCKDB, once)" >&2
t0=$SECONDS
"$PYTHON" -m venv "$VENV" >&2
"$PY" -m pip install --quiet --disable-pip-version-check \
  "pyarrow==$PYARROW" "pandas==$PANDAS" "polars==$POLARS" "duckdb==$DUCKDB" >&2 ||
  { echo "fetch-pyexport: pip install failed (is PyPI reachable?)" >&2; rm -rf "$VENV"; exit 1; }
"$PY" -c 'import pyarrow, pandas, polars, duckdb' >&2
touch "$VENV/.complete"
echo "fetch-pyexport: cached $VENV in $((SECONDS - t0))s" >&2
echo "$PY"
