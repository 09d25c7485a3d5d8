// `pipeline score`: the researcher's quick path, as the paper's own command line was. It builds a
// one-model, one-task pipeline in memory (fetch-model, convert-model, fetch-stimuli, build-config,
// score) and runs it through the same engine and cache, then prints where the CSV and
// requests.jsonl are. `--model` is a hub id or a folder (an ONNX export, or a PyTorch checkpoint
// in the hub's layout): a checkpoint is converted on the way, once; an export passes through.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { Engine } from '../engine/engine.js';
import { parseSpec } from '../engine/spec.js';
import { builtinTaskNames, getTask } from '../tasks/registry.js';
import { KindRegistry } from '../engine/registry.js';
import { didYouMean } from '../engine/diagnostics.js';
import { paramProblems, type ParamDecls } from '../engine/params.js';
import { cpus } from 'node:os';
import { engineOptions, EXIT, positiveInt, UsageError, type GlobalOpts } from './options.js';
import { lineReporter } from './reporters/lines.js';
import { failureText } from '../words/reasons.js';
import { isValidCommitId, isValidRefName } from '../util/safe-path.js';

interface ScoreFlags {
  model: string;
  task: string;
  condition?: string;
  revision?: string;
  limit?: string;
  dtype?: string;
  threads?: string;
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
  // A revision names a branch, tag or commit, never a path (`x/../../…`) or shell syntax.
  if (f.revision && !isValidRefName(f.revision) && !isValidCommitId(f.revision)) {
    throw new UsageError(`--revision ${JSON.stringify(f.revision)} is not a valid git ref name or commit id (letters, digits and "._-+=,@/", no "..", no leading "-" or "/")`);
  }
  if (f.revision) model['revisions'] = [f.revision];
  if (f.dtype) model['dtype'] = f.dtype;
  // --threads N: the score stage takes N cpus, which become onnxruntime's intra-op threads.
  if (f.threads !== undefined) model['resources'] = { cpu: positiveInt(f.threads, '--threads') };
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

/** Where one-off scores live, apart from any pipeline.yaml's results and store in the same folder. */
export const SCORE_HOME = '.pipeline-score';

/**
 * The folder of one `pipeline score` call: task, condition, model, revision and a digest of the
 * generated pipeline, so every distinct call keeps its own pipeline file and outputs (the engine
 * refuses two pipeline files writing one output), and the same call finds its own again.
 */
export function scoreCallDir(cwd: string, f: Pick<ScoreFlags, 'task' | 'condition' | 'model' | 'revision'>, text: string): string {
  const parts = [f.task, f.condition ?? '', basename(resolve(cwd, f.model)), f.revision ?? ''].filter(Boolean);
  const slug = parts.join('-').replace(/[^A-Za-z0-9._@-]+/g, '-').replace(/^[.-]+/, '').slice(0, 80);
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 8);
  return resolve(cwd, SCORE_HOME, `${slug}-${digest}`);
}

export async function scoreCommand(g: GlobalOpts, f: Record<string, unknown>): Promise<number> {
  const flags = f as unknown as ScoreFlags;
  // Without a pipeline file there are no vars: `--set k=v` sets a score param, as `--param` does.
  flags.param = flags.param ?? [];
  const { scoreParams } = await import('../../stages/score.js');
  const text = scorePipeline({ ...flags, set: g.set }, process.cwd(), scoreParams);
  // Each call keeps its pipeline file and outputs in its own folder under .pipeline-score/, and all
  // calls share one store there (a model is fetched and converted once), so `pipeline -f
  // <folder>/pipeline.yaml --store .pipeline-score/cache inspect|status …` can look at any call.
  const dir = scoreCallDir(process.cwd(), flags, text);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'pipeline.yaml');
  const store = g.store ? resolve(g.store) : resolve(process.cwd(), SCORE_HOME, 'cache');
  const rel = (p: string): string => relative(process.cwd(), p) || '.';
  writeFileSync(file, `# written by \`pipeline score\`; inspect with: npx pipeline -f ${rel(file)} --store ${rel(store)} inspect <stage>\n${text}`);
  const spec = parseSpec(text, file, { kinds: new KindRegistry().names() });
  // A stage asking for more cpus than the machine's cores still runs: the pool grows to fit it.
  const threads = flags.threads !== undefined ? positiveInt(flags.threads, '--threads') : 0;
  const opts = engineOptions({ ...g, set: [], store, ...(!g.cpus && threads > cpus().length ? { cpus: String(threads) } : {}) });
  opts.file = file;
  opts.spec = spec;
  const json = !!(flags.json || g.json);
  opts.reporter = json ? () => undefined : lineReporter((l) => void process.stderr.write(l + '\n'));
  const engine = await Engine.open(opts);
  const summary = await engine.run({});
  if (summary.failed || summary.blocked) {
    if (json) process.stdout.write(JSON.stringify({ error: [...summary.failures, ...summary.blockages] }) + '\n');
    else if (summary.failed) for (const x of summary.failures) process.stderr.write(`✗ ${x.id}: ${failureText(x.failure)}\n`);
    return EXIT.failed;
  }
  const scoreId = engine.graph.order.find((i) => i.kind === 'score')!.id;
  const state = (await engine.status({ targets: [scoreId] })).get(scoreId);
  if (!state || state.state !== 'fresh') throw new Error(`score stage ${scoreId} did not complete`);
  const csv = state.record.outputs['csv']!;
  const req = state.record.outputs['requests']!;
  // The CSV in the call's folder (the README promises its path); the store object only when the
  // working-tree copy is missing, and then said so.
  const csvPath = resolve(engine.spec.projectDir, csv.materialize ?? join('output', ...scoreId.split('/').slice(1)) + '.csv');
  const inTree = existsSync(csvPath);
  const result = {
    stage: scoreId,
    key: state.key,
    csv: inTree ? csvPath : engine.store.objectPath(csv.digest),
    requests: engine.store.objectPath(req.digest),
    pipeline: file,
    cached: summary.ran === 0,
  };
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    process.stdout.write(`${result.cached ? 'cached' : 'scored'} ${scoreId}\n  csv:      ${result.csv}${inTree ? '' : ' (in the store: its working-tree copy is missing)'}\n` +
      `  requests: ${result.requests}\n  key:      ${result.key}\n  inspect:  npx pipeline -f ${rel(file)} --store ${rel(store)}${g.stimuliDir ? ` --stimuli-dir ${g.stimuliDir}` : ''}${g.modelsDir ? ` --models-dir ${g.modelsDir}` : ''} inspect ${scoreId}\n`);
  }
  return EXIT.ok;
}
