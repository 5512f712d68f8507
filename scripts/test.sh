#!/usr/bin/env bash
# Set everything up, then run lint, types and the whole test suite (all tiers).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# No HF_HUB_OFFLINE here: the hub tests need the hub client's online code path (pointed at a
# hub served from 127.0.0.1); tests that want offline behaviour set it themselves, and the
# project never needs the real hub.
unset HF_HUB_OFFLINE TRANSFORMERS_OFFLINE
export TOKENIZERS_PARALLELISM=false
# Third-party data for the extra tests, when it lies beside the checkout.
if [ -z "${CRYPTOSENSE_REAL_DATA:-}" ] && [ -d ../shared/data ]; then
  export CRYPTOSENSE_REAL_DATA=../shared/data
fi
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
