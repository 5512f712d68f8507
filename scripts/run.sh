#!/usr/bin/env bash
# Set everything up, then start the service (API + collection loop) on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TOKENIZERS_PARALLELISM=false
if [ -z "${CRYPTOSENSE_REAL_DATA:-}" ] && [ -d ../shared/data ]; then
  export CRYPTOSENSE_REAL_DATA=../shared/data
fi
# Labelled text, when it lies beside the checkout: the service starts on the seed model within
# a minute and trains the crypto model (finance tweets, crypto headlines, self-tagged crypto
# posts) from these in the background.
labelled=${CRYPTOSENSE_REAL_DATA:-}/sentiment
if [ -z "${CRYPTOSENSE_SENTIMENT__LABELLED_DIR:-}" ] && [ -d "$labelled" ]; then
  export CRYPTOSENSE_SENTIMENT__LABELLED_DIR=$labelled
fi
exec .venv/bin/cryptosense run "$@"
