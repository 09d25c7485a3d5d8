#!/usr/bin/env bash
# Prepares what bench/gpu.sh needs on a GPU machine that has no network, into .gpu-carry/
# (ignored by git; carried beside the working tree). Run it where the npm registry is reachable.
#
#   .gpu-carry/project/   dist/ and bin/ as built here, package.json, and production node_modules
#                         (npm ci --omit=dev) in which onnxruntime-node and onnxruntime-common are
#                         1.29.0 and onnxruntime-node's binary folder also holds the CUDA 13
#                         provider build of onnxruntime 1.29.0 (npm com.github.asus4.onnxruntime.
#                         linux-x64-gpu@0.4.9: libonnxruntime_providers_{cuda,shared}.so). The CPU
#                         runtime of the project itself stays onnxruntime-node ^1.30 (package.json).
#   .gpu-carry/bin/node   this machine's node binary (a GPU image may have none)
#   .gpu-carry/shared/    the stimuli and tiny-gpt2's tokenizer files the benchmark reads
#   .gpu-carry/MANIFEST.sha256   every file above, checked by gpu.sh before it runs
#
# Usage: bash bench/gpu-prepare.sh        (GPU_CARRY=dir to write elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."
ORT=1.29.0
GPU_PKG=com.github.asus4.onnxruntime.linux-x64-gpu
GPU_VER=0.4.9
carry=${GPU_CARRY:-.gpu-carry}
shared=${BENCH_SHARED_DIR:-../shared}
tmp="$carry.tmp"

# The provider build must be onnxruntime $ORT: its README names the version it was built from.
[[ "$(npm view "onnxruntime-node@$ORT" version)" == "$ORT" ]] || { echo "gpu-prepare.sh: onnxruntime-node@$ORT is not in the registry" >&2; exit 2; }
rm -rf "$tmp"
mkdir -p "$tmp/packs" "$tmp/project" "$tmp/bin" "$tmp/shared/data" "$tmp/shared/models/tiny-gpt2"
(cd "$tmp/packs" && npm pack --silent "onnxruntime-node@$ORT" "onnxruntime-common@$ORT" "$GPU_PKG@$GPU_VER" >/dev/null)
mkdir -p "$tmp/packs/gpu"
tar -xzf "$tmp/packs/$GPU_PKG-$GPU_VER.tgz" -C "$tmp/packs/gpu"
grep -q "ONNX Runtime: \[$ORT\]" "$tmp/packs/gpu/package/README.md" || { echo "gpu-prepare.sh: $GPU_PKG@$GPU_VER is not the onnxruntime $ORT provider build (see its README)" >&2; exit 2; }

npm run build >/dev/null
cp -r dist bin package.json package-lock.json "$tmp/project/"
(cd "$tmp/project" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
for pkg in onnxruntime-node onnxruntime-common; do
  rm -rf "$tmp/project/node_modules/$pkg"
  mkdir -p "$tmp/project/node_modules/$pkg"
  tar -xzf "$tmp/packs/$pkg-$ORT.tgz" -C "$tmp/project/node_modules/$pkg" --strip-components=1
done
bin="$tmp/project/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
cp "$tmp/packs/gpu/package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so" "$tmp/packs/gpu/package/Plugins/Linux/x64/libonnxruntime_providers_shared.so" "$bin/"
rm -rf "$tmp/packs"

cp "$(command -v node)" "$tmp/bin/node"
cp -r "$shared/data/stimuli" "$tmp/shared/data/"
for f in config.json tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json; do
  cp "$shared/models/tiny-gpt2/$f" "$tmp/shared/models/tiny-gpt2/"
done
(cd "$tmp" && find . -type f ! -name MANIFEST.sha256 -print0 | sort -z | xargs -0 sha256sum > MANIFEST.sha256)
rm -rf "$carry"
mv "$tmp" "$carry"
echo "gpu-prepare.sh: $carry ready ($(du -sh "$carry" | cut -f1), $(wc -l < "$carry/MANIFEST.sha256") files); check it with: bash bench/gpu.sh --dry-run"
