#!/usr/bin/env bash
# `cryptosense ask --json` timed end to end (process start, model load, tools, LLM, check)
# on two stores built from scratch: the historical data (dated headlines backfilled and scored,
# Bitstamp prices, on-chain) asked as of dates inside it, and the offline demo.
#
#   benchmarks/bench_ask.sh [WORK_DIR] [REAL_DATA]
#
# Prints one line per question: seconds, first token, kind, LLM calls, groundedness,
# citations. WORK_DIR (default var/bench-ask) is wiped first.
set -uo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-var/bench-ask}
REAL=${2:-${CRYPTOSENSE_REAL_DATA:-../shared/data}}
PYTHON=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false CRYPTOSENSE_DB__URL=
unset CRYPTOSENSE_SENTIMENT__LABELLED_DIR CRYPTOSENSE_SENTIMENT__TRAIN_DATA
rm -rf "$WORK"; mkdir -p "$WORK"
cs() { "$PYTHON" -m cryptosense -q "$@"; }

ask() {
    local began ended rc
    began=$(date +%s.%N)
    cs ask "$@" --json >"$WORK/answer.json" 2>"$WORK/ask.err"
    rc=$?
    ended=$(date +%s.%N)
    "$PYTHON" - "$rc" "$began" "$ended" "$1" "$WORK" <<'PY'
import json, re, sys
rc, began, ended, question, work = sys.argv[1:]
try:
    a = json.load(open(f"{work}/answer.json"))
except ValueError:
    print(f"rc={rc} {question!r}: no answer; {open(f'{work}/ask.err').read()[-300:]}")
    sys.exit()
ttft = next((m.group(1) for n in a.get("notes", []) if (m := re.search(r"first token ([\d.]+) s", n))), "-")
print(f"{float(ended) - float(began):5.1f} s  first token {ttft:>5} s  {a['kind']:<18} "
      f"llm_calls={a['llm_calls']} grounded={a['groundedness']:.2f} citations={len(a['citations'])}  {question}")
PY
}

export CRYPTOSENSE_DATA_DIR="$WORK/historical"
cs import prices "$REAL/market/ohlcv/bitstamp_btcusd_1h.csv" --exchange bitstamp --pair BTC/USD --timeframe 1h >/dev/null
cs import prices "$REAL/market/ohlcv/bitstamp_ethusd_1d.csv" --exchange bitstamp --pair ETH/USD --timeframe 1d >/dev/null
cs import onchain "$REAL/market/onchain/btc_daily_2016_2022.csv" --asset BTC >/dev/null
cs backfill "$REAL/sentiment/cryptonews_2021_2022.csv" --format news-csv --source cryptonews \
    --delimiter ';' --date-format '%d-%m-%Y %H:%M' --no-progress >/dev/null
cs score >/dev/null 2>&1 && cs index rebuild >/dev/null
echo "historical store:"
ask "How is sentiment on BTC this week and what is driving it?" --asof 2022-05-12T12:00Z
ask "How risky is BTC right now?" --asof 2022-06-14T00:00Z
ask "Compare BTC and ETH sentiment" --asof 2022-05-12T12:00Z

export CRYPTOSENSE_DATA_DIR="$WORK/demo"
"$PYTHON" -m cryptosense run --demo on --port 8017 >"$WORK/demo-run.log" 2>&1 &
pid=$!
for _ in $(seq 1 90); do
    sleep 5
    curl -sf http://127.0.0.1:8017/healthz | grep -q '"model_version":"' && break
done
sleep 20  # one more pipeline step: scored and indexed
kill "$pid"; wait "$pid" 2>/dev/null
echo "demo store:"
ask "How is sentiment on BTC this week and what is driving it?"
ask "What is driving Ethereum sentiment today?"
ask "How risky is ETH right now?"
