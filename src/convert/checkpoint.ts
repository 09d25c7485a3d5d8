// Open a Hugging Face checkpoint folder, whatever its weight layout: `model.safetensors`, sharded
// safetensors (`model.safetensors.index.json`), `pytorch_model.bin` (torch.save's zip), or sharded
// `.bin` (`pytorch_model.bin.index.json`). Safetensors win when both exist, as transformers
// prefers them. Tensors are read one at a time by positioned reads; the files are never loaded.

import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSafeRelativeName, resolveInside } from '../util/safe-path.js';
import { parseJsonText } from '../util/json-text.js';
import { LIMITS } from './readers/limits.js';
import { openSafetensors, type TensorSource } from './readers/safetensors.js';
import { openTorchZip } from './readers/torch-zip.js';
import { bytesToF32 } from './readers/to-f32.js';
import { CheckpointError, numel, type CheckpointReader, type TensorInfo } from './readers/types.js';

export { CheckpointError, DTYPE_BYTES, numel } from './readers/types.js';
export type { CheckpointFailure, CheckpointReader, TensorDtype, TensorInfo } from './readers/types.js';

type Opener = (path: string, file: string) => Promise<TensorSource>;

interface Layout {
  index: string;
  single: string;
  format: 'safetensors' | 'torch';
  open: Opener;
}

const LAYOUTS: readonly Layout[] = [
  { index: 'model.safetensors.index.json', single: 'model.safetensors', format: 'safetensors', open: openSafetensors },
  { index: 'pytorch_model.bin.index.json', single: 'pytorch_model.bin', format: 'torch', open: openTorchZip },
];

export async function openCheckpoint(dir: string): Promise<CheckpointReader> {
  for (const l of LAYOUTS) {
    if (existsSync(join(dir, l.index))) return openSharded(dir, l);
    if (existsSync(join(dir, l.single))) return combine(dir, l.format, [l.single], [await l.open(inside(dir, l.single), l.single)]);
  }
  throw new CheckpointError(
    'no-weights',
    `${dir} holds no weights the converter reads: expected ${LAYOUTS.flatMap((l) => [l.single, l.index]).join(', ')}`,
    { file: dir },
  );
}

/** `dir`/`file`, refused unless it stays inside `dir` once links are resolved. */
function inside(dir: string, file: string): string {
  try {
    return resolveInside(dir, file, 'weight file');
  } catch (err) {
    throw new CheckpointError('unsafe-name', `${file}: ${(err as Error).message}`, { file });
  }
}

/** Read an index file's weight_map ({tensor: shard file}); every shard name is checked. */
export async function readWeightMap(path: string, file: string): Promise<Record<string, string>> {
  const bytes = await stat(path).then((s) => s.size, () => 0);
  if (bytes > LIMITS.indexBytes) {
    throw new CheckpointError('too-large', `${file}: ${bytes} bytes, more than an index may have (${LIMITS.indexBytes})`, { file });
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CheckpointError('bad-header', `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { file });
  }
  const parsed = parseJsonText(text, (why) => new CheckpointError('bad-header', `${file}: not a readable index: ${why}`, { file }));
  const map = (typeof parsed === 'object' && parsed !== null ? (parsed as { weight_map?: unknown }).weight_map : undefined);
  if (typeof map !== 'object' || map === null || Array.isArray(map) || Object.values(map).some((v) => typeof v !== 'string')) {
    throw new CheckpointError('bad-header', `${file}: no "weight_map" of tensor name → shard file`, { file });
  }
  for (const [tensor, shard] of Object.entries(map as Record<string, string>)) {
    try {
      assertSafeRelativeName(shard, `shard (for tensor ${JSON.stringify(tensor.length > 200 ? `${tensor.slice(0, 200)}…` : tensor)})`);
    } catch (err) {
      throw new CheckpointError('unsafe-name', `${file}: ${(err as Error).message}`, { file, tensor });
    }
  }
  return map as Record<string, string>;
}

async function openSharded(dir: string, l: Layout): Promise<CheckpointReader> {
  const map = await readWeightMap(inside(dir, l.index), l.index);
  const shards = [...new Set(Object.values(map))].sort();
  for (const shard of shards) {
    if (!existsSync(inside(dir, shard))) {
      const tensor = Object.keys(map).find((k) => map[k] === shard)!;
      throw new CheckpointError('missing-shard', `${l.index} names shard ${shard} (holding "${tensor}" and others), which is not in ${dir}`, { file: shard, tensor });
    }
  }
  const sources: TensorSource[] = [];
  try {
    for (const shard of shards) sources.push(await l.open(inside(dir, shard), shard));
    for (const [tensor, shard] of Object.entries(map)) {
      const src = sources.find((s) => s.file === shard)!;
      if (!src.tensors.has(tensor)) {
        throw new CheckpointError('missing-tensor', `${l.index} puts "${tensor}" in ${shard}, which does not hold it`, { file: shard, tensor });
      }
    }
  } catch (err) {
    await Promise.all(sources.map((s) => s.close()));
    throw err;
  }
  return combine(dir, l.format, [l.index, ...shards], sources, map);
}

function combine(
  dir: string,
  format: 'safetensors' | 'torch',
  files: string[],
  sources: TensorSource[],
  map?: Record<string, string>,
): CheckpointReader {
  const owner = new Map<string, TensorSource>();
  for (const s of sources) {
    for (const name of s.tensors.keys()) {
      // With an index, the index decides which shard holds a name; extra copies are ignored.
      if (map && map[name] !== undefined && map[name] !== s.file) continue;
      if (!owner.has(name)) owner.set(name, s);
    }
  }
  const get = (name: string): [TensorSource, TensorInfo] => {
    const s = owner.get(name);
    if (!s) throw new CheckpointError('missing-tensor', `${files.join(', ')} (in ${dir}) hold no tensor "${name}"`, { file: files[0], tensor: name });
    return [s, s.tensors.get(name)!];
  };
  return {
    dir,
    format,
    files,
    list: () => [...owner.keys()].sort().map((n) => get(n)[1]),
    has: (name) => owner.has(name),
    info: (name) => get(name)[1],
    readBytes: async (name) => get(name)[0].readBytes(name),
    async readF32(name) {
      const [s, info] = get(name);
      if (info.dtype === 'F32') {
        // Straight into the result's memory: no second copy of the largest tensors.
        const out = new Float32Array(numel(info.shape));
        await s.readBytes(name, new Uint8Array(out.buffer));
        return out;
      }
      return bytesToF32(await s.readBytes(name), info.dtype);
    },
    async close() {
      await Promise.all(sources.map((s) => s.close()));
    },
  };
}
