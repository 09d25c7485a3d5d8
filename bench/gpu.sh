#!/usr/bin/env bash
# The GPU benchmark (bench/gpu-bench.ts) on a lent GPU machine with no network: it installs
# nothing there. What it needs is prepared here by `bash bench/gpu-prepare.sh` (the built project
# with onnxruntime-node 1.29.0 and the CUDA 13 provider build of onnxruntime 1.29.0, a node binary,
# the stimuli and tokenizer) and packed by bench/gpu-pack.sh into .gpu-carry/: a gzip (or xz)
# compressed tar split into parts of at most
# 56 MiB (the device tool moves at most 64 MiB per call, working tree included), carried one per
# call onto the same warm machine. The CUDA 13 and cuDNN 9 libraries come from the machine's Python
# environment (the nvidia/*/lib folders of its pip packages), put on LD_LIBRARY_PATH here.
#
# It writes and converts a random-weight Pythia-1b-shaped checkpoint (fp32 and fp16, the scoring
# graph also in 2 parts), runs every task on CUDA in fp32 and fp16, on the CPU in fp32 (the
# reference) and as 2 chained parts on GPU 0, and prints scored tokens/s, generated tokens/s, GPU
# memory (also polled every 0.5 s: the peak) and the CUDA-vs-CPU difference and fp16 drift.
#
# Usage (the exact device calls: docs/gpu.md, and .gpu-carry/meta/CALLS):
#   bash bench/gpu.sh --receive     on the GPU machine, once per call that carried a part: checks
#                                   each part that arrived against meta/PARTS.sha256 and moves it
#                                   to .gpu-received/ (kept on the warm machine between calls);
#                                   says which parts are still missing
#   bash bench/gpu.sh [OUT_DIR]     on the GPU machine, once every part is there: reassembles the
#                                   archive (checksum), unpacks it into .gpu-payload/, checks every
#                                   file against its MANIFEST.sha256, the commands and the CUDA
#                                   libraries, and runs the benchmark (OUT_DIR default bench-gpu-out)
#   bash bench/gpu.sh --dry-run [OUT_DIR]   here: checks every part (checksum, size, working tree +
#                                   part <= 64 MiB), every command, reassembles and unpacks into a
#                                   temporary folder, checks every file, then runs the carried
#                                   benchmark on the CPU with a tiny shape. Exit 0 = ready to carry.
# Env: GPU_CARRY (.gpu-carry), GPU_RECEIVED (.gpu-received), GPU_PAYLOAD (.gpu-payload), GPU_WORK
#   (the benchmark's checkpoints and converted models, outside OUT_DIR: /tmp/gpu-bench-work),
#   GPU_BENCH_SHAPE (1b), GPU_BENCH_ITEMS (8), GPU_PYTHON (default /opt/torch/.venv/bin/python3 if
#   present, else python3), GPU_CALL_LIMIT_MIB (64).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=run
case "${1:-}" in
  --dry-run) mode=dry; shift ;;
  --receive) mode=receive; shift ;;
  -*) echo "gpu.sh: unknown option $1 (--dry-run, --receive, or an output folder)" >&2; exit 2 ;;
esac
out=${1:-bench-gpu-out}
carry=${GPU_CARRY:-.gpu-carry}
received=${GPU_RECEIVED:-.gpu-received}
payload=${GPU_PAYLOAD:-.gpu-payload}
limit_mib=${GPU_CALL_LIMIT_MIB:-64}
problems=0
say() { echo "gpu.sh: $*"; }
bad() { echo "gpu.sh: MISSING: $*" >&2; problems=$((problems + 1)); }
stop_if_bad() {
  if ((problems > 0)); then
    echo "gpu.sh: $problems problem(s); nothing was run" >&2
    exit 2
  fi
}

# Commands every mode calls (nvidia-smi: the GPU run only). xz and gzip for the archive, or
# python3's tarfile (lzma, zlib) where either is absent.
for c in sha256sum find du sort xargs tar cat mv cp cmp cut wc comm stat mktemp; do command -v "$c" >/dev/null || bad "command $c"; done
untar=tar
if ! command -v xz >/dev/null || ! command -v gzip >/dev/null; then
  if command -v python3 >/dev/null && python3 -c 'import lzma, zlib, tarfile' 2>/dev/null; then untar=python3
  else bad "commands xz and gzip (or python3 with lzma and zlib) to unpack the archive"; fi
fi

# Unpack a .tar.xz or .tar.gz archive into a folder (tar, else python3's tarfile).
unpack() {
  mkdir -p "$2"
  if [[ "$untar" == tar ]]; then tar -xf "$1" -C "$2"
  else python3 -c 'import sys, tarfile
t = tarfile.open(sys.argv[1], "r:*")
kw = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
t.extractall(sys.argv[2], **kw)' "$1" "$2"; fi
}

# The archive's name as packed (payload.tar.xz or payload.tar.gz), from ARCHIVE.sha256.
archive_name() { cut -d' ' -f3- "$1/ARCHIVE.sha256"; }

# The parts that meta/PARTS.sha256 lists, in order (names like parts/payload.tar.xz.000).
part_names() { cut -d' ' -f3- "$1/PARTS.sha256"; }

# Move every part in $carry/parts that matches its checksum into $received; drop those that do not.
receive() {
  local meta="$carry/meta"
  if [[ ! -f "$meta/PARTS.sha256" || ! -f "$meta/ARCHIVE.sha256" ]]; then
    echo "gpu.sh: $meta/PARTS.sha256 or ARCHIVE.sha256 did not arrive: name $meta in the call's carry beside the part" >&2
    exit 2
  fi
  mkdir -p "$received/parts"
  if [[ -f "$received/meta/ARCHIVE.sha256" ]] && ! cmp -s "$received/meta/ARCHIVE.sha256" "$meta/ARCHIVE.sha256"; then
    say "these parts belong to another archive than the ones received before: starting over"
    rm -rf "${received:?}/parts" "$received/meta"
    mkdir -p "$received/parts"
  fi
  mkdir -p "$received/meta"
  cp "$meta/PARTS.sha256" "$meta/ARCHIVE.sha256" "$received/meta/"
  local arrived=0 failed=0 name want got
  while read -r want name; do
    [[ -f "$carry/$name" ]] || continue
    got=$(sha256sum "$carry/$name" | cut -d' ' -f1)
    if [[ "$got" == "$want" ]]; then
      mv "$carry/$name" "$received/$name"
      arrived=$((arrived + 1))
      say "received $name (checksum ok)"
    else
      rm -f "$carry/$name"
      failed=$((failed + 1))
      echo "gpu.sh: $name arrived damaged (checksum differs): carry it again" >&2
    fi
  done < "$meta/PARTS.sha256"
  local n have=0 missing=""
  n=$(wc -l < "$meta/PARTS.sha256")
  for name in $(part_names "$meta"); do
    if [[ -f "$received/$name" ]]; then have=$((have + 1)); else missing="$missing $name"; fi
  done
  say "$have of $n part(s) here${missing:+; still to carry:$missing}"
  ((failed == 0)) || exit 1
  ((arrived > 0)) || { echo "gpu.sh: no part arrived with this call: name one of $carry/parts/… in its carry" >&2; exit 2; }
}

# Check every received part, join them, check the archive, unpack it into $2.
reassemble() {
  local from=$1 to=$2 name
  [[ -f "$from/meta/PARTS.sha256" ]] || { echo "gpu.sh: no parts received in $from (run \`bash bench/gpu.sh --receive\` in each call that carries a part; docs/gpu.md)" >&2; exit 2; }
  local missing=""
  for name in $(part_names "$from/meta"); do [[ -f "$from/$name" ]] || missing="$missing $name"; done
  if [[ -n "$missing" ]]; then
    echo "gpu.sh: part(s) not received yet:$missing (a machine started afresh holds none: carry every part again, in order)" >&2
    exit 2
  fi
  (cd "$from" && sha256sum --quiet --strict -c meta/PARTS.sha256) >&2 || { echo "gpu.sh: received parts differ from PARTS.sha256: carry them again" >&2; exit 2; }
  local arch
  arch=$(archive_name "$from/meta")
  [[ "$arch" =~ ^payload\.tar\.(xz|gz)$ ]] || { echo "gpu.sh: $from/meta/ARCHIVE.sha256 names '$arch', not payload.tar.xz or payload.tar.gz" >&2; exit 2; }
  for name in $(part_names "$from/meta"); do cat "$from/$name"; done > "$from/$arch"
  (cd "$from" && sha256sum --quiet --strict -c meta/ARCHIVE.sha256) >&2 || { echo "gpu.sh: the joined archive differs from ARCHIVE.sha256: prepare and carry it again" >&2; exit 2; }
  rm -rf "$to"
  unpack "$from/$arch" "$to"
  rm -f "$from/$arch"
}

# Every unpacked file against the payload's MANIFEST.sha256, the files the run needs, the node binary.
check_payload() {
  local p=$1 f
  if ! (cd "$p" && sha256sum --quiet --strict -c MANIFEST.sha256) >&2; then
    bad "files of $p differ from its MANIFEST.sha256 (listed above): prepare it again"
  fi
  local listed present
  listed=$(wc -l < "$p/MANIFEST.sha256")
  present=$(cd "$p" && find . -type f ! -name MANIFEST.sha256 | wc -l)
  [[ "$listed" == "$present" ]] || bad "$p holds $present files but MANIFEST.sha256 lists $listed"
  local ortbin=project/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
  for f in bin/node project/bin/pipeline.js project/dist/bench/gpu-bench.js project/node_modules/@huggingface/transformers/package.json \
    $ortbin/onnxruntime_binding.node $ortbin/libonnxruntime.so.1 $ortbin/libonnxruntime_providers_cuda.so $ortbin/libonnxruntime_providers_shared.so \
    shared/data/stimuli/crt/stimuli.csv shared/models/tiny-gpt2/tokenizer.json; do
    [[ -f "$p/$f" ]] || bad "$p/$f"
  done
  local node="$p/bin/node" ortver
  { [[ -x "$node" ]] && "$node" --version >/dev/null 2>&1; } || bad "a node binary that runs here ($node)"
  ortver=$("$node" -p 'require(process.argv[1]).version' "$(cd "$p" && pwd)/project/node_modules/onnxruntime-node/package.json" 2>/dev/null || true)
  [[ "$ortver" == 1.29.0 ]] || bad "onnxruntime-node 1.29.0 in $p (found '${ortver}')"
  say "$p: $listed files, $(du -sm "$p" | cut -f1) MiB unpacked, checksums ok"
}

# The CUDA 13 / cuDNN 9 libraries from the machine's Python environment -> $cudalibs, $missing.
find_cuda() {
  local py site d l so found
  py=${GPU_PYTHON:-$( [[ -x /opt/torch/.venv/bin/python3 ]] && echo /opt/torch/.venv/bin/python3 || command -v python3 || true)}
  cudalibs=""
  if [[ -n "$py" ]]; then
    site=$("$py" -c 'import site, sys; print("\n".join(site.getsitepackages()))' 2>/dev/null || true)
    for d in $site; do for l in "$d"/nvidia/*/lib "$d"/nvidia/cu13/lib; do [[ -d "$l" ]] && cudalibs="$cudalibs${cudalibs:+:}$l"; done; done
  fi
  missing=""
  for so in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcufft.so.12 libcurand.so.10 libcudnn.so.9; do
    found=0
    IFS=: read -ra dirs <<< "$cudalibs"
    for d in "${dirs[@]}"; do [[ -e "$d/$so" ]] && found=1; done
    ((found)) || missing="$missing $so"
  done
  say "python for CUDA libraries: ${py:-none}; nvidia/*/lib folders: ${cudalibs:-none}"
}

if [[ "$mode" == receive ]]; then
  stop_if_bad
  receive
  exit 0
fi

if [[ "$mode" == dry ]]; then
  meta="$carry/meta"
  if [[ ! -f "$meta/PARTS.sha256" ]]; then
    echo "gpu.sh: $meta/PARTS.sha256 is missing: run \`bash bench/gpu-prepare.sh\` where the npm registry is reachable, then carry $carry (docs/gpu.md)" >&2
    exit 2
  fi
  # The working tree travels with every call (tracked and untracked-not-ignored files).
  tree_b=0
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    tree_b=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
  else
    say "note: not a git checkout; the working tree's size is not counted"
  fi
  meta_b=$(du -cb "$meta" | tail -1 | cut -f1)
  n=0
  while read -r want name; do
    n=$((n + 1))
    if [[ ! -f "$carry/$name" ]]; then bad "$carry/$name (listed in PARTS.sha256)"; continue; fi
    [[ "$(sha256sum "$carry/$name" | cut -d' ' -f1)" == "$want" ]] || bad "$carry/$name matches its checksum in PARTS.sha256"
    b=$(stat -c %s "$carry/$name")
    call=$((tree_b + meta_b + b))
    if ((call > limit_mib * 1048576)); then
      bad "a call carrying $name within $limit_mib MiB (working tree $((tree_b / 1048576)) MiB + part $((b / 1048576)) MiB + meta): pack with a smaller GPU_PART_MIB"
    fi
  done < "$meta/PARTS.sha256"
  listed_parts=$(part_names "$meta" | sort)
  extra=$(cd "$carry" && find parts -type f | sort | comm -23 - <(printf '%s\n' "$listed_parts") || true)
  [[ -z "$extra" ]] || bad "only the listed parts in $carry/parts (also there: $extra)"
  [[ -f "$meta/CALLS" && "$(wc -l < "$meta/CALLS")" == "$n" ]] || bad "$meta/CALLS with one device call per part ($n)"
  stop_if_bad
  say "$carry: $n part(s), $(du -cm "$carry"/parts/* | tail -1 | cut -f1) MiB, each call (working tree $((tree_b / 1048576)) MiB + meta + one part) within $limit_mib MiB, checksums ok"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpu-dry.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # What --receive and the run do on the GPU machine, here in a temporary folder.
  mkdir -p "$tmp/received"
  cp -r "$meta" "$tmp/received/meta"
  cp -r "$carry/parts" "$tmp/received/parts"
  reassemble "$tmp/received" "$tmp/payload"
  check_payload "$tmp/payload"
  find_cuda
  [[ -z "$missing" ]] || say "CUDA libraries not found here:$missing (needed on the GPU machine only)"
  command -v nvidia-smi >/dev/null && say "nvidia-smi: $(command -v nvidia-smi)" || say "nvidia-smi: not here (called on the GPU machine only)"
  stop_if_bad
  mkdir -p "$out"
  outabs=$(cd "$out" && pwd)
  say "dry run: the carried benchmark on the CPU (mini shape, 1 item per task) …"
  (cd "$tmp/payload/project" && ../bin/node dist/bench/gpu-bench.js --device cpu --shape mini --items 1 --work "$tmp/work" --out "$outabs/gpu-bench-dry.md") > "$outabs/gpu-bench-dry.log" 2>&1 \
    || { tail -20 "$outabs/gpu-bench-dry.log" >&2; echo "gpu.sh: the carried benchmark failed on the CPU" >&2; exit 1; }
  say "the device calls, in order, back to back (a machine stays warm ~30 s after each):"
  sed 's/^/  /' "$meta/CALLS"
  say "dry run passed: every part and every unpacked file checked, every command found, the carried benchmark ran on the CPU ($outabs/gpu-bench-dry.md)"
  exit 0
fi

# The run on the GPU machine.
# Unpack once per archive: a rerun on the same warm machine reuses $payload ($payload.archive.sha256 says from which).
if [[ ! -f "$payload/MANIFEST.sha256" ]] || ! cmp -s "$received/meta/ARCHIVE.sha256" "$payload.archive.sha256"; then
  stop_if_bad
  reassemble "$received" "$payload"
  cp "$received/meta/ARCHIVE.sha256" "$payload.archive.sha256"
  say "reassembled and unpacked into $payload"
fi
check_payload "$payload"
find_cuda
[[ -z "$missing" ]] || bad "CUDA libraries$missing (in the Python environment's nvidia/*/lib)"
command -v nvidia-smi >/dev/null || bad "command nvidia-smi"
stop_if_bad

mkdir -p "$out"
outabs=$(cd "$out" && pwd)
work=${GPU_WORK:-/tmp/gpu-bench-work}
export LD_LIBRARY_PATH="$cudalibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0}
nvidia-smi --query-gpu=index,name,memory.total,memory.free,driver_version --format=csv,noheader
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 500 > "$outabs/gpu-memory.log" &
poll=$!
trap 'kill $poll 2>/dev/null || true' EXIT
set +e
(cd "$payload/project" && ../bin/node dist/bench/gpu-bench.js --device cuda --shape "${GPU_BENCH_SHAPE:-1b}" --items "${GPU_BENCH_ITEMS:-8}" --work "$work" --out "$outabs/gpu-bench.md") 2>&1 | tee "$outabs/gpu-bench.log"
rc=${PIPESTATUS[0]}
set -e
kill $poll 2>/dev/null || true
say "peak GPU memory used (polled): $(sort -n "$outabs/gpu-memory.log" | tail -1) MiB"
exit "$rc"
