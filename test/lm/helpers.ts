// Shared paths and a per-process model cache for the src/lm tests.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLanguageModel, type ExtraLoadOptions, type LoadedLanguageModel } from '../../src/lm/index.js';

/** dist/test/lm/x.test.js → repo root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const sharedDir = path.resolve(repoRoot, '../shared');
export const tinyGpt2 = path.join(sharedDir, 'models', 'tiny-gpt2');
export const revision = (name: string): string => path.join(tinyGpt2, 'revisions', name);

/** A small budget so the tests exercise several batches and caches of different lengths. */
export const SMALL_BATCH: ExtraLoadOptions = { batchTokens: 48, maxBatchRows: 5 };

export async function loadPair(folder = tinyGpt2): Promise<{ plain: LoadedLanguageModel; fast: LoadedLanguageModel }> {
  const plain = await loadLanguageModel(folder, { plain: true });
  const fast = await loadLanguageModel(folder, SMALL_BATCH);
  return { plain, fast };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A digit_mat prompt, built by the task's own code (TASKS.md). */
export { digitMatPrompt as digitPrompt } from '../../src/tasks/digit-mat.js';
