#!/usr/bin/env bash
# Install onnxruntime-node's CUDA execution provider on a GPU host with network access.
#
# `npm ci` skips this download on purpose (package.json allowScripts denies onnxruntime-node's
# postinstall, so installs work offline and never fetch ~400 MB nobody without a GPU needs). This
# runs that same postinstall with ONNXRUNTIME_NODE_INSTALL=cuda12: it downloads
# Microsoft.ML.OnnxRuntime.Gpu.Linux <version of onnxruntime-node> from api.nuget.org and puts
# libonnxruntime_providers_{cuda,shared,tensorrt}.so next to onnxruntime-node's binding.
#
# The host also needs (onnxruntime 1.30, CUDA 12 build): an NVIDIA driver for CUDA 12 (>= 525),
# the CUDA 12.x runtime libraries (libcudart.so.12, libcublas(Lt).so.12, libcufft.so.11,
# libcurand.so.10) and cuDNN 9.x (libcudnn.so.9) where the dynamic loader finds them.
# `npx pipeline doctor` checks all of it afterwards.
#
# Usage: npm run install-cuda        (or: bash scripts/install-cuda.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ort_dir=$(node -e 'console.log(require("path").dirname(require.resolve("onnxruntime-node/package.json")))')
version=$(node -p 'require("onnxruntime-node/package.json").version')
bin_dir="$ort_dir/bin/napi-v6/linux/x64"
if [[ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]]; then
  echo "install-cuda: onnxruntime-node publishes its CUDA provider for linux/x64 only (this is $(uname -s)/$(uname -m))" >&2
  exit 2
fi
if [[ -f "$bin_dir/libonnxruntime_providers_cuda.so" && "${1:-}" != "--force" ]]; then
  echo "install-cuda: already installed in $bin_dir (pass --force to download again)"
else
  echo "install-cuda: onnxruntime-node $version: downloading its CUDA 12 provider from api.nuget.org"
  (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=cuda12 node ./script/install.js)
fi
ls -l "$bin_dir"/libonnxruntime_providers_*.so
node bin/pipeline.js doctor || true
