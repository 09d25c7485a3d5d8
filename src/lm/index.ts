// loadLanguageModel: the LanguageModel contract of types.ts over transformers.js + onnxruntime-node.
// Three scoring paths, one set of numbers: `plain: true` is the reference (one sequence per pass,
// no cache); a converted model's scoring graph (onnx/score.onnx: token trees, log-probabilities
// gathered in the graph; tree.ts) is the default where the folder has one; the transformers.js
// fast path (fast.ts) otherwise. Generation decodes greedily in batches on the decoder graph
// (generate.ts, greedy.ts); on the scoring-graph path that session is loaded once, on the first
// generate(). Import this module lazily from stage kinds: it pulls in transformers.js when a model
// is loaded.

import type { BatchLimits } from './batching.js';
import { ForwardRunner, type LmStats } from './forward.js';
import { ModelFault, ModelLoadError } from './errors.js';
import { checkComputed, scoreItemsFast, type FastItem, type FastResult } from './fast.js';
import { loadDecoderSession, loadOrt, paddingInvariant, type DecoderSession, type OrtLike } from './decoder.js';
import { generateTexts, generationSettings } from './generate.js';
import { checkTokenizerFits, loadRuntime, type LoadedRuntime } from './load.js';
import { LogitsCache } from './logits-cache.js';
import { reduce } from './logsoftmax.js';
import type { PackLimits } from './packing.js';
import { lastLogitsPlain, scoreItemPlain } from './plain.js';
import { hasScoreGraph, ScoreGraph } from './score-graph.js';
import { pairCostFor } from './row-cost.js';
import { scoreItemsTree } from './tree.js';
import { idsKey, planConditional, planSequence, type Encode } from './tokenize.js';
import type {
  ConditionalRequest,
  ConditionalResult,
  GenerateResult,
  LanguageModel,
  LoadOptions,
  ModelInfo,
  Reduction,
  SequenceResult,
} from './types.js';

export type * from './types.js';
export { ModelFault, isModelFaultMessage } from './errors.js';

/** Options beyond the contract's LoadOptions. */
export interface ExtraLoadOptions extends LoadOptions {
  /** Most rows in one forward batch (fast path). Default 64. */
  maxBatchRows?: number;
  /** Bytes of last-position logits kept for nextTokenLogits reuse (fast path). Default 256 MiB. */
  logitsCacheBytes?: number;
  /** Scoring graph: budget on B × T × T (mask and attention scores) per batch. Default 2^20. */
  maskElements?: number;
  /** Scoring graph: a token tree larger than this is split into rows repeating its prefix. Default 1024. */
  rowTokens?: number;
  /** Scoring graph: attention's cost per slot pair relative to a slot (row-cost.ts); 0 fills rows up to rowTokens. Default: from the hidden size on the CPU, 0 elsewhere. */
  pairCost?: number;
  /** CUDA device of the decoder (generation) and of scoring-graph part i (default: i). */
  deviceIds?: number[];
  /** onnxruntime intra-op threads per session (default: onnxruntime's, one per core); threads.ts. */
  threads?: number;
  /** Let onnxruntime's threads spin between operators (default false; threads.ts). */
  spin?: boolean;
}

export type ScoringPath = 'plain' | 'fast' | 'graph';

/** The LanguageModel plus what benchmarks and tests look at. */
export interface LoadedLanguageModel extends LanguageModel {
  readonly stats: LmStats;
  readonly folder: string;
  readonly loadSeconds: number;
  readonly plain: boolean;
  readonly path: ScoringPath;
  /** Whether the transformers.js decoder session is in memory (the graph path loads it for generation only). */
  readonly decoderLoaded: boolean;
  /** Decoder sessions created so far (graph path: at most 1, whatever scoring and generation interleave). */
  readonly decoderLoads: number;
}

export async function loadLanguageModel(folder: string, opts: ExtraLoadOptions = {}): Promise<LoadedLanguageModel> {
  const device = opts.device ?? 'cpu';
  const dtype = opts.dtype ?? 'fp32';
  const parts = opts.parts ?? 1;
  const useGraph = opts.plain !== true && (opts.scoringGraph ?? (parts > 1 || hasScoreGraph(folder, dtype)));
  const threadOpts = { ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.spin !== undefined ? { spin: opts.spin } : {}) };
  const rtOpts = { device, dtype, deviceId: opts.deviceIds?.[0] ?? 0, ...threadOpts };
  if (useGraph) {
    // Tokenizer and settings only: the decoder session (a second copy of the weights) is loaded
    // on the first generate(), once; a scoring-only stage never loads it.
    const rt = await loadRuntime(folder, { ...rtOpts, session: false });
    let graph: ScoreGraph;
    try {
      graph = await ScoreGraph.load(rt.folder, { device, dtype, parts, ...(opts.deviceIds ? { deviceIds: opts.deviceIds } : {}), ...threadOpts });
    } catch (e) {
      throw new ModelLoadError(`cannot load language model from folder "${rt.folder}" (device ${device}, dtype ${dtype}): ${e instanceof Error ? e.message : String(e)}`);
    }
    const vocab = graph.vocab;
    if (vocab === null) {
      await graph.dispose();
      throw new Error(`cannot load language model from folder "${rt.folder}": its scoring graph does not declare the logits width`);
    }
    rt.vocabSize = vocab;
    try {
      checkTokenizerFits(rt.maxTokenId, vocab, (msg) => new ModelLoadError(`cannot load language model from folder "${rt.folder}" (device ${device}, dtype ${dtype}): ${msg}`));
    } catch (e) {
      await graph.dispose();
      throw e;
    }
    return new TransformersLanguageModel(rt, opts, graph, {
      decoder: () => loadDecoderSession(rt.folder, rtOpts),
      transformers: () => loadRuntime(folder, rtOpts),
    });
  }
  const rt = await loadRuntime(folder, rtOpts);
  return new TransformersLanguageModel(rt, opts, null);
}

/** For a model loaded without a decoder session (scoring-graph path): how to load one when generating. */
interface LazyDecoder {
  /** The bare decoder session for batched greedy decoding. */
  decoder(): Promise<DecoderSession>;
  /** transformers.js's model object, for generation settings that greedy.ts does not cover. */
  transformers(): Promise<LoadedRuntime>;
}

class TransformersLanguageModel implements LoadedLanguageModel {
  readonly info: ModelInfo;
  readonly stats: LmStats = { forwardTokens: 0, forwardCalls: 0, zeroTokenContinuations: 0, paddedForwardTokens: 0, outputRows: 0 };
  readonly plain: boolean;
  readonly path: ScoringPath;
  private readonly packLimits: PackLimits;
  private runnerInstance: ForwardRunner | null = null;
  private decoderSession: Promise<{ ort: OrtLike; session: DecoderSession; padded: boolean }> | null = null;
  private transformersRt: Promise<LoadedRuntime> | null = null;
  private readonly encode: Encode;
  private readonly limits: BatchLimits;
  private readonly cache: LogitsCache;
  private readonly forceGreedy: boolean;

  constructor(
    private rt: LoadedRuntime,
    opts: ExtraLoadOptions,
    private readonly graph: ScoreGraph | null = null,
    private readonly lazy: LazyDecoder | null = null,
  ) {
    this.plain = opts.plain === true;
    this.path = this.plain ? 'plain' : graph ? 'graph' : 'fast';
    this.forceGreedy = opts.forceGreedy === true;
    this.encode = (text: string) => {
      const ids = rt.tokenizer.encode(text);
      // The load checks tokenizer.json's ids; this catches any other path to an id past the table.
      const bad = ids.find((id) => !(id >= 0 && id < rt.vocabSize));
      if (bad !== undefined) throw new ModelFault(`the tokenizer of ${rt.folder} gave token id ${bad}, past the model's ${rt.vocabSize} embedding rows`);
      return ids;
    };
    this.limits = {
      batchTokens: opts.batchTokens ?? 512,
      maxRows: opts.maxBatchRows ?? 64,
      maxTotal: rt.contextLength,
    };
    if (!(this.limits.batchTokens >= 1)) throw new Error(`batchTokens must be >= 1, got ${opts.batchTokens}`);
    const window = rt.model.config['sliding_window'];
    this.packLimits = {
      batchTokens: opts.batchTokens ?? 1024,
      maskElements: opts.maskElements ?? 1 << 20,
      maxRows: opts.maxBatchRows ?? 64,
      rowTokens: opts.rowTokens ?? 1024,
      pairCost: opts.pairCost ?? pairCostFor({ hidden: rt.model.config['hidden_size'] ?? rt.model.config['n_embd'] ?? rt.model.config['d_model'], device: rt.device }),
      // Mistral hides keys more than sliding_window positions behind the query (config.json).
      slidingWindow: typeof window === 'number' && window > 0 && rt.modelType === 'mistral' ? window : null,
    };
    if (!(this.packLimits.maskElements >= 1 && this.packLimits.rowTokens >= 1)) {
      throw new Error(`maskElements and rowTokens must be >= 1, got ${opts.maskElements} and ${opts.rowTokens}`);
    }
    if (!(this.packLimits.pairCost! >= 0 && Number.isFinite(this.packLimits.pairCost))) throw new Error(`pairCost must be a finite number >= 0, got ${opts.pairCost}`);
    this.cache = new LogitsCache(opts.logitsCacheBytes ?? 256 * 1024 * 1024);
    this.info = {
      modelType: rt.modelType,
      vocabSize: rt.vocabSize,
      contextLength: rt.contextLength,
      device: rt.device,
      dtype: rt.dtype,
      generation: generationSettings(rt, this.forceGreedy),
      scoringPath: this.path,
      ...(graph ? { parts: graph.parts } : {}),
    };
  }

  /** The plain/fast paths' forward runner (never needed on the graph path). */
  private get runner(): ForwardRunner {
    if (this.lazy) throw new Error('internal: no decoder session for scoring (scoring-graph path)');
    return (this.runnerInstance ??= new ForwardRunner(this.rt, this.stats));
  }

  decoderLoads = 0;

  get decoderLoaded(): boolean {
    return this.lazy === null || this.decoderSession !== null || this.transformersRt !== null;
  }

  get folder(): string {
    return this.rt.folder;
  }

  get loadSeconds(): number {
    return this.rt.loadSeconds;
  }

  /** Over-long inputs would fail inside the runtime with an index error; say what and where. */
  private checkLength(what: string, i: number, ids: readonly number[]): void {
    const max = this.rt.contextLength;
    if (max !== null && ids.length > max) {
      throw new Error(
        `${what} ${i} has ${ids.length} tokens, more than the model's context length ${max} ` +
          `(${this.rt.folder}); skip or shorten it (countTokens measures a text beforehand)`,
      );
    }
  }

  countTokens(text: string): number {
    return this.encode(text).length;
  }

  async conditional(requests: ConditionalRequest[], reduction: Reduction): Promise<ConditionalResult[]> {
    if (reduction !== 'sum' && reduction !== 'mean') throw new Error(`unknown reduction "${String(reduction)}"`);
    // Requests often repeat a prefix (2–8 continuations each): tokenize each distinct text once.
    const memo = new Map<string, number[]>();
    const encode: Encode = (t) => {
      let ids = memo.get(t);
      if (!ids) memo.set(t, (ids = this.encode(t)));
      return ids;
    };
    const plans = requests.map((r, i) => {
      if (typeof r.prefix !== 'string' || typeof r.continuation !== 'string' || typeof r.separator !== 'string') {
        throw new Error(`conditional request ${i}: prefix, continuation and separator must be strings`);
      }
      const plan = planConditional(encode, r);
      this.checkLength('conditional request', i, plan.ids);
      return plan;
    });
    const scores = await this.scoreItems(
      plans.map((p) => ({
        ids: p.ids,
        start: p.start,
        // The prefix's next-token logits are the joined tokens' row at len(prefix)-1 only when the
        // prefix tokens agree with the joined tokens (not so for digit_mat's "[" + "]" merge).
        capture: p.agree && p.prefixIds.length > 0 ? p.prefixIds.length - 1 : undefined,
      })),
      (i, captured) => this.cache.set(idsKey(plans[i]!.prefixIds), captured),
    );
    return plans.map((p, i) => {
      if (p.zeroToken) this.stats.zeroTokenContinuations++;
      const tokenLogprobs = scores[i]!;
      return {
        logprob: reduce(tokenLogprobs, reduction),
        tokenIds: p.ids.slice(p.start),
        tokenLogprobs,
        prefixIds: p.prefixIds.slice(),
      };
    });
  }

  async sequence(texts: string[]): Promise<SequenceResult[]> {
    const plans = texts.map((t, i) => {
      const plan = planSequence(this.encode, t);
      this.checkLength('sequence text', i, plan.ids);
      return plan;
    });
    const scores = await this.scoreItems(plans);
    return plans.map((p, i) => {
      const tokenLogprobs = scores[i]!;
      return { logprob: reduce(tokenLogprobs, 'sum'), tokenIds: p.ids.slice(1), tokenLogprobs, inputIds: p.ids };
    });
  }

  /** Token log-probabilities of each item from `start` on: one at a time (plain) or batched with
   * shared prefixes (fast); `onCapture` receives the logits rows the fast path kept. */
  private async scoreItems(items: FastItem[], onCapture?: (i: number, captured: Float32Array) => void): Promise<number[][]> {
    if (this.plain) {
      const scores: number[][] = [];
      for (const it of items) {
        const tokenLogprobs = await scoreItemPlain(this.runner, it);
        checkComputed(tokenLogprobs, scores.length);
        scores.push(tokenLogprobs);
      }
      return scores;
    }
    const res = await this.scoreFastOrGraph(items);
    if (onCapture) res.forEach((r, i) => r.captured && onCapture(i, r.captured));
    return res.map((r) => r.tokenLogprobs);
  }

  private scoreFastOrGraph(items: FastItem[]): Promise<FastResult[]> {
    if (this.graph) return scoreItemsTree(this.graph, items, this.packLimits, this.rt.padId, this.stats);
    return scoreItemsFast(this.runner, items, this.limits);
  }

  async nextTokenLogits(texts: string[]): Promise<Float32Array[]> {
    const idsList = texts.map((t, i) => {
      const ids = this.encode(t);
      if (ids.length === 0) throw new Error(`nextTokenLogits: text ${i} has no tokens (empty text and no BOS)`);
      this.checkLength('nextTokenLogits text', i, ids);
      return ids;
    });
    if (this.plain) {
      const out: Float32Array[] = [];
      for (const ids of idsList) out.push(await lastLogitsPlain(this.runner, ids));
      return out;
    }
    const result = new Array<Float32Array | undefined>(texts.length);
    const missing = new Map<string, number[]>();
    idsList.forEach((ids, i) => {
      const key = idsKey(ids);
      const hit = this.cache.get(key);
      if (hit) result[i] = hit.slice();
      else missing.set(key, [...(missing.get(key) ?? []), i]);
    });
    // The remaining texts go through the shared-prefix trie too (meta prompts share their
    // instructions): each is an item whose last position is captured. The appended token 0 only
    // makes that position part of the item's input; its score is discarded.
    const keys = [...missing.keys()];
    const items: FastItem[] = keys.map((key) => {
      const ids = idsList[missing.get(key)![0]!]!;
      return { ids: [...ids, 0], start: ids.length, capture: ids.length - 1 };
    });
    const res = await this.scoreFastOrGraph(items);
    keys.forEach((key, k) => {
      const row = res[k]!.captured;
      if (!row) throw new Error(`internal: no logits captured for text ${missing.get(key)![0]}`);
      this.cache.set(key, row);
      for (const i of missing.get(key)!) result[i] = row.slice();
    });
    return result.map((r, i) => {
      if (!r) throw new Error(`internal: no logits for text ${i}`);
      return r;
    });
  }

  async generate(prompts: string[], maxNewTokens: number): Promise<GenerateResult[]> {
    const lazy = this.lazy;
    return generateTexts(this.rt, prompts, maxNewTokens, {
      plain: this.plain,
      forceGreedy: this.forceGreedy,
      limits: this.limits,
      stats: this.stats,
      decoder: () =>
        (this.decoderSession ??= (async () => {
          const ort = await loadOrt();
          const padded = paddingInvariant(this.rt.folder, this.rt.device, this.rt.dtype);
          this.decoderLoads++;
          if (lazy) return { ort, session: await lazy.decoder(), padded };
          const session = this.rt.model.sessions['model'] as unknown as DecoderSession | undefined;
          if (!session) throw new Error(`the model in ${this.rt.folder} has no decoder session "model"`);
          return { ort, session, padded };
        })()),
      transformers: () => (this.transformersRt ??= lazy ? lazy.transformers() : Promise.resolve(this.rt)),
    });
  }

  async dispose(): Promise<void> {
    this.cache.clear();
    await this.graph?.dispose();
    if (this.lazy) {
      const dec = await this.decoderSession?.catch(() => null);
      await dec?.session.release?.();
      const trt = await this.transformersRt?.catch(() => null);
      await trt?.model.dispose();
    } else {
      await this.rt.model.dispose();
    }
  }
}
