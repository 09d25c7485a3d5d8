// score: run one task (× condition) over its stimuli with one model instance (model@revision) and
// write the paper-format CSV and requests.jsonl. Runs in a model worker that keeps the loaded model
// in processCache, so every score stage of the same instance reuses it (one load per run).

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import type { PlanContext, StageContext, StageInput, StageKind } from '../src/engine/kind.js';
import { cudaProviderProblem, deviceOrdinals, gpuStageProblem } from '../src/engine/gpus.js';
import type { ExtraLoadOptions } from '../src/lm/index.js';
import type { LanguageModel } from '../src/lm/types.js';
import { isModelFaultMessage, ModelLoadError } from '../src/lm/errors.js';
import { readParams } from '../src/engine/params.js';
import { defaultMaxNewTokens, runTask } from '../src/tasks/run-task.js';
import { getTask, useDeclaredTasks } from '../src/tasks/registry.js';
import { CachedLanguageModel, RequestCache, runtimeVersions } from '../src/lm/request-cache.js';
import { one } from '../src/engine/kind-helpers.js';

function names(ctx: PlanContext): { task: string; condition: string; model: string; revision: string } {
  const task = one(ctx, 'task') || ctx.task?.name || '';
  const model = one(ctx, 'model') || ctx.model?.name || '';
  if (!task || !model) throw new Error(`stage ${ctx.instance.id}: score needs vars.task and vars.model`);
  return { task, condition: one(ctx, 'condition'), model, revision: one(ctx, 'revision') };
}

export function csvPath(task: string, condition: string, model: string, revision: string): string {
  return `output/${task}${condition ? `/${condition}` : ''}/${model}${revision ? `_${revision}` : ''}.csv`;
}

export const scoreParams = {
  limit: { type: 'integer', min: 0, default: 0, doc: 'score only the first n items of the task (0: every item)' },
  max_new_tokens: { type: 'integer', min: 1, doc: 'tokens to generate in free production (default: the config, else 10 for digit_mat and 100 otherwise)' },
  plain: { type: 'boolean', default: false, doc: 'use the plain one-sequence-at-a-time reference path instead of the fast batched one' },
  force_greedy: { type: 'boolean', default: false, doc: 'decode greedily even when generation_config.json turns sampling on' },
  batch_tokens: { type: 'integer', min: 1, doc: 'token budget per forward batch of the fast path' },
  chunk_requests: { type: 'integer', min: 1, default: 2048, doc: 'requests per model call; each call\'s results are stored in the request cache as it completes' },
  parts: { type: 'integer', min: 1, doc: 'run the scoring graph as this many consecutive layer parts, part i on GPU i (default: the number of GPUs given)' },
  request_cache: { type: 'boolean', default: true, doc: 'answer requests already computed for this model, runtime and options from the store\'s request cache (src/lm/request-cache.ts)' },
} as const;

function optionalInt(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} in the config must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** The upstream output with this name (model, stimuli, config), whichever stage produced it. */
function inputNamed(ctx: StageContext, output: string): { input: StageInput; path: string } {
  let hits = ctx.inputs.filter((i) => output in i.outputs);
  // A converted checkpoint is the model to load when the fetched one is an input as well.
  if (output === 'model' && hits.length > 1) hits = hits.filter((i) => i.kind === 'convert-model');
  if (hits.length !== 1) {
    const seen = ctx.inputs.map((i) => `${i.stageId} (${Object.keys(i.outputs).join(', ')})`).join('; ') || 'none';
    throw new Error(`stage ${ctx.instance.id}: needs exactly one input with output "${output}", found ${hits.length} (inputs: ${seen})`);
  }
  return { input: hits[0]!, path: hits[0]!.outputs[output]!.path };
}

/** `parameters` (build-model) or `convert.parameters` (convert-model) of a model stage's record. */
export function countedParameters(info: Record<string, unknown>): number | null {
  const convert = info['convert'] as { parameters?: unknown } | undefined;
  const n = info['parameters'] ?? convert?.parameters;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : null;
}

interface CachedModel {
  key: string;
  lm: LanguageModel;
}

const CACHE_SLOT = 'score:lm';
const LOADS_SLOT = 'score:model_loads';

/** The worker's loaded model for this folder and options, loading (and replacing) it when needed. */
async function modelFor(ctx: StageContext, folder: string, opts: ExtraLoadOptions): Promise<{ lm: LanguageModel; loaded: boolean }> {
  const key = `${folder}|${JSON.stringify(opts)}`;
  const cached = ctx.processCache.get(CACHE_SLOT) as CachedModel | undefined;
  if (cached && cached.key === key) return { lm: cached.lm, loaded: false };
  if (cached) {
    // One model per worker: release the previous one before loading another multi-GB model.
    ctx.processCache.delete(CACHE_SLOT);
    await cached.lm.dispose().catch(() => undefined);
  }
  const { loadLanguageModel } = await import('../src/lm/index.js');
  let lm: LanguageModel;
  try {
    lm = await loadLanguageModel(folder, opts);
  } catch (e) {
    // Name the model and the stage that provided it: the folder itself is a store checkout.
    const from = ctx.inputs.find((i) => i.outputs['model']);
    const what = `model ${ctx.model?.id ?? '?'}${ctx.instance.vars['revision'] ? ` revision ${String(ctx.instance.vars['revision'])}` : ''}`;
    const raw = e instanceof Error ? e.message : String(e);
    throw new ModelLoadError(`cannot load ${what} (from ${from?.stageId ?? 'its fetch stage'}; is it a converted model or a transformers.js ONNX export for ${opts.dtype ?? 'fp32'}?): ${raw.replace(/^cannot load language model from folder "[^"]*" /, '')}`);
  }
  ctx.processCache.set(CACHE_SLOT, { key, lm } satisfies CachedModel);
  ctx.processCache.set(LOADS_SLOT, ((ctx.processCache.get(LOADS_SLOT) as number | undefined) ?? 0) + 1);
  return { lm, loaded: true };
}

/** The score kind's cache folder (StageContext.cacheDir) of per-request results: `<store>/requests`. */
const REQUEST_CACHE = 'requests';

/** The request cache of this model and options, opened (read) once per worker: its stages share it. */
function requestCache(ctx: StageContext, cacheRoot: string, modelDigest: string, opts: ExtraLoadOptions, lm: LanguageModel): RequestCache {
  const profile = {
    runtime: runtimeVersions(),
    dtype: opts.dtype ?? 'fp32',
    device: opts.device ?? 'cpu',
    // The path that really runs: plain, fast, or the converter's scoring graph (in how many parts).
    path: lm.info.scoringPath ?? (opts.plain ? ('plain' as const) : ('fast' as const)),
    parts: opts.parts ?? 1,
    batchTokens: opts.batchTokens ?? null,
    forceGreedy: !!opts.forceGreedy,
  };
  const slot = `score:request-cache:${RequestCache.folder(cacheRoot, modelDigest, profile)}`;
  let cache = ctx.processCache.get(slot) as RequestCache | undefined;
  if (!cache) {
    cache = RequestCache.open(cacheRoot, modelDigest, profile);
    ctx.processCache.set(slot, cache);
  }
  return cache;
}

export const scoreKind: StageKind = {
  name: 'score',
  description: 'score one task (× condition) with one model instance: the paper-format CSV plus requests.jsonl',
  libraries: ['@huggingface/transformers', '@huggingface/tokenizers', 'onnxruntime-node'],
  params: scoreParams,
  isolation: 'worker',
  // An hour to load the model and answer the first batch, then a minute per request (its
  // reported progress gives the count): generous on a CPU, yet a stage stuck for good (a tokenizer's
  // backtracking regex) ends. timeouts: { score: … } or --stage-timeout set another.
  timeout: { baseMs: 3_600_000, perItemMs: 60_000 },
  affinity(ctx) {
    const { model, revision } = names(ctx);
    return revision ? `${model}@${revision}` : model;
  },
  resources(ctx) {
    const declared = ctx.model?.resources;
    return declared && Object.keys(declared).length > 0 ? { ...declared } : { cpu: 1 };
  },
  outputs(ctx) {
    const { task, condition, model, revision } = names(ctx);
    return [
      { name: 'csv', type: 'file', materialize: csvPath(task, condition, model, revision) },
      { name: 'requests', type: 'file' },
    ];
  },
  async plan(ctx) {
    // A stage given GPUs on a host without the CUDA provider would only fail once loaded: say so now.
    const problem = await gpuStageProblem(ctx.model?.resources?.gpu ?? 0);
    if (problem) throw new Error(`stage ${ctx.instance.id} asks for GPUs: ${problem}`);
    // The model, stimuli and config arrive as inputs (their digests are in the key already); the
    // display id written into the `model` column is not, so it is named here.
    // A declared task's definition (form, columns, templates) is data, not code: key on it.
    // A plugin task's module is code outside the project's import graph: key on its content.
    const plugin = getTask(names(ctx).task)?.source;
    return {
      model_id: ctx.model?.id ?? names(ctx).model,
      ...(ctx.task?.declared ? { declared_task: ctx.task.declared } : {}),
      ...(plugin ? { task_plugin: (await ctx.digest(plugin)).digest } : {}),
    };
  },

  async execute(ctx: StageContext) {
    useDeclaredTasks(ctx.spec.tasks);
    const { task, condition, model, revision } = names(ctx);
    const params = readParams('score', scoreParams, ctx.instance.params, `stage ${ctx.instance.id}`);
    const modelDir = inputNamed(ctx, 'model').path;
    const stimuliPath = inputNamed(ctx, 'stimuli').path;
    const config = (parse(readFileSync(inputNamed(ctx, 'config').path, 'utf8')) ?? {}) as Record<string, unknown>;
    const maxNewTokens = params.max_new_tokens ?? optionalInt(config.max_new_tokens, 'max_new_tokens') ?? defaultMaxNewTokens(task);
    // limit 0 (the pipelines' default var value) means every item, as no limit does.
    const limit = params.limit > 0 ? params.limit : undefined;
    // Several GPUs: the scoring graph runs as that many consecutive layer parts, part i on GPU i
    // (what accelerate's device_map="auto" did in the paper); the param `parts` overrides.
    const parts = params.parts ?? (ctx.gpus.length > 1 ? ctx.gpus.length : 1);
    const opts: ExtraLoadOptions = {
      device: ctx.gpus.length > 0 ? 'cuda' : 'cpu',
      ...(ctx.gpus.length > 0 ? { deviceIds: deviceOrdinals(ctx.gpus) } : {}),
      ...(parts > 1 ? { parts } : {}),
      dtype: (typeof config.dtype === 'string' && config.dtype) || ctx.model?.dtype || 'fp32',
      plain: params.plain,
      forceGreedy: params.force_greedy,
      ...(params.batch_tokens !== undefined ? { batchTokens: params.batch_tokens } : {}),
      // onnxruntime's intra-op threads = the cpus the scheduler granted (resources.cpu, default 1),
      // so stages side by side never oversubscribe the pool (src/lm/threads.ts).
      ...(ctx.cpus > 0 ? { threads: ctx.cpus } : {}),
    };

    if (opts.device === 'cuda') {
      const problem = cudaProviderProblem();
      if (problem) throw new Error(`stage ${ctx.instance.id} was given GPUs ${ctx.gpus.join(',')}: ${problem}`);
    }
    const t0 = Date.now();
    const { lm: loadedLm, loaded } = await modelFor(ctx, modelDir, opts);
    // Per-request results, keyed by the model's content digest, runtime and options: a killed stage
    // resumes where it stopped, a larger limit computes only the new items.
    const cacheRoot = params.request_cache ? ctx.cacheDir(REQUEST_CACHE) : undefined;
    const modelDigest = inputNamed(ctx, 'model').input.outputs['model']!.digest;
    const lm = cacheRoot ? new CachedLanguageModel(loadedLm, requestCache(ctx, cacheRoot, modelDigest, opts, loadedLm), !ctx.forced) : loadedLm;
    ctx.record('model_loads', loaded ? 1 : 0);
    ctx.record('model_loads_in_worker', ctx.processCache.get(LOADS_SLOT) ?? 0);
    // The parameter count the model's build or convert stage recorded, for aggregate (model sizes).
    const counted = countedParameters(inputNamed(ctx, 'model').input.info);
    if (counted !== null) ctx.record('model_parameters', counted);
    ctx.log(`${loaded ? 'loaded' : 'reusing'} ${model}${revision ? `@${revision}` : ''} (${opts.device}, ${opts.dtype}, ${lm.info.scoringPath ?? 'fast'} path${opts.parts ? `, ${opts.parts} parts` : ''})${loaded ? ` in ${((Date.now() - t0) / 1000).toFixed(1)} s` : ''}`);

    let lastLog = 0;
    const t1 = Date.now();
    const statsBefore = { ...lm.stats };
    const result = await runTask({
      task,
      condition: condition || undefined,
      stimuliPath,
      lm,
      model: ctx.model?.id ?? model,
      revision,
      limit,
      maxNewTokens,
      chunkSize: params.chunk_requests,
      onProgress(done, total, unit = 'requests') {
        // Progress is reported between LM calls: the place to stop a cancelled run.
        if (ctx.signal.aborted) throw new Error('cancelled');
        const now = Date.now();
        if (now - lastLog > 1000 || done === total) {
          lastLog = now;
          // Reporters show the structured progress; the line is for the stage's log.
          ctx.progress?.({ done, total, unit });
          ctx.log(`${task}${condition ? `/${condition}` : ''}: ${done}/${total} ${unit}`);
        }
      },
    });
    if (ctx.signal.aborted) throw new Error('cancelled');
    // A score the model cannot compute (NaN, an id past its embedding) is the model's fault, not
    // one item's: the stage fails rather than writing empty cells (issue 17).
    const fault = result.failures.find((f) => isModelFaultMessage(f.message));
    if (fault) throw new Error(`stage ${ctx.instance.id}: item ${fault.item}: ${fault.message}`);

    await writeFile(join(ctx.outDir, 'csv'), result.csv);
    await writeFile(join(ctx.outDir, 'requests'), result.requests.map((r) => JSON.stringify(r)).join('\n') + (result.requests.length ? '\n' : ''));

    for (const w of result.warnings) ctx.warn(w);
    ctx.record('generation', { ...lm.info.generation, max_new_tokens: maxNewTokens });
    ctx.record('threads', opts.threads ?? null);
    ctx.record('model_info', { modelType: lm.info.modelType, vocabSize: lm.info.vocabSize, contextLength: lm.info.contextLength, device: lm.info.device, dtype: lm.info.dtype, scoringPath: lm.info.scoringPath ?? null, parts: lm.info.parts ?? 1 });
    ctx.record('counters', {
      ...result.counters,
      forward_tokens: lm.stats.forwardTokens - statsBefore.forwardTokens,
      forward_calls: lm.stats.forwardCalls - statsBefore.forwardCalls,
      seconds: (Date.now() - t1) / 1000,
    });
    if (lm instanceof CachedLanguageModel) {
      ctx.record('request_cache', { ...lm.counters, folder: join(REQUEST_CACHE, relative(cacheRoot!, lm.cache.dir)), skipped_lines: lm.cache.skipped });
      ctx.log(`request cache: ${lm.counters.hits} answered from the cache, ${lm.counters.misses} computed${lm.counters.uncached ? `, ${lm.counters.uncached} never cached` : ''}`);
    }
    ctx.record('warnings', result.warnings);
    ctx.record('failures', result.failures);
    ctx.record('limit', limit ?? null);
    ctx.log(`${task}${condition ? `/${condition}` : ''}: ${result.counters.items} rows, ${result.requests.length} requests, ${result.failures.length} failed items in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  },
};

export default scoreKind;
