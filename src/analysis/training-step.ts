// Training step of a revision: the number after `step` in its name (OLMo's `step31000-tokens137B`,
// the test model's `step0030-tokens0.06M`). The final weights (revision '') have the step the model
// declares (`display: { final_step }`; the paper pipeline: OLMo-7B, 557000), else the default below.

/** OLMo-7B's last training step: what the paper's figures put its final weights at. */
export const OLMO_7B_FINAL_STEP = 557000;

export function trainingStep(revision: string, finalStep: number): number {
  if (revision === '') return finalStep;
  const m = /step(\d+)/.exec(revision);
  if (!m) {
    throw new Error(`revision ${JSON.stringify(revision)} has no training step (expected a name like "step31000-tokens137B"); ` +
      'rename the revision or leave that model out of the training-time analysis');
  }
  return Number(m[1]);
}

/**
 * The final weights' step when a model declares none: one more sweep interval after its largest
 * revision step — largest + (largest − second largest); with a single revision step s, 2s (the
 * interval from step 0). E.g. steps 100, 1000, 10000 → 19000. The final weights then sit after
 * every checkpoint, at the sweep's own spacing, wherever that sweep ends.
 */
export function defaultFinalStep(revisions: string[]): number {
  const steps = [...new Set(revisions.filter((r) => r !== '').map((r) => trainingStep(r, 0)))].sort((a, b) => b - a);
  if (steps.length === 0) throw new Error('a model without revision steps has no default final step; declare display.final_step');
  const [last, prev] = [steps[0]!, steps[1] ?? 0];
  return last + (last - prev);
}
