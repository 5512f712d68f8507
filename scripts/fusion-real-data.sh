#!/usr/bin/env bash
# The fusion figures of the README, from the real data, in one command:
#
#   scripts/fusion-real-data.sh [DATA_DIR] [REAL_DATA]
#
# DATA_DIR (default var/fusion-real-data) should be fresh: a SQLite store is built there
# (CRYPTOSENSE_DB__URL is ignored, so no configured database is touched). REAL_DATA (default
# $CRYPTOSENSE_REAL_DATA, else ../shared/data) holds the Bitstamp exports, the daily on-chain
# files and the crypto-news archive (its README describes them). Every step goes through the
# project's own commands: the price importer (it repairs the swapped volume columns), the
# on-chain importer, the news backfill, `score` with the project's sentiment model (on a
# fresh data dir without CRYPTOSENSE_SENTIMENT__TRAIN_DATA: the quick seed model, trained in
# about 1.5 minutes), `index rebuild`, then the walk-forward with the ablation on BTC daily,
# ETH daily and BTC hourly. Rerunning on the same directory stores nothing twice and gives
# the same cards (each run says when its card is identical to an earlier one).
#
# It ends with the Markdown table the README quotes, also written to
# DATA_DIR/fusion/figures.md; the cards are in DATA_DIR/fusion/reports.
set -euo pipefail

DATA_DIR=${1:-var/fusion-real-data}
REAL=${2:-${CRYPTOSENSE_REAL_DATA:-../shared/data}}
PYTHON=${PYTHON:-.venv/bin/python}

for f in market/ohlcv/bitstamp_btcusd_1h.csv market/ohlcv/bitstamp_btcusd_1d.csv \
    market/ohlcv/bitstamp_ethusd_1d.csv market/onchain/btc_daily_2016_2022.csv \
    market/onchain/eth_daily_2016_2022.csv sentiment/cryptonews_2021_2022.csv; do
    if [ ! -f "$REAL/$f" ]; then
        echo "fusion-real-data: $REAL/$f is missing (give the real-data folder as the second argument)" >&2
        exit 2
    fi
done
if [ -e "$DATA_DIR/cryptosense.db" ]; then
    echo "fusion-real-data: $DATA_DIR already holds a store; continuing on it (every step is idempotent)" >&2
fi

export CRYPTOSENSE_DATA_DIR=$DATA_DIR
export CRYPTOSENSE_DB__URL=
cs() {
    echo "+ cryptosense $*" >&2
    "$PYTHON" -m cryptosense -q "$@"
}
began=$(date +%s)

cs import prices "$REAL/market/ohlcv/bitstamp_btcusd_1h.csv" --exchange bitstamp --pair BTC/USD --timeframe 1h >/dev/null
cs import prices "$REAL/market/ohlcv/bitstamp_btcusd_1d.csv" --exchange bitstamp --pair BTC/USD --timeframe 1d >/dev/null
cs import prices "$REAL/market/ohlcv/bitstamp_ethusd_1d.csv" --exchange bitstamp --pair ETH/USD --timeframe 1d >/dev/null
cs import onchain "$REAL/market/onchain/btc_daily_2016_2022.csv" --asset BTC >/dev/null
cs import onchain "$REAL/market/onchain/eth_daily_2016_2022.csv" --asset ETH >/dev/null
cs backfill "$REAL/sentiment/cryptonews_2021_2022.csv" --format news-csv --source cryptonews \
    --delimiter ';' --date-format '%d-%m-%Y %H:%M' --no-progress
cs score
cs index rebuild
for market in "BTC 1d" "ETH 1d" "BTC 1h"; do
    set -- $market
    cs fusion backtest --asset "$1" --timeframe "$2"
done
mkdir -p "$DATA_DIR/fusion"
cs fusion report --table | tee "$DATA_DIR/fusion/figures.md"
echo "fusion-real-data: done in $(( $(date +%s) - began )) s; cards in $DATA_DIR/fusion/reports" >&2
