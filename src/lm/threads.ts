// onnxruntime's threads for every session this project creates (scoring graph, decoder).
//
// Defaults, and why: intra-op threads = `threads` when given (a score stage passes its
// `resources.cpu`), else onnxruntime's own default (one per physical core). Inter-op threads = 1:
// every session runs its graph sequentially (executionMode 'sequential'); a parallel inter-op pool
// would only add threads competing with the intra-op ones. Spinning is off unless asked for:
// onnxruntime's workers otherwise busy-wait between operators, which on a machine shared with
// other stages (or other users) burns CPU that someone else could use and counts as this stage's
// CPU time; with few, large operators (a transformer's matrix products) the wake-up cost is small.

export interface ThreadOptions {
  /** Intra-op threads per session (default: onnxruntime's, one per physical core). */
  threads?: number | undefined;
  /** Let onnxruntime's worker threads spin between operators (default false). */
  spin?: boolean | undefined;
}

/** The session options that carry ThreadOptions (onnxruntime-node InferenceSession.SessionOptions). */
export function sessionOptions(opts: ThreadOptions): Record<string, unknown> {
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new Error(`threads must be a positive integer, got ${String(opts.threads)}`);
  }
  const spin = opts.spin === true ? '1' : '0';
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
}
