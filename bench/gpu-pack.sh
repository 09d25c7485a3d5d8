#!/usr/bin/env bash
# Packs a prepared GPU payload folder into parts small enough for the device tool, which moves at
# most 64 MiB per call (the working tree and every carried path together): one gzip- (or xz-) compressed tar of
# the folder, split into parts of at most GPU_PART_MIB MiB, each carried by its own call onto the
# same warm machine (bench/gpu.sh --receive keeps them there) and reassembled by bench/gpu.sh.
#
# Usage: bash bench/gpu-pack.sh PAYLOAD_DIR CARRY_DIR
#   PAYLOAD_DIR  the files to carry (bin/node, project/, shared/); a MANIFEST.sha256 listing every
#                file in it is written into it first (gpu.sh checks it after unpacking)
#   CARRY_DIR    written afresh: parts/payload.tar.xz.NNN (or .tar.gz.NNN) and meta/ (PARTS.sha256: each part;
#                ARCHIVE.sha256: the whole archive; CALLS: the device calls, one per line)
# Env: GPU_PART_MIB (default 56: the working tree travels too, ~3 MiB; bench/gpu.sh --dry-run
#      checks tree + part <= 64 MiB), GPU_PACK_COMPRESS (gz, default: ~40 CPU s for the real payload;
#      or xz: fewer bytes and parts, ~10x the CPU), XZ_OPT (default -9 -T0); gzip runs at -9.
set -euo pipefail
src=${1:?usage: gpu-pack.sh PAYLOAD_DIR CARRY_DIR}
dst=${2:?usage: gpu-pack.sh PAYLOAD_DIR CARRY_DIR}
part_mib=${GPU_PART_MIB:-56}
comp=${GPU_PACK_COMPRESS:-gz}
case "$comp" in
  xz) squeeze() { xz ${XZ_OPT:--9 -T0} -c; } ;;
  gz) squeeze() { gzip -9 -n -c; } ;;
  *) echo "gpu-pack.sh: GPU_PACK_COMPRESS must be xz or gz, got '$comp'" >&2; exit 2 ;;
esac
arch=payload.tar.$comp
[[ "$part_mib" =~ ^[1-9][0-9]*$ ]] || { echo "gpu-pack.sh: GPU_PART_MIB must be a positive whole number of MiB, got '$part_mib'" >&2; exit 2; }
[[ -d "$src" ]] || { echo "gpu-pack.sh: $src is not a folder" >&2; exit 2; }

rm -rf "$dst"
mkdir -p "$dst"
(cd "$src" && rm -f MANIFEST.sha256 && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$dst/MANIFEST.tmp"
mv "$dst/MANIFEST.tmp" "$src/MANIFEST.sha256"
mkdir -p "$dst/parts" "$dst/meta"
# Sorted names and fixed owners/times: the same payload packs to the same archive.
tar -C "$src" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - . | squeeze > "$dst/$arch"
(cd "$dst" && sha256sum "$arch" > meta/ARCHIVE.sha256)
split -b "${part_mib}M" -d -a 3 "$dst/$arch" "$dst/parts/$arch."
rm "$dst/$arch"
(cd "$dst" && sha256sum parts/* > meta/PARTS.sha256)
n=$(wc -l < "$dst/meta/PARTS.sha256")
# One device call per part, in order; the last also runs the benchmark (see docs/gpu.md).
: > "$dst/meta/CALLS"
i=0
for p in "$dst"/parts/*; do
  i=$((i + 1))
  rel=${dst%/}/parts/$(basename "$p")
  if ((i < n)); then
    echo "carry=[\"${dst%/}/meta\", \"$rel\"] command=\"bash bench/gpu.sh --receive\"" >> "$dst/meta/CALLS"
  else
    echo "carry=[\"${dst%/}/meta\", \"$rel\"] command=\"bash bench/gpu.sh --receive && bash bench/gpu.sh \$OUT\"" >> "$dst/meta/CALLS"
  fi
done
echo "gpu-pack.sh: $(wc -l < "$src/MANIFEST.sha256") files ($(du -sm "$src" | cut -f1) MiB) -> $n part(s) of at most $part_mib MiB in $dst/parts ($(du -cm "$dst"/parts/* | tail -1 | cut -f1) MiB)"
