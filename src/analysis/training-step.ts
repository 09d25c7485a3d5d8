// Training step of a revision: the number after `step` in its name (OLMo's `step31000-tokens137B`,
// the test model's `step0030-tokens0.06M`); the final weights get `finalStep` (OLMo-7B: 557000).

export const DEFAULT_FINAL_STEP = 557000;

export function trainingStep(revision: string, finalStep: number = DEFAULT_FINAL_STEP): number {
  if (revision === '') return finalStep;
  const m = /step(\d+)/.exec(revision);
  if (!m) {
    throw new Error(`revision ${JSON.stringify(revision)} has no training step (expected a name like "step31000-tokens137B"); ` +
      'rename the revision or leave that model out of the training-time analysis');
  }
  return Number(m[1]);
}
