#!/usr/bin/env bash
# Create .venv and install the project with its test tools. Idempotent: a second run only
# re-installs when pyproject.toml or constraints.txt changed.
set -euo pipefail
# pip warns about each missing local index folder on these machines; that noise says nothing.
pipq() { .venv/bin/python -m pip install --quiet --progress-bar off "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  $PY -m venv .venv
fi
stamp=.venv/.cryptosense-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing dependencies (first time: a few minutes)"
  pipq --upgrade pip
  # torch first, from the pin, so nothing pulls a CUDA build.
  pipq -c constraints.txt "torch==2.13.0"
  pipq -c constraints.txt -e ".[dev]"
  echo "$want" > "$stamp"
fi
