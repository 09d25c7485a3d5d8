// Shared test setup for the tiny model: build into a fresh temp folder and load it offline with
// transformers.js (env.localModelPath = the temp parent, id = the folder name).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTinyModel, type TinyModelOptions } from '../../src/tinymodel/index.js';

export interface Built {
  parent: string;
  id: string;
  dir: string;
  buildMs: number;
  cleanup(): Promise<void>;
}

export async function buildInTemp(opts: TinyModelOptions, id = 'tiny'): Promise<Built> {
  const parent = await mkdtemp(join(tmpdir(), 'tinymodel-test-'));
  const dir = join(parent, id);
  const t0 = performance.now();
  await buildTinyModel(dir, opts);
  const buildMs = performance.now() - t0;
  return { parent, id, dir, buildMs, cleanup: () => rm(parent, { recursive: true, force: true }) };
}

export async function loadWithTransformers(built: Built) {
  const { AutoTokenizer, AutoModelForCausalLM, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = built.parent;
  const tokenizer = await AutoTokenizer.from_pretrained(built.id);
  const model = await AutoModelForCausalLM.from_pretrained(built.id, { dtype: 'fp32', device: 'cpu' });
  return { tokenizer, model };
}

/** Index of the largest value (first one on ties). */
export function argmax(xs: ArrayLike<number>, from = 0, to = xs.length): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (xs[i]! > xs[best]!) best = i;
  return best - from;
}
