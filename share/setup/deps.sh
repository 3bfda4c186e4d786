#!/usr/bin/env bash
# Install what qscope needs to build and test on Debian 12 (run as root).
# Idempotent: packages already present are skipped quickly; the npm runtimes
# used by the interop tests go into share/setup/node_modules (not committed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

pkgs=(build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
      libncurses-dev libcsv-dev libgsl-dev libcmocka-dev
      protobuf-c-compiler libprotobuf-c-dev libonnx-dev libonnx-testdata
      libzip-dev libjansson-dev zlib1g-dev
      python3 python3-numpy python3-onnx tmux nodejs git parallel time strace
      flatbuffers-compiler)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Independent runtimes for interop tests (offline-installable from npm).
if [ "${QSCOPE_SKIP_NPM:-0}" != 1 ] && command -v npm >/dev/null; then
  if [ ! -d "$here/node_modules/onnxruntime-node" ]; then
    (cd "$here" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent \
       onnxruntime-node@1.30.0 >/dev/null 2>&1) ||
      echo "deps.sh: onnxruntime-node not installed; ONNX interop tests will be skipped" >&2
  fi
  # The TFLite runtime compiled to WASM (runs under Node, no browser).
  if [ ! -d "$here/node_modules/@tensorflow/tfjs-tflite/wasm" ]; then
    (cd "$here" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent \
       @tensorflow/tfjs-tflite@0.0.1-alpha.10 >/dev/null 2>&1) ||
      echo "deps.sh: @tensorflow/tfjs-tflite not installed; TFLite runtime tests will be skipped" >&2
  fi
fi

# llama.cpp's gguf-py (GGUF reader, writer, reference quantizers) for the GGUF
# interop tests: only the git bundle inside node-llama-cpp is taken (npm pack,
# no install, no binaries), cloned into vendor/ (git-ignored; not inside
# node_modules/, where a later npm install would remove it as extraneous).
gguf_py="$here/vendor/llama.cpp-gguf"
if [ "${QSCOPE_SKIP_NPM:-0}" != 1 ] && command -v npm >/dev/null && command -v git >/dev/null &&
   [ ! -f "$gguf_py/gguf-py/gguf/__init__.py" ]; then
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && npm pack --silent node-llama-cpp@3.22.1 >/dev/null 2>&1 &&
        tar xzf node-llama-cpp-3.22.1.tgz package/llama/gitRelease.bundle &&
        mkdir -p "$here/vendor" && rm -rf "$gguf_py" &&
        git clone -q package/llama/gitRelease.bundle "$gguf_py" 2>/dev/null); then
    rm -rf "$gguf_py"
    echo "deps.sh: gguf-py not fetched; GGUF interop tests will be skipped" >&2
  fi
  rm -rf "$tmp"
fi
