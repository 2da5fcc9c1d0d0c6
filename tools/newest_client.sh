#!/usr/bin/env bash
# A learner's own, newer client: install the newest boto3 and PyAthena the package index has into
# a throwaway venv (not the lock) and run Athena queries against a fresh sandbox with them.
# Usage: tools/newest_client.sh   (make newest-client; CI runs it after make test)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PYTHON="${PYTHON:-python3}"
work="$(mktemp -d -t flovtrain-newest-XXXX)"
export FLOVTRAIN_HOME="$work/home"
mkdir -p "$FLOVTRAIN_HOME"
trap '$BIN/flovtrain sandbox stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade --no-cache-dir boto3 pyathena
$BIN/flovtrain sandbox start >/dev/null
eval "$($BIN/flovtrain sandbox env)"
"$work/venv/bin/python" tools/newest_client_check.py
