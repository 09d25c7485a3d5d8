// Which files of a transformers.js model folder a dtype needs. The suffixes are transformers.js's
// own (DEFAULT_DTYPE_SUFFIX_MAPPING), so a folder fetched here loads with `{ dtype }` unchanged.

import { FetchError } from './errors.js';

export const DTYPE_SUFFIX: Readonly<Record<string, string>> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

export const DEFAULT_DTYPE = 'fp32';

/** Files every model folder must have, and those copied only when present. */
const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
const OPTIONAL = ['generation_config.json', 'special_tokens_map.json'];

export function dtypeSuffix(dtype: string): string {
  const suffix = DTYPE_SUFFIX[dtype];
  if (suffix === undefined) {
    throw new FetchError('bad-spec', `unknown dtype "${dtype}"; use one of ${Object.keys(DTYPE_SUFFIX).join(', ')}`);
  }
  return suffix;
}

/** The dtypes whose ONNX weights appear in a listing (to say what *is* available). */
export function availableDtypes(files: readonly string[]): string[] {
  const set = new Set(files);
  return Object.entries(DTYPE_SUFFIX)
    .filter(([, suffix]) => set.has(`onnx/model${suffix}.onnx`))
    .map(([dtype]) => dtype);
}

/**
 * Select the files the dtype needs from a listing of repo-relative paths (posix separators).
 * `what` names the model/revision in the error when a required file is missing.
 */
export function selectModelFiles(files: readonly string[], dtype: string, what: string): string[] {
  const suffix = dtypeSuffix(dtype);
  const set = new Set(files);
  const onnx = `onnx/model${suffix}.onnx`;
  const missing = [...REQUIRED, onnx].filter((f) => !set.has(f));
  if (missing.length > 0) {
    const dtypes = availableDtypes(files);
    const hint = set.has(onnx) || dtypes.length === 0
      ? ''
      : `; ONNX weights exist for dtype ${dtypes.join(', ')} (set dtype: in the model's declaration)`;
    throw new FetchError('file-not-found', `${what} lacks ${missing.join(', ')} needed for dtype ${dtype}${hint}`);
  }
  // External data: model.onnx_data, model.onnx_data_1, ... (transformers.js names them so).
  const external = files.filter((f) => f.startsWith(`${onnx}_data`)).sort();
  return [...REQUIRED, ...OPTIONAL.filter((f) => set.has(f)), onnx, ...external];
}

export type ModelLayout = 'onnx' | 'pytorch';

export interface FetchSelection {
  layout: ModelLayout;
  files: string[];
}

/** Tokenizer and generation files copied beside PyTorch weights when present. */
const CHECKPOINT_OPTIONAL = ['generation_config.json', 'special_tokens_map.json', 'added_tokens.json'];
const SAFETENSORS_SHARD = /^model-\d+-of-\d+\.safetensors$/;
const BIN_SHARD = /^pytorch_model-\d+-of-\d+\.bin$/;

/** True when the listing holds a transformers.js export (`onnx/model<suffix>.onnx`, any dtype). */
export function hasOnnxExport(files: readonly string[]): boolean {
  return availableDtypes(files).length > 0;
}

/**
 * The PyTorch weights conversion needs, in transformers' order of preference: sharded
 * safetensors (index + shards), `model.safetensors`, sharded `.bin` (index + shards),
 * `pytorch_model.bin`. Never flax/tf/gguf/ONNX files. Null when there are none.
 */
export function selectCheckpointWeights(files: readonly string[]): string[] | null {
  const set = new Set(files);
  // save_pretrained names shards model-0000N-of-0000M; an index beside differently named shards
  // takes every top-level file of that format (the reader then checks them against the index).
  const shards = (re: RegExp, fallback: RegExp): string[] => {
    const named = files.filter((f) => re.test(f));
    return (named.length > 0 ? named : files.filter((f) => fallback.test(f))).sort();
  };
  const stShards = shards(SAFETENSORS_SHARD, /^[^/]+\.safetensors$/);
  if (set.has('model.safetensors.index.json') && stShards.length > 0) return ['model.safetensors.index.json', ...stShards];
  if (set.has('model.safetensors')) return ['model.safetensors'];
  const binShards = shards(BIN_SHARD, /^pytorch_model[^/]*\.bin$/);
  if (set.has('pytorch_model.bin.index.json') && binShards.length > 0) return ['pytorch_model.bin.index.json', ...binShards];
  if (set.has('pytorch_model.bin')) return ['pytorch_model.bin'];
  return null;
}

/**
 * What to fetch of a model revision: its transformers.js ONNX export when it has one (the dtype's
 * files, as selectModelFiles), else the PyTorch checkpoint conversion reads (config, tokenizer,
 * weights). A listing with neither fails naming what was looked for.
 */
export function selectFetchFiles(files: readonly string[], dtype: string, what: string): FetchSelection {
  if (hasOnnxExport(files)) return { layout: 'onnx', files: selectModelFiles(files, dtype, what) };
  dtypeSuffix(dtype);
  const weights = selectCheckpointWeights(files);
  if (!weights) {
    throw new FetchError('file-not-found',
      `${what} has neither a transformers.js ONNX export (onnx/model${DTYPE_SUFFIX[dtype]}.onnx) nor PyTorch weights `
      + '(model.safetensors, model-0000N-of-0000M.safetensors + model.safetensors.index.json, pytorch_model.bin, '
      + 'pytorch_model-0000N-of-0000M.bin + pytorch_model.bin.index.json)');
  }
  const set = new Set(files);
  const missing = REQUIRED.filter((f) => !set.has(f));
  if (missing.length > 0) {
    throw new FetchError('file-not-found', `${what} has PyTorch weights but lacks ${missing.join(', ')} needed to load the converted model`);
  }
  return { layout: 'pytorch', files: [...REQUIRED, ...CHECKPOINT_OPTIONAL.filter((f) => set.has(f)), ...weights] };
}
