#!/usr/bin/env bash
# The GPU benchmark (bench/gpu-bench.ts) on a lent GPU machine with no network: it installs
# nothing there. What it needs travels with the working tree in .gpu-carry/ (made by
# `bash bench/gpu-prepare.sh` where the npm registry is reachable): the built project with
# onnxruntime-node 1.29.0 and the CUDA 13 provider build of onnxruntime 1.29.0, a node binary, the
# stimuli and tokenizer. The CUDA 13 and cuDNN 9 libraries come from the machine's Python
# environment (the nvidia/*/lib folders of its pip packages), put on LD_LIBRARY_PATH here.
#
# It writes and converts a random-weight Pythia-1b-shaped checkpoint (fp32 and fp16, the scoring
# graph also in 2 parts), runs every task on CUDA in fp32 and fp16, on the CPU in fp32 (the
# reference) and as 2 chained parts on GPU 0, and prints scored tokens/s, generated tokens/s, GPU
# memory (also polled every 0.5 s: the peak) and the CUDA-vs-CPU difference and fp16 drift.
#
# Usage: bash bench/gpu.sh [--dry-run] [OUT_DIR]      (OUT_DIR default: bench-gpu-out)
#   --dry-run  checks every carried file against .gpu-carry/MANIFEST.sha256, every command the
#              run calls, and the CUDA libraries it would put on LD_LIBRARY_PATH (reported, not
#              required: a machine without a GPU has none), then runs the carried benchmark on the
#              CPU with a tiny shape and one item per task. Exit 0 = ready to carry.
# Env: GPU_CARRY (default .gpu-carry), GPU_BENCH_SHAPE (1b), GPU_BENCH_ITEMS (8), GPU_PYTHON
#   (default: /opt/torch/.venv/bin/python3 if present, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
dry=0
if [[ "${1:-}" == "--dry-run" ]]; then dry=1; shift; fi
out=${1:-bench-gpu-out}
carry=${GPU_CARRY:-.gpu-carry}
problems=0
say() { echo "gpu.sh: $*"; }
bad() { echo "gpu.sh: MISSING: $*" >&2; problems=$((problems + 1)); }

# 1. Commands this script and the benchmark call (nvidia-smi only on a GPU machine).
for c in sha256sum find du sort xargs; do command -v "$c" >/dev/null || bad "command $c"; done

# 2. The carried files, each against its checksum.
if [[ ! -f "$carry/MANIFEST.sha256" ]]; then
  echo "gpu.sh: $carry/MANIFEST.sha256 is missing: run \`bash bench/gpu-prepare.sh\` where the npm registry is reachable, then carry $carry" >&2
  exit 2
fi
if ! (cd "$carry" && sha256sum --quiet --strict -c MANIFEST.sha256) >&2; then
  bad "files of $carry differ from MANIFEST.sha256 (listed above): prepare it again"
fi
listed=$(wc -l < "$carry/MANIFEST.sha256")
present=$(cd "$carry" && find . -type f ! -name MANIFEST.sha256 | wc -l)
[[ "$listed" == "$present" ]] || bad "$carry holds $present files but MANIFEST.sha256 lists $listed"
ortbin=project/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
for f in bin/node project/bin/pipeline.js project/dist/bench/gpu-bench.js project/node_modules/@huggingface/transformers/package.json \
  $ortbin/onnxruntime_binding.node $ortbin/libonnxruntime.so.1 $ortbin/libonnxruntime_providers_cuda.so $ortbin/libonnxruntime_providers_shared.so \
  shared/data/stimuli/crt/stimuli.csv shared/models/tiny-gpt2/tokenizer.json; do
  [[ -f "$carry/$f" ]] || bad "$carry/$f"
done
node="$carry/bin/node"
[[ -x "$node" ]] && "$node" --version >/dev/null 2>&1 || bad "a node binary that runs here ($node)"
ortver=$("$node" -p "require('./$carry/project/node_modules/onnxruntime-node/package.json').version" 2>/dev/null || true)
[[ "$ortver" == 1.29.0 ]] || bad "onnxruntime-node 1.29.0 in $carry (found '${ortver}')"
size=$(du -sm "$carry" | cut -f1)
say "$carry: $listed files, $size MiB, checksums ok"
(( size <= 64 )) || say "note: $size MiB is over the 64 MiB that this workplace's device tool carries with a working tree (the CUDA provider library alone is ~220 MiB): bring $carry to the GPU machine another way"

# 3. The CUDA 13 / cuDNN 9 libraries from the machine's Python environment.
py=${GPU_PYTHON:-$( [[ -x /opt/torch/.venv/bin/python3 ]] && echo /opt/torch/.venv/bin/python3 || command -v python3 || true)}
cudalibs=""
if [[ -n "$py" ]]; then
  site=$("$py" -c 'import site, sys; print("\n".join(site.getsitepackages()))' 2>/dev/null || true)
  for d in $site; do for l in "$d"/nvidia/*/lib; do [[ -d "$l" ]] && cudalibs="$cudalibs${cudalibs:+:}$l"; done; done
fi
need="libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcufft.so.12 libcurand.so.10 libcudnn.so.9"
missing=""
for so in $need; do
  found=0
  IFS=: read -ra dirs <<< "$cudalibs"
  for d in "${dirs[@]}"; do [[ -e "$d/$so" ]] && found=1; done
  ((found)) || missing="$missing $so"
done
say "python for CUDA libraries: ${py:-none}; nvidia/*/lib folders: ${cudalibs:-none}"
if [[ -n "$missing" ]]; then
  if ((dry)); then say "CUDA libraries not found here:$missing (needed on the GPU machine only)"; else bad "CUDA libraries$missing (in the Python environment's nvidia/*/lib)"; fi
fi
if ((dry)); then
  command -v nvidia-smi >/dev/null && say "nvidia-smi: $(command -v nvidia-smi)" || say "nvidia-smi: not here (called on the GPU machine only)"
else
  command -v nvidia-smi >/dev/null || bad "command nvidia-smi"
fi
if ((problems > 0)); then
  echo "gpu.sh: $problems problem(s); nothing was run" >&2
  exit 2
fi

mkdir -p "$out"
cd "$carry/project"
outabs=$(cd "$OLDPWD" && mkdir -p "$out" && cd "$out" && pwd)
if ((dry)); then
  say "dry run: the carried benchmark on the CPU (mini shape, 1 item per task) …"
  "../bin/node" dist/bench/gpu-bench.js --device cpu --shape mini --items 1 --work "$outabs/work-dry" --out "$outabs/gpu-bench-dry.md" > "$outabs/gpu-bench-dry.log" 2>&1 \
    || { tail -20 "$outabs/gpu-bench-dry.log" >&2; echo "gpu.sh: the carried benchmark failed on the CPU" >&2; exit 1; }
  say "dry run passed: every carried file checked, every command found, the carried benchmark ran on the CPU ($outabs/gpu-bench-dry.md)"
  exit 0
fi

export LD_LIBRARY_PATH="$cudalibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0}
nvidia-smi --query-gpu=index,name,memory.total,memory.free,driver_version --format=csv,noheader
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 500 > "$outabs/gpu-memory.log" &
poll=$!
trap 'kill $poll 2>/dev/null || true' EXIT
set +e
"../bin/node" dist/bench/gpu-bench.js --device cuda --shape "${GPU_BENCH_SHAPE:-1b}" --items "${GPU_BENCH_ITEMS:-8}" --work "$outabs/work" --out "$outabs/gpu-bench.md" 2>&1 | tee "$outabs/gpu-bench.log"
rc=${PIPESTATUS[0]}
set -e
kill $poll 2>/dev/null || true
say "peak GPU memory used (polled): $(sort -n "$outabs/gpu-memory.log" | tail -1) MiB"
exit "$rc"
