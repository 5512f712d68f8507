#!/usr/bin/env bash
# Set everything up, then start the service (API + collection loop) on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TOKENIZERS_PARALLELISM=false
if [ -z "${CRYPTOSENSE_REAL_DATA:-}" ] && [ -d ../shared/data ]; then
  export CRYPTOSENSE_REAL_DATA=../shared/data
fi
# Labelled finance tweets, when they lie beside the checkout: the service starts on the seed
# model within a minute and trains the full offline model from these in the background.
tfns=${CRYPTOSENSE_REAL_DATA:-}/sentiment/tfns_train.csv
if [ -z "${CRYPTOSENSE_SENTIMENT__TRAIN_DATA:-}" ] && [ -f "$tfns" ]; then
  export CRYPTOSENSE_SENTIMENT__TRAIN_DATA=$tfns
fi
exec .venv/bin/cryptosense run "$@"
