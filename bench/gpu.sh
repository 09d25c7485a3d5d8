#!/usr/bin/env bash
# The scoring benchmark (bench/score-bench.ts) on CUDA, for a lent GPU machine: no network needed.
#
# Needs, already in place: node_modules (npm ci) with onnxruntime-node's CUDA provider
# (scripts/install-cuda.sh, run where there was network, then carried), the CUDA 12 runtime and
# cuDNN 9 on the machine, and ../shared (the stimuli and tiny-gpt2's tokenizer). It writes the
# random-weight checkpoints, converts them, runs the fast path and the scoring graph on GPU 0 in
# fp32 and fp16 (plain too with GPU_BENCH_PLAIN=1), checks their numbers agree, and prints scored
# tokens per second. Sizes as in score-bench.ts (BENCH_SCORE_ITEMS, BENCH_NEOX_*).
#
# Usage: bash bench/gpu.sh [OUT_DIR]        (OUT_DIR default: bench-gpu-out)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-gpu-out}
mkdir -p "$out"
export BENCH_SCORE_DIR=${BENCH_SCORE_DIR:-$out/work}
export BENCH_SCORE_ITEMS=${BENCH_SCORE_ITEMS:-16}
export BENCH_SCORE_DEVICE=cuda
export BENCH_SCORE_TORCH=0
export BENCH_SCORE_PATHS=${BENCH_SCORE_PATHS:-$([[ "${GPU_BENCH_PLAIN:-0}" == 1 ]] && echo plain,fast,graph || echo fast,graph)}
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0}

[[ -d node_modules ]] || { echo "gpu.sh: node_modules is missing: run npm ci (and npm run install-cuda) where there is network" >&2; exit 2; }
[[ -f dist/bench/score-bench.js ]] || npx tsc -p tsconfig.json
nvidia-smi --query-gpu=index,name,memory.total,memory.free,driver_version --format=csv,noheader || true
if ! node bin/pipeline.js doctor; then
  echo "gpu.sh: this machine cannot score on its GPUs (see the fixes above)" >&2
  exit 2
fi
for dtype in fp32 fp16; do
  echo "== scoring benchmark on CUDA, $dtype (paths: $BENCH_SCORE_PATHS, $BENCH_SCORE_ITEMS items per task)"
  BENCH_SCORE_DTYPE=$dtype node dist/bench/score-bench.js --out "$out/bench-gpu-$dtype.md" 2>&1 | tee "$out/bench-gpu-$dtype.log"
  grep -h "scored tokens per second" "$out/bench-gpu-$dtype.md" | sed "s/^/$dtype: /"
done
