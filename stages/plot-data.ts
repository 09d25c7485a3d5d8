// Stage kind `plot-data`: the figures of the analysis from aggregate's tables. For each domain
// (var `domain`, or param `domains`, default all four) and figure — `by_method` (metric by method
// per model, grouped by family), `gap_vs_size` (demand gap against log10 parameters with per-family
// and overall fits) and, where there are revisions, `training_time` — it writes the series as CSV
// and JSON and the figure as SVG: one output per file (`<domain>_<figure>_<svg|json|csv>`),
// materialised at figures/<domain>_<figure>.<ext>.
// Params: familyOrder (default Pythia, OLMo, Gemma, Llama-2, Mistral; other families follow
// alphabetically), trainingTime (default: when a declared model has revisions).
// vega and vega-lite load lazily, only when a figure is drawn.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanContext, StageContext, StageKind } from '../src/engine/kind.js';
import { readCsvFile, type Table } from '../src/analysis/csv-io.js';
import { domainDef, DOMAINS, type Domain } from '../src/analysis/domains.js';
import { domainDeclarations, useDeclaredTasks } from '../src/tasks/registry.js';
import { DEFAULT_FAMILY_ORDER, ModelRegistry } from '../src/analysis/models.js';
import { plotDomain, plotOutputFiles } from '../src/analysis/plot-domain.js';
import { readParams } from '../src/engine/params.js';
import { where } from '../src/engine/kind-helpers.js';

export const plotParamDecls = {
  domains: { type: 'string-list', choices: DOMAINS, default: DOMAINS, doc: 'the domains to draw, when the stage has no `domain` matrix variable' },
  familyOrder: { type: 'string-list', default: DEFAULT_FAMILY_ORDER, doc: 'model families in legend order (others follow alphabetically)' },
  trainingTime: { type: 'boolean', doc: 'draw the training-time figures (default: when a declared model has revisions)' },
} as const;


export interface PlotParams {
  domains: Domain[];
  familyOrder: string[];
  trainingTime: boolean;
}

export function plotParams(ctx: PlanContext): PlotParams {
  useDeclaredTasks(ctx.spec.tasks);
  const p = readParams('plot-data', plotParamDecls, ctx.instance.params, where(ctx));
  const v = ctx.instance.vars['domain'];
  const raw: string[] = v !== undefined ? (Array.isArray(v) ? v : [v]) : p.domains;
  const domains = raw.map((d) => {
    try {
      return domainDef(String(d)).domain;
    } catch (e) {
      throw new Error(`${where(ctx)}: ${(e as Error).message}`);
    }
  });
  const trainingTime = p.trainingTime ?? new ModelRegistry(ctx.spec.models).all().some((m) => m.hasRevisions);
  return { domains, familyOrder: p.familyOrder, trainingTime };
}

/** The table aggregate wrote under `name`, from whichever input has it. */
function inputTable(ctx: StageContext, name: string, required: boolean): Table | undefined {
  for (const input of ctx.inputs) {
    const o = input.outputs[name];
    if (o) return readCsvFile(o.path);
  }
  if (required) throw new Error(`${where(ctx)}: no input has an output named ${name}; add the aggregate stage of that domain to this stage's inputs`);
  return undefined;
}

export const plotData: StageKind = {
  name: 'plot-data',
  description: 'Figure series (CSV, JSON) and SVG figures from the aggregate tables',
  libraries: ['vega', 'vega-lite', 'csv-parse'],
  params: plotParamDecls,
  isolation: 'inline',
  outputs(ctx) {
    const { domains, trainingTime } = plotParams(ctx);
    return domains.flatMap((d) => plotOutputFiles(d, trainingTime))
      .map((f) => ({ name: f.name, type: 'file' as const, materialize: `figures/${f.file}` }));
  },
  plan(ctx) {
    const params = plotParams(ctx);
    return { ...params, ...Object.assign({}, ...params.domains.map((d) => domainDeclarations(d, ctx.spec.tasks))) };
  },
  async execute(ctx: StageContext): Promise<void> {
    const params = plotParams(ctx);
    for (const domain of params.domains) {
      const wantTT = domainDef(domain).trainingTime && params.trainingTime;
      const gapName = domainDef(domain).metric === 'correct' ? `${domain}_log_odds_diff` : `${domain}_logprob_diff`;
      const files = await plotDomain(domain, {
        longSize: inputTable(ctx, `${domain}_long_size`, true)!,
        gap: inputTable(ctx, gapName, true)!,
        longTrainingTime: wantTT ? inputTable(ctx, `${domain}_long_training_time`, true) : undefined,
      }, { familyOrder: params.familyOrder, trainingTime: params.trainingTime });
      for (const f of files) writeFileSync(join(ctx.outDir, f.name), f.content);
      ctx.log(`plot-data ${domain}: ${files.filter((f) => f.file.endsWith('.svg')).map((f) => f.file).join(', ')}`);
    }
  },
};

export default plotData;
