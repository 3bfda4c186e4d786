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
      python3 python3-numpy python3-onnx tmux nodejs git)
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
fi
