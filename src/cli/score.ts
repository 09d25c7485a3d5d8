// `pipeline score`: the researcher's quick path, as the paper's own command line was. It builds a
// one-model, one-task pipeline in memory (fetch-model, convert-model, fetch-stimuli, build-config,
// score) and runs it through the same engine and cache, then prints where the CSV and
// requests.jsonl are. `--model` is a hub id or a folder (an ONNX export, or a PyTorch checkpoint
// in the hub's layout): a checkpoint is converted on the way, once; an export passes through.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { stringify } from 'yaml';
import { Engine } from '../engine/engine.js';
import { parseSpec } from '../engine/spec.js';
import { builtinTaskNames, getTask } from '../tasks/registry.js';
import { KindRegistry } from '../engine/registry.js';
import { didYouMean } from '../engine/diagnostics.js';
import { paramProblems, type ParamDecls } from '../engine/params.js';
import { engineOptions, EXIT, UsageError, type GlobalOpts } from './main.js';
import { lineReporter } from './reporters/lines.js';

interface ScoreFlags {
  model: string;
  task: string;
  condition?: string;
  revision?: string;
  limit?: string;
  dtype?: string;
  param: string[];
  json?: boolean;
}

/**
 * `--limit n` and each `--param k=v` (also `--set k=v`) as the score stage's params, checked against
 * the score kind's declarations so that a typo or a bad value stops here, before anything loads.
 */
export function scoreStageParams(f: Pick<ScoreFlags, 'limit' | 'param'> & { set?: string[] }, decls: ParamDecls): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  const flagOf = new Map<string, string>();
  if (f.limit !== undefined) {
    params['limit'] = f.limit;
    flagOf.set('limit', `--limit ${f.limit}`);
  }
  for (const [flag, list] of [['--set', f.set ?? []], ['--param', f.param]] as const) {
    for (const kv of list) {
      const i = kv.indexOf('=');
      if (i <= 0) throw new UsageError(`${flag} expects name=value, got "${kv}"`);
      params[kv.slice(0, i)] = kv.slice(i + 1);
      flagOf.set(kv.slice(0, i), `${flag} ${kv}`);
    }
  }
  const problems = paramProblems('score', decls, params);
  if (problems.length) throw new UsageError(problems.map((p) => `${flagOf.get(p.name)}: ${p.message}`).join('\n'));
  return params;
}

/** The pipeline text `score` runs; exported so tests and docs can show it. */
export function scorePipeline(f: ScoreFlags & { set?: string[] }, cwd: string, decls: ParamDecls): string {
  const names = builtinTaskNames();
  const def = getTask(f.task);
  if (!def || !names.includes(f.task)) throw new UsageError(`unknown task "${f.task}"${didYouMean(f.task, names)}; choose one of ${names.join(', ')}`);
  const known = [...def.conditions];
  if (f.condition && known.length === 0) throw new UsageError(`--condition applies to tasks with conditions only (task ${f.task} has no conditions)`);
  if (f.condition && !known.includes(f.condition)) throw new UsageError(`--condition ${f.condition}: unknown ${f.task} condition${didYouMean(f.condition, known)}; ${f.task} has conditions ${known.join(', ')}`);
  const folder = resolve(cwd, f.model);
  const isFolder = existsSync(folder) && statSync(folder).isDirectory();
  const model: Record<string, unknown> = isFolder ? { id: basename(folder), path: folder } : { id: f.model };
  if (f.revision) model['revisions'] = [f.revision];
  if (f.dtype) model['dtype'] = f.dtype;
  const params = scoreStageParams(f, decls);
  const task: Record<string, unknown> = {};
  if (known.length > 0) task['conditions'] = [f.condition ?? known[0]!];
  const rev = f.revision ? [f.revision] : [''];
  const doc = {
    version: 1,
    models: [model],
    tasks: { [f.task]: task },
    stages: {
      'fetch-model': { uses: 'fetch-model', matrix: { model: '$models', revision: rev } },
      'convert-model': { uses: 'convert-model', matrix: { model: '$models', revision: rev }, needs: ['fetch-model'] },
      'fetch-stimuli': { uses: 'fetch-stimuli', matrix: { task: '$tasks' } },
      'build-config': { uses: 'build-config', matrix: { task: '$tasks', condition: '$conditions', model: '$models' }, needs: ['fetch-model'] },
      score: { uses: 'score', matrix: { task: '$tasks', condition: '$conditions', model: '$models', revision: rev }, needs: ['convert-model', 'fetch-stimuli', 'build-config'], params },
    },
  };
  return stringify(doc);
}

export async function scoreCommand(g: GlobalOpts, f: Record<string, unknown>): Promise<number> {
  const flags = f as unknown as ScoreFlags;
  // Without a pipeline file there are no vars: `--set k=v` sets a score param, as `--param` does.
  flags.param = flags.param ?? [];
  const { scoreParams } = await import('../../stages/score.js');
  const text = scorePipeline({ ...flags, set: g.set }, process.cwd(), scoreParams);
  // Kept on disk so that `pipeline -f .pipeline-score.yaml inspect|status …` can look at this run.
  const file = resolve(process.cwd(), '.pipeline-score.yaml');
  writeFileSync(file, `# written by \`pipeline score\` (the last call); inspect with: npx pipeline -f .pipeline-score.yaml inspect <stage>\n${text}`);
  const spec = parseSpec(text, file, { kinds: new KindRegistry().names() });
  const opts = engineOptions({ ...g, set: [] });
  opts.spec = spec;
  const json = !!(flags.json || g.json);
  opts.reporter = json ? () => undefined : lineReporter((l) => void process.stderr.write(l + '\n'));
  const engine = await Engine.open(opts);
  const summary = await engine.run({});
  if (summary.failed || summary.blocked) {
    if (json) process.stdout.write(JSON.stringify({ error: [...summary.failures, ...summary.blockages] }) + '\n');
    else if (summary.failed) for (const x of summary.failures) process.stderr.write(`✗ ${x.id}: ${x.failure.message}\n`);
    return EXIT.failed;
  }
  const scoreId = engine.graph.order.find((i) => i.kind === 'score')!.id;
  const state = (await engine.status({ targets: [scoreId] })).get(scoreId);
  if (!state || state.state !== 'fresh') throw new Error(`score stage ${scoreId} did not complete`);
  const csv = state.record.outputs['csv']!;
  const req = state.record.outputs['requests']!;
  const result = {
    stage: scoreId,
    key: state.key,
    csv: csv.materialize ? resolve(engine.spec.projectDir, csv.materialize) : engine.store.objectPath(csv.digest),
    requests: engine.store.objectPath(req.digest),
    cached: summary.ran === 0,
  };
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(`${result.cached ? 'cached' : 'scored'} ${scoreId}\n  csv:      ${result.csv}\n  requests: ${result.requests}\n  key:      ${result.key}\n`);
  return EXIT.ok;
}
