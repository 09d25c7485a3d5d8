#!/usr/bin/env bash
# Prepares what bench/gpu.sh needs on a GPU machine that has no network, and packs it into parts
# the device tool can carry (at most 64 MiB per call, working tree included). Run it where the npm
# registry is reachable.
#
# The payload (unpacked on the GPU machine into .gpu-payload/):
#   project/   dist/ (without its tests) and bin/ as built here, package.json, and production
#              node_modules (npm ci --omit=dev), slimmed to what Node on linux-x64 loads: no
#              onnxruntime-web (transformers.js bundles the part it uses), onnxruntime-node's
#              binaries for linux/x64 only, no source maps, type declarations or browser bundles.
#              onnxruntime-node and onnxruntime-common are 1.29.0 and onnxruntime-node's binary
#              folder also holds the CUDA 13 provider build of onnxruntime 1.29.0 (npm
#              com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9: libonnxruntime_providers_{cuda,
#              shared}.so). The CPU runtime of the project itself stays onnxruntime-node ^1.30.
#   bin/node   this machine's node binary (the GPU image is not known to have one)
#   shared/    the stimuli and tiny-gpt2's tokenizer files the benchmark reads
#   MANIFEST.sha256   every file above (written by gpu-pack.sh)
# packed by bench/gpu-pack.sh into .gpu-carry/parts/payload.tar.xz.NNN (GPU_PART_MIB, default 56)
# with .gpu-carry/meta/ (checksums, and CALLS: the device calls in order).
#
# Usage: bash bench/gpu-prepare.sh [--no-build]   (GPU_CARRY=dir to write elsewhere; downloads are
#        kept in .gpu-carry.cache/ for the next run)
set -euo pipefail
cd "$(dirname "$0")/.."
ORT=1.29.0
GPU_PKG=com.github.asus4.onnxruntime.linux-x64-gpu
GPU_VER=0.4.9
carry=${GPU_CARRY:-.gpu-carry}
shared=${BENCH_SHARED_DIR:-../shared}
cache=.gpu-carry.cache
tmp="$carry.tmp"
build=1
[[ "${1:-}" == --no-build ]] && build=0

mkdir -p "$cache/packs"
for spec in "onnxruntime-node@$ORT:onnxruntime-node-$ORT.tgz" "onnxruntime-common@$ORT:onnxruntime-common-$ORT.tgz" "$GPU_PKG@$GPU_VER:$GPU_PKG-$GPU_VER.tgz"; do
  [[ -f "$cache/packs/${spec#*:}" ]] || (cd "$cache/packs" && npm pack --silent "${spec%%:*}" >/dev/null)
done
rm -rf "$tmp"
mkdir -p "$tmp/gpu" "$tmp/payload/project" "$tmp/payload/bin" "$tmp/payload/shared/data" "$tmp/payload/shared/models/tiny-gpt2"
tar -xzf "$cache/packs/$GPU_PKG-$GPU_VER.tgz" -C "$tmp/gpu"
# The provider build must be onnxruntime $ORT: its README names the version it was built from.
grep -q "ONNX Runtime: \[$ORT\]" "$tmp/gpu/package/README.md" || { echo "gpu-prepare.sh: $GPU_PKG@$GPU_VER is not the onnxruntime $ORT provider build (see its README)" >&2; exit 2; }

((build)) && npm run build >/dev/null
p="$tmp/payload/project"
mkdir -p "$p/dist"
cp -r bin package.json package-lock.json "$p/"
for d in dist/*; do [[ "$d" == dist/test ]] || cp -r "$d" "$p/dist/"; done
(cd "$p" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
for pkg in onnxruntime-node onnxruntime-common; do
  rm -rf "$p/node_modules/$pkg"
  mkdir -p "$p/node_modules/$pkg"
  tar -xzf "$cache/packs/$pkg-$ORT.tgz" -C "$p/node_modules/$pkg" --strip-components=1
done
nm="$p/node_modules"
# Slimming: what Node on linux-x64 never loads. (gpu.sh --dry-run runs the carried benchmark from
# the unpacked payload, so anything removed here that was needed fails there.)
rm -rf "$nm/onnxruntime-web" "$nm/.package-lock.json"
find "$nm/onnxruntime-node/bin/napi-v6" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
find "$nm/onnxruntime-node/bin/napi-v6/linux" -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
find "$nm/@huggingface/transformers/dist" -type f ! -name transformers.node.mjs -delete
rm -rf "$nm/@huggingface/transformers/types" "$nm/@huggingface/transformers/src"
find "$nm" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' -o -name '*.markdown' \) -delete
bin="$nm/onnxruntime-node/bin/napi-v6/linux/x64"
cp "$tmp/gpu/package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so" "$tmp/gpu/package/Plugins/Linux/x64/libonnxruntime_providers_shared.so" "$bin/"

cp "$(command -v node)" "$tmp/payload/bin/node"
cp -r "$shared/data/stimuli" "$tmp/payload/shared/data/"
for f in config.json tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json; do
  cp "$shared/models/tiny-gpt2/$f" "$tmp/payload/shared/models/tiny-gpt2/"
done
bash bench/gpu-pack.sh "$tmp/payload" "$carry"
rm -rf "$tmp"
echo "gpu-prepare.sh: $carry ready; check it with: bash bench/gpu.sh --dry-run (docs/gpu.md lists the device calls)"
