// convert-model: a fetched Hugging Face PyTorch checkpoint (config, tokenizer, safetensors or
// .bin weights) → an ONNX model folder transformers.js loads like any export (decoder with past
// key/values, weights once in external data) plus the project's scoring graph (onnx/score.onnx).
// The conversion itself is src/convert/convert.ts; this kind wires it to the engine. A folder
// that already is a transformers.js export (fetch-model's ONNX layout) passes through unchanged.
//
// Key: the checkpoint folder's digest (its input), the converter's code (src/convert/**) and the
// params (dtype, scoring parts). A revision is converted once per commit: its fetch output's
// digest only changes when the commit's files do.
//
// Plan time: the checkpoint's config.json, where it is already on disk (path:, mirror, or the hub
// cache that fetch-model's plan fills), must name a supported architecture; an unknown model_type
// or a remote-code model fails here, naming the type and the supported list.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanContext, StageContext, StageInput, StageKind } from '../src/engine/kind.js';
import { hasOnnxExport } from '../src/fetch/dtype.js';
import { HubClient } from '../src/fetch/hub-client.js';
import { hubConfigFromEnv } from '../src/fetch/hub-config.js';
import { listModelFiles } from '../src/fetch/mirror.js';
import { knownRevisionFolder } from '../src/fetch/model-fetch.js';
import { one } from '../src/engine/kind-helpers.js';
import { readParams } from '../src/engine/params.js';

export const CONVERT_DTYPES = ['fp32', 'fp16'] as const;
export type ConvertDtype = (typeof CONVERT_DTYPES)[number];

function where(ctx: PlanContext): string {
  const rev = one(ctx, 'revision');
  return `stage ${ctx.instance.id} (convert-model, model ${ctx.model?.id ?? one(ctx, 'model')}${rev ? ` revision ${rev}` : ''})`;
}

/** Declared, so a misspelt param is a located error at expansion (params.ts), not ignored. */
export const convertParams = {
  dtype: { type: 'string', doc: 'graph dtype of a converted checkpoint: fp32 or fp16 (default: the model\'s dtype, else fp32)' },
  scoring_parts: { type: 'integer', min: 1, doc: 'build the scoring graph in this many layer parts, one per GPU (default: the GPUs the model\'s score stages take)' },
} as const;

function paramsOf(ctx: PlanContext): { dtype?: string | undefined; scoring_parts?: number | undefined } {
  return readParams('convert-model', convertParams, ctx.instance.params, where(ctx));
}

/** The graph dtype: stage param, else the model's dtype (fp32 when none). */
function dtypeOf(ctx: PlanContext): string {
  return paramsOf(ctx).dtype ?? ctx.model?.dtype ?? 'fp32';
}

/** Scoring graph parts: a param, else one per GPU the model's score stages take (1: unsplit). */
function scoringPartsOf(ctx: PlanContext): number {
  const declared = paramsOf(ctx).scoring_parts;
  if (declared !== undefined) return declared;
  const raw = ctx.model?.resources?.gpu ?? 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${where(ctx)}: the model's gpu count gives scoring_parts ${JSON.stringify(raw)}; it must be a positive integer`);
  return n;
}

function checkDtype(ctx: PlanContext, dtype: string): asserts dtype is ConvertDtype {
  if (!(CONVERT_DTYPES as readonly string[]).includes(dtype)) {
    throw new Error(`${where(ctx)}: a PyTorch checkpoint converts to dtype ${CONVERT_DTYPES.join(' or ')}, not "${dtype}" `
      + '(set dtype: fp32 or fp16 on the model, or the stage param dtype)');
  }
}

/** config.json at plan time (in the engine's process): its size bounded before it is read. */
function readConfigJson(ctx: PlanContext, path: string): Record<string, unknown> {
  const max = 64 * 1024 * 1024;
  const size = statSync(path).size;
  if (size > max) throw new Error(`${where(ctx)}: ${path} has ${size} bytes, more than a config.json may have (${max})`);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    // Not V8's message: it quotes the text.
    throw new Error(`${where(ctx)}: ${path} is not valid JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where(ctx)}: ${path} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** The checkpoint folder among the inputs: the one upstream output named `model`. */
function checkpointInput(ctx: StageContext): { input: StageInput; path: string } {
  const hits = ctx.inputs.filter((i) => 'model' in i.outputs);
  if (hits.length !== 1) {
    const seen = ctx.inputs.map((i) => `${i.stageId} (${Object.keys(i.outputs).join(', ')})`).join('; ') || 'none';
    throw new Error(`${where(ctx)}: needs exactly one input with output "model" (a fetch-model stage), found ${hits.length} (inputs: ${seen})`);
  }
  return { input: hits[0]!, path: hits[0]!.outputs['model']!.path };
}

function sizeOf(dir: string, rel: string): number {
  try {
    return statSync(join(dir, ...rel.split('/'))).size;
  } catch {
    return 0;
  }
}

const WEIGHT_FILE = /(\.safetensors|\.bin|\.index\.json)$/;

export const convertModelKind: StageKind = {
  name: 'convert-model',
  description: 'a fetched PyTorch checkpoint → an ONNX folder transformers.js loads, plus the scoring graph (ONNX exports pass through)',
  params: convertParams,
  // Its own worker, keyed like the model's score stages: a crash (or the memory of a big
  // conversion) stays out of the engine, and the same worker then loads the model to score.
  isolation: 'worker',
  affinity(ctx) {
    const model = one(ctx, 'model') || ctx.model?.name || ctx.instance.id;
    const rev = one(ctx, 'revision');
    return rev ? `${model}@${rev}` : model;
  },
  // The worker this spawns goes on to score the model and keeps this grant: ask for the cpus the
  // model's score stages declare (their onnxruntime threads), or it would hold one.
  resources: (ctx) => ({ cpu: ctx.model?.resources?.cpu ?? 1 }),
  outputs: () => [{ name: 'model', type: 'dir' }],

  async plan(ctx) {
    const dtype = dtypeOf(ctx);
    const scoringParts = scoringPartsOf(ctx);
    if (ctx.model) {
      const client = new HubClient({ ...hubConfigFromEnv(process.env), offline: true });
      const folder = await knownRevisionFolder(ctx.model, one(ctx, 'revision'), { modelsDir: ctx.spec.modelsDir, client });
      if (folder && existsSync(join(folder, 'config.json')) && !hasOnnxExport(await listModelFiles(folder).catch(() => []))) {
        checkDtype(ctx, dtype);
        const config = readConfigJson(ctx, join(folder, 'config.json'));
        // The detector alone: planning must not load the graph builder (a no-op run plans every
        // stage). It bounds every size the config states (config-limits.ts) before planning.
        const { detectArchitecture } = await import('../src/convert/arch/detect.js');
        const det = detectArchitecture(config);
        if (!det.ok) throw new Error(`${where(ctx)}: ${join(folder, 'config.json')}: ${det.message}`);
      }
    }
    return { dtype, scoring_parts: scoringParts };
  },

  async execute(ctx: StageContext) {
    const { input, path: src } = checkpointInput(ctx);
    const files = await listModelFiles(src);
    if (hasOnnxExport(files)) {
      // Already a transformers.js export: the folder is the output, stored as it is.
      if (ctx.provide) ctx.provide('model', src);
      else {
        const { cp } = await import('node:fs/promises');
        await cp(src, join(ctx.outDir, 'model'), { recursive: true });
      }
      ctx.log(`${input.stageId} is already a transformers.js ONNX export: passed through unchanged`);
      ctx.record('convert', { passthrough: true, layout: 'onnx', source: input.stageId });
      return;
    }
    const dtype = dtypeOf(ctx);
    checkDtype(ctx, dtype);
    const scoringParts = scoringPartsOf(ctx);
    const { convertCheckpoint } = await import('../src/convert/convert.js');
    const sourceFiles = files.filter((f) => WEIGHT_FILE.test(f) || f === 'config.json').map((f) => ({ path: f, bytes: sizeOf(src, f) }));
    const sourceBytes = sourceFiles.reduce((a, f) => a + f.bytes, 0);
    const t0 = Date.now();
    let report;
    try {
      report = await convertCheckpoint(src, join(ctx.outDir, 'model'), {
        dtype,
        ...(scoringParts > 1 ? { scoringParts } : {}),
        log: (m) => ctx.log(m),
      });
    } catch (err) {
      // The readers and architectures name the file and tensor; say which stage and source it was.
      throw new Error(`${where(ctx)}: cannot convert the checkpoint from ${input.stageId}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const seconds = (Date.now() - t0) / 1000;
    const outBytes = report.files.reduce((a, f) => a + f.bytes, 0);
    ctx.log(`converted ${report.architecture} (${report.sourceDtypes.join(', ')} → ${dtype}): ${report.tensors} tensors, `
      + `${report.parameters} parameters, ${(sourceBytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s`);
    ctx.record('convert', {
      passthrough: false,
      layout: 'pytorch',
      source: input.stageId,
      source_commit: (input.info['resolved'] as { commit?: unknown } | undefined)?.commit ?? null,
      architecture: report.architecture,
      model_type: report.modelType,
      source_dtypes: report.sourceDtypes,
      dtype,
      scoring_parts: scoringParts,
      tensors: report.tensors,
      parameters: report.parameters,
      source_files: sourceFiles,
      source_bytes: sourceBytes,
      files: report.files,
      output_bytes: outBytes,
      seconds,
      mb_per_s: seconds > 0 ? Number((sourceBytes / 1e6 / seconds).toFixed(1)) : null,
    });
  },
};

export default convertModelKind;
