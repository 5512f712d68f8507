#!/usr/bin/env bash
# Set everything up, then start the service (API + collection loop) on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TOKENIZERS_PARALLELISM=false
if [ -z "${CRYPTOSENSE_REAL_DATA:-}" ] && [ -d ../shared/data ]; then
  export CRYPTOSENSE_REAL_DATA=../shared/data
fi
exec .venv/bin/cryptosense run "$@"
