// A deterministic fake LanguageModel for task tests. Its tokenizer splits text GPT-2 style (an
// optional space plus a word, or a run of punctuation — so a prompt's final "[" and a choice "]"
// merge into one token "[]", as with the real tokenizer), token ids are hashes, and logits are
// pseudo-random functions of the context, so every number is reproducible and request-order free.

import { rng } from '../../src/tasks/demo-stimuli.js';
import type {
  ConditionalRequest, ConditionalResult, GenerateResult, LanguageModel, ModelInfo, Reduction, ScoringStats, SequenceResult,
} from '../../src/lm/types.js';

export const FAKE_VOCAB = 1000;

function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}


export function fakeTokenize(text: string): string[] {
  return text.match(/ ?[A-Za-z0-9_$]+| ?[^\sA-Za-z0-9_$]+|\s+/g) ?? [];
}

const GEN_PIECES = ['3', ']', ' [', '\n', ' The', ' answer', ' is', ' $', '10', '.', ' 2', ' days'];

export interface FakeOptions {
  contextLength?: number | null;
  /** Throw when a request's text contains this substring (to test failure isolation). */
  throwOn?: string;
}

export class FakeLM implements LanguageModel {
  readonly info: ModelInfo;
  readonly stats: ScoringStats = { forwardTokens: 0, forwardCalls: 0, zeroTokenContinuations: 0 };
  calls: { method: string; size: number }[] = [];

  constructor(private readonly opts: FakeOptions = {}) {
    this.info = {
      modelType: 'fake',
      vocabSize: FAKE_VOCAB,
      contextLength: opts.contextLength === undefined ? 512 : opts.contextLength,
      device: 'cpu',
      dtype: 'fp32',
      generation: { doSample: false, eosTokenId: null, forcedGreedy: false },
    };
  }

  private ids(text: string): number[] {
    return fakeTokenize(text).map((t) => fnv(t) % FAKE_VOCAB);
  }

  private check(text: string): void {
    if (this.opts.throwOn && text.includes(this.opts.throwOn)) throw new Error(`fake model refuses "${this.opts.throwOn}"`);
  }

  /** Logits after a context: pseudo-random in [-5, 5), seeded by the last three ids. */
  logitsAfter(context: number[]): Float32Array {
    const next = rng(fnv(context.slice(-3).join(',')));
    const out = new Float32Array(FAKE_VOCAB);
    for (let i = 0; i < FAKE_VOCAB; i++) out[i] = next() * 10 - 5;
    return out;
  }

  private logprobOf(context: number[], id: number): number {
    const logits = this.logitsAfter(context);
    let max = -Infinity;
    for (const l of logits) max = Math.max(max, l);
    let sum = 0;
    for (const l of logits) sum += Math.exp(l - max);
    return logits[id]! - max - Math.log(sum);
  }

  async conditional(requests: ConditionalRequest[], reduction: Reduction): Promise<ConditionalResult[]> {
    this.calls.push({ method: 'conditional', size: requests.length });
    return requests.map((r) => {
      this.check(r.prefix + r.separator + r.continuation);
      const prefixIds = this.ids(r.prefix);
      const full = this.ids(r.prefix + r.separator + r.continuation);
      const tokenIds = full.slice(prefixIds.length);
      const tokenLogprobs = tokenIds.map((id, k) => this.logprobOf(full.slice(0, prefixIds.length + k), id));
      if (tokenIds.length === 0) this.stats.zeroTokenContinuations++;
      const sum = tokenLogprobs.reduce((a, b) => a + b, 0);
      const logprob = tokenIds.length === 0 ? 0 : reduction === 'sum' ? sum : sum / tokenIds.length;
      this.stats.forwardTokens += full.length;
      return { prefixIds, tokenIds, tokenLogprobs, logprob };
    });
  }

  async sequence(texts: string[]): Promise<SequenceResult[]> {
    this.calls.push({ method: 'sequence', size: texts.length });
    return texts.map((t) => {
      this.check(t);
      const inputIds = this.ids(t);
      const tokenIds = inputIds.slice(1);
      const tokenLogprobs = tokenIds.map((id, k) => this.logprobOf(inputIds.slice(0, k + 1), id));
      return { inputIds, tokenIds, tokenLogprobs, logprob: tokenLogprobs.reduce((a, b) => a + b, 0) };
    });
  }

  async nextTokenLogits(texts: string[]): Promise<Float32Array[]> {
    this.calls.push({ method: 'nextTokenLogits', size: texts.length });
    return texts.map((t) => {
      this.check(t);
      return this.logitsAfter(this.ids(t));
    });
  }

  async generate(prompts: string[], maxNewTokens: number): Promise<GenerateResult[]> {
    this.calls.push({ method: 'generate', size: prompts.length });
    return prompts.map((p) => {
      this.check(p);
      const pick = rng(fnv(p));
      const pieces = Array.from({ length: Math.min(maxNewTokens, 6) }, () => GEN_PIECES[Math.floor(pick() * GEN_PIECES.length)]!);
      return { text: pieces.join(''), promptIds: this.ids(p), newTokenIds: pieces.map((x) => fnv(x) % FAKE_VOCAB) };
    });
  }

  countTokens(text: string): number {
    return this.ids(text).length;
  }

  async dispose(): Promise<void> {}
}
