#!/usr/bin/env bash
# Re-execute notebooks for storage exactly as nbval replays them: a private sandbox, one reset
# (and re-seed) per notebook, static widgets, the Agg backend, cwd = the notebook's folder.
# Usage: tools/store_outputs.sh [NOTEBOOK ...]   (default: notebooks/*.ipynb solutions/*.ipynb)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export FLOVTRAIN_HOME="${FLOVTRAIN_OUTPUTS_HOME:-$(mktemp -d -t flovtrain-outputs-XXXX)}"
export FLOVTRAIN_STATIC_WIDGETS=1 MPLBACKEND=Agg
unset FLOVTRAIN_BACKEND FLOVTRAIN_AWS_ACCOUNT
trap '$BIN/flovtrain sandbox stop >/dev/null' EXIT
$BIN/flovtrain sandbox start >/dev/null
eval "$($BIN/flovtrain sandbox env)"
if [ "$#" -eq 0 ]; then set -- notebooks/*.ipynb solutions/*.ipynb; fi
for nb in "$@"; do
  $BIN/flovtrain sandbox reset >/dev/null
  rm -rf "$FLOVTRAIN_HOME/environment"  # as conftest.py: no clones from earlier notebooks' runs
  start=$(date +%s.%N)
  $BIN/jupyter nbconvert --log-level=WARN --to notebook --execute --inplace "$nb"
  printf '%-50s %6.1f s\n' "$nb" "$(echo "$(date +%s.%N) - $start" | bc)"
done
