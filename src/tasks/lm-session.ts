// A task's view of the language model: batched calls (a task sends its requests in few large calls
// so the fast path can share prefixes and sort by length), per-item failure isolation (an item
// whose prompt exceeds the context, or whose request makes the model throw, fails alone and keeps
// its row), progress, and one requests.jsonl record per request.

import { ModelFault, ModelLoadError } from '../lm/errors.js';
import type { ConditionalRequest, ConditionalResult, GenerateResult, LanguageModel, Reduction, SequenceResult } from '../lm/types.js';

export interface Tagged<T> {
  /** Item id the request belongs to (failures are per item). */
  item: string;
  req: T;
}

export interface SessionOptions {
  /** Requests per LM call (default: a twentieth of the task, 512 to 2048): large enough to share prefixes and sort by length, small enough to report progress. */
  chunkSize?: number;
  /** `unit`: what is counted — "requests", or "requests and measures" when the task computes after them. */
  onProgress?(done: number, total: number, unit?: string): void;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class LmSession {
  readonly requests: object[] = [];
  readonly failures = new Map<string, string>();
  readonly warnings: string[] = [];
  readonly counters: Record<string, number> = {};
  private done = 0;
  private total = 0;
  private readonly chunkSize: number;

  constructor(
    readonly lm: LanguageModel,
    private readonly opts: SessionOptions = {},
  ) {
    this.chunkSize = opts.chunkSize ?? 2048;
  }

  /**
   * Announce how many requests the task will send (for progress), and how many steps of its own
   * work follow them (lambada's KL and Spearman per item), so that 100 % means done.
   */
  plan(total: number, extraSteps = 0): void {
    this.total = total + extraSteps;
    this.extraSteps = extraSteps;
    this.opts.onProgress?.(this.done, this.total, this.unit());
  }

  /** Count n steps of the task's own work announced in plan(). */
  stepDone(n = 1): void {
    this.progress(n);
  }

  private extraSteps = 0;

  private unit(): string {
    return this.extraSteps ? 'requests and measures' : 'requests';
  }

  count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  fail(item: string, message: string): void {
    if (!this.failures.has(item)) this.failures.set(item, message);
  }

  failed(item: string): boolean {
    return this.failures.has(item);
  }

  /** Fail the item when `text` (plus `extra` positions to be generated) does not fit the model's context. */
  private fits(item: string, text: string, extra: number, what: string): boolean {
    const limit = this.lm.info.contextLength;
    if (limit === null || limit === undefined) return true;
    const n = this.lm.countTokens(text);
    if (n + extra > limit) {
      const more = extra > 0 ? ` + ${extra} new tokens` : '';
      this.fail(item, `${what} is ${n} tokens${more}, over the model's context of ${limit}`);
      return false;
    }
    return true;
  }

  /**
   * Run `call` over the live requests in chunks; if a chunk throws, retry its requests one at a
   * time so only the items that really fail are lost. Returns results aligned with `tagged`.
   */
  private async batched<Q, R>(tagged: Tagged<Q>[], check: (t: Tagged<Q>) => boolean, call: (reqs: Q[]) => Promise<R[]>, record: (t: Tagged<Q>, r: R) => object): Promise<(R | null)[]> {
    const out: (R | null)[] = tagged.map(() => null);
    const live: number[] = [];
    tagged.forEach((t, i) => {
      if (this.failed(t.item) || !check(t)) this.progress(1);
      else live.push(i);
    });
    for (const chunk of this.chunks(live, tagged, this.chunkFor(tagged.length))) {
      const idx = chunk.filter((i) => !this.failed(tagged[i]!.item));
      let results: R[] | null = null;
      try {
        results = await call(idx.map((i) => tagged[i]!.req));
        if (results.length !== idx.length) throw new Error(`the model returned ${results.length} results for ${idx.length} requests`);
      } catch (e) {
        // A fault of the model itself (NaN/Inf log-probabilities, a failed load) is no item's fault:
        // retrying item by item would only say it once per item.
        if (e instanceof ModelFault || e instanceof ModelLoadError) throw e;
        results = null;
        if (idx.length === 1) this.fail(tagged[idx[0]!]!.item, errorMessage(e));
      }
      if (results) idx.forEach((i, k) => (out[i] = results![k]!));
      else if (idx.length > 1) {
        for (const i of idx) {
          if (this.failed(tagged[i]!.item)) continue;
          try {
            const [r] = await call([tagged[i]!.req]);
            if (r === undefined) throw new Error('the model returned no result');
            out[i] = r;
          } catch (e) {
            if (e instanceof ModelFault || e instanceof ModelLoadError) throw e;
            this.fail(tagged[i]!.item, errorMessage(e));
          }
        }
      }
      this.progress(chunk.length);
    }
    tagged.forEach((t, i) => {
      const r = out[i];
      if (r !== null && r !== undefined) this.requests.push(record(t, r));
    });
    return out;
  }

  /** Consecutive runs of about chunkSize requests, never splitting one item's requests (they share prefixes). */
  private chunks<Q>(live: number[], tagged: Tagged<Q>[], size: number): number[][] {
    const out: number[][] = [];
    let cur: number[] = [];
    for (const i of live) {
      if (cur.length >= size && tagged[cur[cur.length - 1]!]!.item !== tagged[i]!.item) {
        out.push(cur);
        cur = [];
      }
      cur.push(i);
    }
    if (cur.length > 0) out.push(cur);
    return out;
  }

  /** Requests per LM call: the configured size; by default about a twentieth of the task (512 to
   * 2048), so that progress is reported as the task goes rather than once at its end. */
  private chunkFor(n: number): number {
    if (this.opts.chunkSize !== undefined) return this.chunkSize;
    return Math.min(2048, Math.max(512, Math.ceil(Math.max(this.total, n) / 20)));
  }

  private progress(n: number): void {
    this.done += n;
    this.opts.onProgress?.(this.done, Math.max(this.total, this.done), this.unit());
  }

  conditional(tagged: Tagged<ConditionalRequest>[], reduction: Reduction): Promise<(ConditionalResult | null)[]> {
    return this.batched(
      tagged,
      (t) => this.fits(t.item, t.req.prefix + t.req.separator + t.req.continuation, 0, 'the prompt with its continuation'),
      (reqs) => this.lm.conditional(reqs, reduction),
      (t, r) => ({
        item: t.item,
        kind: 'conditional',
        prefix: t.req.prefix,
        separator: t.req.separator,
        continuation: t.req.continuation,
        reduction,
        prefix_tokens: r.prefixIds.length,
        token_ids: r.tokenIds,
        token_logprobs: r.tokenLogprobs,
        logprob: r.logprob,
      }),
    );
  }

  sequence(tagged: Tagged<string>[]): Promise<(SequenceResult | null)[]> {
    return this.batched(
      tagged,
      (t) => this.fits(t.item, t.req, 0, 'the sentence'),
      (texts) => this.lm.sequence(texts),
      (t, r) => ({ item: t.item, kind: 'sequence', text: t.req, input_ids: r.inputIds, token_ids: r.tokenIds, token_logprobs: r.tokenLogprobs, logprob: r.logprob }),
    );
  }

  /** Next-token logits (full width). Callers send modest batches: each vector is vocabulary-wide. */
  nextToken(tagged: Tagged<string>[]): Promise<(Float32Array | null)[]> {
    return this.batched(
      tagged,
      (t) => this.fits(t.item, t.req, 0, 'the prompt'),
      (texts) => this.lm.nextTokenLogits(texts),
      (t, r) => ({ item: t.item, kind: 'next-token', text: t.req, width: r.length, argmax: argmax(r) }),
    );
  }

  generate(tagged: Tagged<string>[], maxNewTokens: number): Promise<(GenerateResult | null)[]> {
    return this.batched(
      tagged,
      (t) => this.fits(t.item, t.req, maxNewTokens, 'the prompt'),
      (prompts) => this.lm.generate(prompts, maxNewTokens),
      (t, r) => ({ item: t.item, kind: 'generate', prompt: t.req, max_new_tokens: maxNewTokens, prompt_ids: r.promptIds, new_token_ids: r.newTokenIds, text: r.text }),
    );
  }
}

function argmax(xs: Float32Array): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}
