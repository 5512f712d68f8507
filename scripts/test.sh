#!/usr/bin/env bash
# Set everything up, then run lint, types and the whole test suite (all tiers).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# Third-party data for the extra tests, when it lies beside the checkout.
if [ -z "${CRYPTOSENSE_REAL_DATA:-}" ] && [ -d ../shared/data ]; then
  export CRYPTOSENSE_REAL_DATA=../shared/data
fi
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
