// Stage kind `statistics`: the paper's size mixed models (analysis/lmers.R) for one domain (var
// `domain`), fitted by Rscript with lme4 and lmerTest on the `<domain>_long_size` table of an
// upstream aggregate. Outputs `<domain>_lmer_size` (what summary() prints, as the paper's
// analysis/lmers/<domain>_lmer_size.txt) and `<domain>_lmer_size_effects` (CSV: fixed effects,
// random-effect variances, fit criteria), materialised under lmers/.
// plan() checks that Rscript and the packages are there (a missing one fails the stage before it
// runs, with the install command) and keys the stage on their versions, which change the numbers.
// Params (declared: a misspelt one is a located error): `rscript`, the Rscript to call (default
// `Rscript` on PATH, or $RSCRIPT); `domain`, when the stage has no var `domain`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanContext, StageContext, StageKind } from '../src/engine/kind.js';
import { domainDef, domainNames, type Domain } from '../src/analysis/domains.js';
import { domainDeclarations, useDeclaredTasks } from '../src/tasks/registry.js';
import { checkR, runRscript } from '../src/analysis/rscript.js';
import { R_CHECK_PROGRAM, R_FIT_PROGRAM, R_INSTALL_HINT, R_PACKAGES, sizeModelFiles, sizeModelFormula, sizeModelOutcome } from '../src/analysis/size-lmer.js';
import { where } from '../src/engine/kind-helpers.js';
import { readParams } from '../src/engine/params.js';

export const statisticsParams = {
  domain: { type: 'string', doc: 'the analysis domain (digit_mat, crt, lambada, syntax or a declared task\'s), when the stage has no var domain' },
  rscript: { type: 'string', doc: 'the Rscript program to call (default: $RSCRIPT, or Rscript on PATH)' },
} as const;

function params(ctx: PlanContext): { domain: string | undefined; rscript: string | undefined } {
  return readParams('statistics', statisticsParams, ctx.instance.params, where(ctx));
}

function statisticsDomain(ctx: PlanContext): Domain {
  useDeclaredTasks(ctx.spec.tasks);
  const v = ctx.instance.vars['domain'];
  const d = (Array.isArray(v) ? v[0] : v) ?? params(ctx).domain ?? '';
  if (!d) throw new Error(`${where(ctx)}: var "domain" is required (${domainNames().join(', ')})`);
  try {
    return domainDef(d).domain;
  } catch (e) {
    throw new Error(`${where(ctx)}: ${(e as Error).message}`);
  }
}

function rscriptPath(ctx: PlanContext): string {
  return params(ctx).rscript ?? process.env['RSCRIPT'] ?? 'Rscript';
}

export const statistics: StageKind = {
  name: 'statistics',
  description: 'The paper\'s size mixed models (lme4 glmer/lmer via Rscript) on an aggregate\'s long size table',
  params: statisticsParams,
  isolation: 'inline',
  outputs(ctx) {
    return sizeModelFiles(statisticsDomain(ctx)).map((f) => ({ name: f.name, type: 'file' as const, materialize: `lmers/${f.file}` }));
  },
  // R, lme4 and lmerTest, asked once per process: a dry run says "blocked" while the aggregate it
  // waits on would still run.
  async preflight(ctx) {
    const check = await checkR(rscriptPath(ctx), R_PACKAGES, R_CHECK_PROGRAM);
    if (!check.ok) throw new Error(`${where(ctx)}: ${check.reason}; ${R_INSTALL_HINT}`);
  },
  async plan(ctx) {
    const domain = statisticsDomain(ctx);
    const check = await checkR(rscriptPath(ctx), R_PACKAGES, R_CHECK_PROGRAM);
    if (!check.ok) throw new Error(`${where(ctx)}: ${check.reason}; ${R_INSTALL_HINT}`);
    return { domain, formula: sizeModelFormula(domain), r: check.r, packages: check.packages, blas: check.blas, ...domainDeclarations(domain, ctx.spec.tasks) };
  },
  async execute(ctx: StageContext): Promise<void> {
    const domain = statisticsDomain(ctx);
    const table = `${domain}_long_size`;
    const input = ctx.inputs.find((i) => i.outputs[table]);
    if (!input) throw new Error(`${where(ctx)}: no input has an output named ${table}; add the aggregate stage of that domain to this stage's needs`);
    mkdirSync(ctx.tmpDir, { recursive: true });
    const program = join(ctx.tmpDir, 'size-lmer.R');
    writeFileSync(program, R_FIT_PROGRAM);
    const [summary, effects] = sizeModelFiles(domain);
    const started = Date.now();
    const out = await runRscript(rscriptPath(ctx), program,
      [input.outputs[table]!.path, sizeModelOutcome(domain), join(ctx.outDir, summary!.name), join(ctx.outDir, effects!.name)], ctx.signal);
    const seconds = (Date.now() - started) / 1000;
    for (const line of out.stdout.split('\n')) if (line.startsWith('WARNING: ')) ctx.warn(`statistics ${domain}: R: ${line.slice(9).trim()}`);
    ctx.record('fit_seconds', seconds);
    ctx.log(`statistics ${domain}: ${sizeModelFormula(domain)} fitted in ${seconds.toFixed(1)} s`);
  },
};

export default statistics;
