// Stage kind `aggregate`: the analysis tables of one domain (var `domain`: digit_mat, crt, lambada
// or syntax) from score outputs — upstream outputs named `csv` (score stages; vars model, revision,
// task, condition) or `scores` (a folder laid out like output/, from import) — plus optional
// upstream outputs named `annotations` (crt hand labels; docs/analysis.md). Each table is its own
// file output, materialised at processed_data/<domain>_..., so one aggregate per domain never
// collides with another.
// Params: finalStep (training step of the final weights of models that declare no
// display.final_step; default: one sweep interval past the model's last revision step),
// trainingTime (write the training-time tables; default: when a declared model has revisions),
// leaveOut (short names of declared models whose scores are not analysed; the paper scored gpt2 on
// crt1 but analysed only its 13 models).
// plan() keys the stage on the declared models' display metadata, so renaming a model re-runs
// aggregation but not scoring.

import { writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import type { ModelSpec, PlanContext, StageContext, StageInput, StageKind } from '../src/engine/kind.js';
import { aggregateDomain, aggregateOutputFiles } from '../src/analysis/aggregate-domain.js';
import { readAnnotations, type Annotations } from '../src/analysis/annotations.js';
import { domainDef, domainNames, DOMAINS, type Domain } from '../src/analysis/domains.js';
import { domainDeclarations, domainPluginFiles, useDeclaredTasks } from '../src/tasks/registry.js';
import { displayMetadata, ModelRegistry } from '../src/analysis/models.js';
import { loadScoreFile, scanOutputLayout, type ScoreFile, type ScoreFileRef } from '../src/analysis/score-files.js';
import { readParams } from '../src/engine/params.js';
import { where } from '../src/engine/kind-helpers.js';

/**
 * The declared models, a model without a size (no number in its display name, no params_b) sized
 * by the parameter count its score stages recorded (from build-model or convert-model).
 */
export function sizedModels(ctx: StageContext): ModelSpec[] {
  const counted = new Map<string, number>();
  for (const input of ctx.inputs) {
    const n = input.info['model_parameters'];
    const model = str(input.vars['model']);
    if (typeof n === 'number' && n > 0 && model) counted.set(model, n);
  }
  return ctx.spec.models.map((m) => {
    const n = counted.get(m.name);
    return m.display.params_b === null && n !== undefined ? { ...m, display: { ...m.display, params_b: n / 1e9 } } : m;
  });
}

export const aggregateParamDecls = {
  domain: { type: 'string', choices: DOMAINS, doc: 'the analysis domain, when the stage has no `domain` matrix variable' },
  finalStep: { type: 'integer', min: 1, doc: 'training step of the final weights (revision "") of models that declare no display.final_step (default: one sweep interval past the last revision step)' },
  trainingTime: { type: 'boolean', doc: 'write the training-time tables (default: when a declared model has revisions)' },
  leaveOut: { type: 'string-list', doc: 'short names of declared models whose scores are not analysed' },
} as const;


function str(v: string | string[] | undefined): string {
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

export function aggregateDomainVar(ctx: PlanContext): Domain {
  useDeclaredTasks(ctx.spec.tasks);
  const d = str(ctx.instance.vars['domain']) || (readParams('aggregate', aggregateParamDecls, ctx.instance.params, where(ctx)).domain ?? '');
  if (!d) throw new Error(`${where(ctx)}: var "domain" is required (${domainNames().join(', ')})`);
  try {
    return domainDef(d).domain;
  } catch (e) {
    throw new Error(`${where(ctx)}: ${(e as Error).message}`);
  }
}

export interface AggregateParams {
  finalStep?: number;
  trainingTime: boolean;
  leaveOut?: string[];
}

export function aggregateParams(ctx: PlanContext): AggregateParams {
  const p = readParams('aggregate', aggregateParamDecls, ctx.instance.params, where(ctx));
  const trainingTime = p.trainingTime ?? new ModelRegistry(ctx.spec.models).all().some((m) => m.hasRevisions);
  const names = new Set(ctx.spec.models.map((m) => m.name));
  for (const n of p.leaveOut ?? []) {
    if (!names.has(n)) throw new Error(`${where(ctx)}: param "leaveOut" names ${JSON.stringify(n)}, which is not a declared model's short name`);
  }
  return {
    trainingTime,
    ...(p.finalStep === undefined ? {} : { finalStep: p.finalStep }),
    ...(p.leaveOut === undefined || p.leaveOut.length === 0 ? {} : { leaveOut: p.leaveOut }),
  };
}

/** The score files behind the inputs, attributed to declared models; duplicates are errors. */
export function collectScoreFiles(ctx: StageContext, models: ModelRegistry, tasks: string[]): ScoreFileRef[] {
  const refs: ScoreFileRef[] = [];
  const add = (ref: ScoreFileRef, from: string): void => {
    if (!tasks.includes(ref.task)) return;
    const dup = refs.find((r) => r.task === ref.task && r.condition === ref.condition && r.model.name === ref.model.name && r.revision === ref.revision);
    if (dup) {
      throw new Error(`${where(ctx)}: two inputs give ${ref.task}${ref.condition ? `/${ref.condition}` : ''} scores of ${ref.model.name}` +
        `${ref.revision ? ` at ${ref.revision}` : ''} (${dup.path} and ${ref.path}, from ${from}); keep one`);
    }
    refs.push(ref);
  };
  for (const input of ctx.inputs) {
    const csv = input.outputs['csv'];
    if (csv) {
      const task = str(input.vars['task']);
      const name = str(input.vars['model']);
      const model = models.get(name);
      if (!model) {
        if (tasks.includes(task)) ctx.warn(`aggregate: input ${input.stageId} is for undeclared model ${JSON.stringify(name)}; ignored`);
      } else {
        const ref: ScoreFileRef = { task, condition: str(input.vars['condition']), model, revision: str(input.vars['revision']), path: csv.path };
        if (csv.materialized) ref.shown = shownPath(ctx, csv.materialized);
        add(ref, input.stageId);
      }
    }
    const scores = input.outputs['scores'];
    if (scores) {
      const scan = scanOutputLayout(scores.path, models);
      for (const s of scan.skipped) if (tasks.some((t) => s.startsWith(`${t}/`))) ctx.warn(`aggregate: ${s}; ignored`);
      // Name the imported original in messages (import records its folder), not the store's copy.
      const source = input.info['source_dir'];
      for (const ref of scan.files) {
        if (typeof source === 'string') ref.shown = shownPath(ctx, join(source, relative(scores.path, ref.path)));
        add(ref, input.stageId);
      }
    }
  }
  return refs;
}

/** A path for messages: relative to the project folder when inside it. */
function shownPath(ctx: StageContext, path: string): string {
  const rel = relative(ctx.spec.projectDir, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function collectAnnotations(inputs: StageInput[], models: ModelRegistry): Annotations {
  const out: Annotations = new Map();
  for (const input of inputs) {
    const a = input.outputs['annotations'];
    const shown = input.info['source'];
    if (a) readAnnotations(a.path, models, out, typeof shown === 'string' ? shown : a.path);
  }
  return out;
}

export const aggregate: StageKind = {
  name: 'aggregate',
  description: 'Wide and long tables, demand gaps (log odds) and training-time regressions of one analysis domain',
  libraries: ['csv-parse', 'ml-matrix', 'jstat'],
  params: aggregateParamDecls,
  isolation: 'inline',
  outputs(ctx) {
    const domain = aggregateDomainVar(ctx);
    const { trainingTime } = aggregateParams(ctx);
    return aggregateOutputFiles(domain, trainingTime).map((f) => ({ name: f.name, type: 'file' as const, materialize: `processed_data/${f.file}` }));
  },
  async plan(ctx) {
    const domain = aggregateDomainVar(ctx);
    const plugins = await Promise.all(domainPluginFiles(domain).map(async (p) => (await ctx.digest(p)).digest));
    return { domain, ...aggregateParams(ctx), models: displayMetadata(ctx.spec.models), ...domainDeclarations(domain, ctx.spec.tasks), ...(plugins.length ? { task_plugins: plugins } : {}) };
  },
  async execute(ctx: StageContext): Promise<void> {
    const domain = aggregateDomainVar(ctx);
    const params = aggregateParams(ctx);
    const models = new ModelRegistry(sizedModels(ctx));
    const leaveOut = new Set(params.leaveOut ?? []);
    const refs = collectScoreFiles(ctx, models, domainDef(domain).tasks).filter((r) => !leaveOut.has(r.model.name));
    const files: ScoreFile[] = refs.map(loadScoreFile);
    const annotations = collectAnnotations(ctx.inputs, models);
    const missing = models.all().filter((m) => !leaveOut.has(m.name) && !refs.some((r) => r.model.name === m.name && r.revision === ''));
    for (const m of missing) ctx.warn(`aggregate ${domain}: no scores for the final weights of ${m.name}; it is left out`);
    const result = aggregateDomain(domain, files, { trainingTime: params.trainingTime, ...(params.finalStep === undefined ? {} : { finalStep: params.finalStep }), annotations });
    for (const w of result.warnings) ctx.warn(w);
    for (const f of result.files) writeFileSync(join(ctx.outDir, f.name), f.content);
    ctx.record('score_files', files.length);
    ctx.record('rows', result.counts);
    ctx.log(`aggregate ${domain}: ${files.length} score file(s) → ${result.files.map((f) => f.file).join(', ')}`);
  },
};

export default aggregate;
