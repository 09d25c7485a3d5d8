// The per-request results cache: every scoring request's result, stored as each model call
// completes, so a killed or pre-empted score stage resumes where it stopped and raising `limit`
// computes only the new items. A LanguageModel decorator: the tasks and the models do not know it.
// Where it lives is the store's business: the score kind passes its cache folder
// (StageContext.cacheDir('requests'), which is <store>/requests/).
//
// What a result is keyed by (unlike lm-eval-harness's --use_cache, keyed by the prompt alone, which
// serves one model's answers as another's — its issue #2715):
//   folder  <cache folder>/<model digest>/<profile digest>/
//           model digest: the content digest of the model folder the stage scored (weights,
//           tokenizer, configs — a revision is another digest);
//           profile: the runtime versions that change numbers (onnxruntime-node,
//           @huggingface/transformers, and @huggingface/tokenizers, which tokenizes on the
//           scoring-graph path) and the scoring options that do (dtype, device class,
//           plain vs fast path, batch_tokens, force_greedy). Plain and fast agree within 1e-4 but
//           not bit for bit, so they are kept apart: a CSV never mixes the two paths.
//   key     sha256 of the request: method, reduction or max_new_tokens, and its texts (the
//           tokenizer is part of the model digest, so the texts determine the token ids).
// Not cached: sampled generations (do_sample without force_greedy: not a function of the request)
// and next-token logits (vocabulary-wide vectors, megabytes per request; lambada recomputes them).
//
// Storage: append-only JSON lines, one file per writer (`<host>-<pid>-<random>.jsonl`), so writers
// on several hosts sharing the store never interleave; each line carries a checksum, and a torn or
// corrupt line (a kill or a full disk mid-write) is ignored. Each model call's new results are one
// write. A call whose results are all cached is not sent to the model at all.
//
// Exactness: a stage that resumes re-issues the same calls (the session's chunks do not depend on
// what is cached), so the calls still to run have the same composition as in an uninterrupted run
// and the CSV is byte-identical. When `limit` grows, the new items run in a call of their own; the
// fast path's batching can move a value by float noise (≤ 1e-6 measured, 1e-4 guaranteed).

import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ConditionalRequest, ConditionalResult, GenerateResult, LanguageModel, ModelInfo, Reduction, ScoringStats, SequenceResult } from './types.js';
import { installedVersion } from '../util/library-version.js';

/** What selects a cache folder besides the model: versions and options that change numbers. */
export interface CacheProfile {
  runtime: Record<string, string>;
  dtype: string;
  /** Device class: cpu or cuda (device ids do not change numbers). */
  device: string;
  /** The scoring path (plain, fast, or the converter's scoring graph) and its layer parts. */
  path: 'plain' | 'fast' | 'graph';
  parts: number;
  batchTokens: number | null;
  forceGreedy: boolean;
}

export const RUNTIME_LIBRARIES = ['onnxruntime-node', '@huggingface/transformers', '@huggingface/tokenizers'] as const;

/** Installed versions of the libraries whose versions change scores. */
export function runtimeVersions(libs: readonly string[] = RUNTIME_LIBRARIES): Record<string, string> {
  return Object.fromEntries(libs.map((lib) => [lib, installedVersion(lib)]));
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

// JSON cannot hold -0, NaN or ±Infinity; a log-probability can be -Infinity and a sum -0. Encode
// them so a cached value is the computed value bit for bit.
const SPECIAL = '$num';
function encode(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && (!Number.isFinite(x) || Object.is(x, -0)) ? { [SPECIAL]: Object.is(x, -0) ? '-0' : String(x) } : x));
}
function decode(s: string): unknown {
  return JSON.parse(s, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) && SPECIAL in x && Object.keys(x).length === 1 ? Number((x as Record<string, string>)[SPECIAL]) : x));
}
const checksum = (key: string, value: string): string => sha(`${key}\n${value}`).slice(0, 16);

/** One model × profile folder of cached results: read once when opened, appended to as calls complete. */
export class RequestCache {
  private readonly entries = new Map<string, string>();
  private readonly file: string;
  /** Lines skipped when reading (torn or corrupt). */
  readonly skipped: number;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${hostname().replace(/[^A-Za-z0-9_.-]+/g, '_')}-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`);
    let skipped = 0;
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.jsonl')) continue;
      let text: string;
      try {
        text = readFileSync(join(dir, f), 'utf8');
      } catch {
        continue;
      }
      const lines = text.split('\n');
      // The part after the last newline is a line still being written (or torn): never trusted.
      if (lines[lines.length - 1] !== '') skipped++;
      for (const line of lines.slice(0, -1)) {
        if (!this.readLine(line)) skipped++;
      }
    }
    this.skipped = skipped;
  }

  /** The folder for a model digest and profile under the cache folder (`<store>/requests`). */
  static folder(cacheRoot: string, modelDigest: string, profile: CacheProfile): string {
    const sorted = (o: Record<string, unknown>): [string, unknown][] => Object.keys(o).sort().map((k) => [k, o[k]]);
    const p = sha(JSON.stringify(sorted({ ...profile, runtime: sorted(profile.runtime) })));
    return join(cacheRoot, modelDigest, p.slice(0, 24));
  }

  /** Open the folder, and say once (profile.json) what it holds, for people and for gc. */
  static open(cacheRoot: string, modelDigest: string, profile: CacheProfile): RequestCache {
    const dir = RequestCache.folder(cacheRoot, modelDigest, profile);
    const cache = new RequestCache(dir);
    const meta = join(dir, 'profile.json');
    if (!existsSync(meta)) {
      const tmp = `${meta}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, JSON.stringify({ model_digest: modelDigest, ...profile }, null, 1) + '\n');
        // A rename never leaves a half-written profile.json (another writer may race: same bytes).
        renameSync(tmp, meta);
      } catch {
        /* informational only */
      }
    }
    return cache;
  }

  private readLine(line: string): boolean {
    try {
      const o = JSON.parse(line) as { k?: unknown; v?: unknown; c?: unknown };
      if (typeof o.k !== 'string' || typeof o.v !== 'string' || typeof o.c !== 'string' || checksum(o.k, o.v) !== o.c) return false;
      this.entries.set(o.k, o.v);
      return true;
    } catch {
      return false;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get<T>(key: string): T | undefined {
    const v = this.entries.get(key);
    return v === undefined ? undefined : (decode(v) as T);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Store results: one append (one write call) for the whole batch. */
  put(items: [key: string, value: unknown][]): void {
    if (items.length === 0) return;
    let text = '';
    for (const [k, value] of items) {
      const v = encode(value);
      this.entries.set(k, v);
      text += JSON.stringify({ k, v, c: checksum(k, v) }) + '\n';
    }
    appendFileSync(this.file, text);
  }
}

export const requestKey = {
  conditional: (r: ConditionalRequest, reduction: Reduction): string => sha(JSON.stringify(['conditional', reduction, r.prefix, r.separator, r.continuation])),
  sequence: (text: string): string => sha(JSON.stringify(['sequence', text])),
  generate: (prompt: string, maxNewTokens: number): string => sha(JSON.stringify(['generate', maxNewTokens, prompt])),
};

export interface CacheCounters {
  /** Requests answered from the cache. */
  hits: number;
  /** Requests sent to the model (and stored, when cacheable). */
  misses: number;
  /** Requests that are never cached (sampled generations, next-token logits). */
  uncached: number;
}

/** A LanguageModel that answers from the cache what it can and stores what the model computes. */
export class CachedLanguageModel implements LanguageModel {
  readonly counters: CacheCounters = { hits: 0, misses: 0, uncached: 0 };
  /** Zero-token continuations among cached answers: the model did not see them, the counter should. */
  private cachedZeroTokens = 0;

  constructor(
    readonly inner: LanguageModel,
    readonly cache: RequestCache,
    /** false: compute every request again and store it (a forced stage); nothing is read. */
    readonly reuse = true,
  ) {}

  get info(): ModelInfo {
    return this.inner.info;
  }

  /** The model's own counters (cached answers cost no forward pass), plus cached zero-token continuations. */
  get stats(): ScoringStats {
    const s = this.inner.stats;
    return { ...s, zeroTokenContinuations: s.zeroTokenContinuations + this.cachedZeroTokens };
  }

  /** Results for `keys`: hits from the cache, the misses computed in one call (in their order) and stored. */
  private async through<R>(keys: string[], compute: (missing: number[]) => Promise<R[]>, onHit?: (r: R) => void): Promise<R[]> {
    const out: (R | undefined)[] = keys.map((k) => (this.reuse ? this.cache.get<R>(k) : undefined));
    const missing = keys.flatMap((_k, i) => (out[i] === undefined ? [i] : []));
    if (onHit) for (const r of out) if (r !== undefined) onHit(r);
    this.counters.hits += keys.length - missing.length;
    if (missing.length > 0) {
      const results = await compute(missing);
      if (results.length !== missing.length) throw new Error(`the model returned ${results.length} results for ${missing.length} requests`);
      this.counters.misses += missing.length;
      missing.forEach((i, k) => (out[i] = results[k]));
      this.cache.put(missing.map((i, k) => [keys[i]!, results[k]]));
    }
    return out as R[];
  }

  conditional(requests: ConditionalRequest[], reduction: Reduction): Promise<ConditionalResult[]> {
    return this.through(
      requests.map((r) => requestKey.conditional(r, reduction)),
      (idx) => this.inner.conditional(idx.map((i) => requests[i]!), reduction),
      (r) => void (r.tokenIds.length === 0 && this.cachedZeroTokens++),
    );
  }

  sequence(texts: string[]): Promise<SequenceResult[]> {
    return this.through(
      texts.map((t) => requestKey.sequence(t)),
      (idx) => this.inner.sequence(idx.map((i) => texts[i]!)),
    );
  }

  async nextTokenLogits(texts: string[]): Promise<Float32Array[]> {
    this.counters.uncached += texts.length;
    return this.inner.nextTokenLogits(texts);
  }

  async generate(prompts: string[], maxNewTokens: number): Promise<GenerateResult[]> {
    // A sampled generation is a draw, not a function of the prompt: never reused.
    if (this.inner.info.generation.doSample) {
      this.counters.uncached += prompts.length;
      return this.inner.generate(prompts, maxNewTokens);
    }
    return this.through(
      prompts.map((p) => requestKey.generate(p, maxNewTokens)),
      (idx) => this.inner.generate(idx.map((i) => prompts[i]!), maxNewTokens),
    );
  }

  countTokens(text: string): number {
    return this.inner.countTokens(text);
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
