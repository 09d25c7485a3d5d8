// A model that cannot compute a score (a NaN or +Inf log-probability, a token left unscored, a
// token id past its embedding rows) is a fault of the model, not of one item: the score stage
// fails on it (stages/score.ts) instead of writing an empty cell. Its message starts with
// MODEL_FAULT so it is recognised after it has been turned into a per-item failure string.

export const MODEL_FAULT = 'model fault:';

export class ModelFault extends Error {
  constructor(detail: string) {
    super(`${MODEL_FAULT} ${detail}`);
    this.name = 'ModelFault';
  }
}

/** Whether a failure message (as the task runner records it) came from a ModelFault. */
export function isModelFaultMessage(message: string): boolean {
  return message.includes(MODEL_FAULT);
}

/**
 * A model that could not be loaded (no folder, bad weights, a tokenizer that does not fit). The
 * engine reads it by name as a `load` failure (engine/failure.ts), so no caller guesses from words.
 */
export class ModelLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}
