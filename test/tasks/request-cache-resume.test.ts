// The request cache end to end, on ../shared/models/tiny-gpt2 through the CLI: a score stage killed
// (kill -9, engine and worker) half-way resumes where it stopped — only the remaining requests reach
// the model — and writes a CSV byte-identical to an uninterrupted run's; raising `limit` computes
// only the new items.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, REPO, Rig } from '../engine/rig.js';
import { scoreStagesYaml } from '../support/score-stages.js';

const SHARED = join(REPO, '..', 'shared');
const ENV = { PIPELINE_MODELS_DIR: join(SHARED, 'models'), PIPELINE_STIMULI_DIR: join(SHARED, 'data', 'stimuli') };
const STAGE = 'score/blimp/tiny-gpt2';

const PIPELINE = (chunk: number): string => `version: 1
vars: { limit: 2 }
models:
  - id: test-org/tiny-gpt2
    display: { name: Tiny GPT-2 3M, family: Tiny }
tasks:
  blimp: {}
${scoreStagesYaml({ params: `{ limit: "\${limit}", chunk_requests: ${chunk} }` })}`;

/** Lines (results) in the store's request cache. */
function cachedLines(dir: string): number {
  const root = join(dir, 'cache', 'requests');
  if (!existsSync(root)) return 0;
  let n = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.jsonl')) n += readFileSync(p, 'utf8').split('\n').length - 1;
    }
  };
  walk(root);
  return n;
}

interface Info {
  request_cache: { hits: number; misses: number; uncached: number };
  counters: { requests: number; items: number; forward_calls: number };
}
/** The score stage's run record info, for the pipeline as run with these --set values. */
function info(rig: Rig, set: string[] = []): Info {
  const r = rig.cli([...set.flatMap((s) => ['--set', s]), 'inspect', STAGE, '--json'], ENV);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.startsWith('{'), `inspect ${STAGE} --json printed:\n${r.stdout}`);
  return (JSON.parse(r.stdout) as { info: Info }).info;
}

test('kill -9 half-way through a score stage: the rerun computes only the remaining requests and the CSV is byte-identical', { timeout: 600_000 }, async () => {
  const limit = 40; // blimp: 40 items × 6 requests (two sentences, forced choice) = 240 requests, 12 model calls of 20
  const clean = new Rig(PIPELINE(20));
  const set = [`limit=${limit}`];
  const full = clean.cli(['run', '--set', `limit=${limit}`], ENV);
  assert.equal(full.code, 0, full.stderr + full.stdout);
  const uninterrupted = info(clean, set);
  const total = uninterrupted.counters.requests;
  assert.equal(uninterrupted.request_cache.misses, total);

  const rig = new Rig(PIPELINE(20));
  // Its own process group, so that kill -9 takes the engine and its model worker at once.
  const proc = spawn(process.execPath, [BIN, 'run', '--set', `limit=${limit}`], { cwd: rig.dir, env: { ...process.env, CI: 'true', ...ENV }, detached: true, stdio: 'ignore' });
  const exited = new Promise<void>((res) => proc.on('exit', () => res()));
  // Synchronised on the first stored results, not on a time: the moment the cache holds any, the
  // whole process group is frozen (SIGSTOP), counted and killed, so the kill lands after the first
  // model call and long before the twelfth, whatever the machine's load.
  const t0 = Date.now();
  while (Date.now() - t0 < 300_000 && cachedLines(rig.dir) === 0) await new Promise((r) => setTimeout(r, 5));
  process.kill(-proc.pid!, 'SIGSTOP');
  const before = cachedLines(rig.dir);
  process.kill(-proc.pid!, 'SIGKILL');
  await exited;
  assert.equal(cachedLines(rig.dir), before, 'nothing was written after the freeze');
  assert.ok(before >= 1 && before < total, `the kill must land half-way: ${before} of ${total} results were cached`);
  assert.equal(rig.exists(`output/blimp/tiny-gpt2.csv`), false, 'the killed stage left no output');

  const again = rig.cli(['run', '--set', `limit=${limit}`], ENV);
  assert.equal(again.code, 0, again.stderr + again.stdout);
  const resumed = info(rig, set);
  assert.equal(resumed.request_cache.hits, before, 'every result stored before the kill is reused');
  assert.equal(resumed.request_cache.misses, total - before, 'only the remaining requests reach the model');
  assert.ok(resumed.counters.forward_calls < uninterrupted.counters.forward_calls, `${resumed.counters.forward_calls} forward calls after resuming, ${uninterrupted.counters.forward_calls} uninterrupted`);
  assert.equal(rig.read('output/blimp/tiny-gpt2.csv'), clean.read('output/blimp/tiny-gpt2.csv'));
});

test('raising limit from 2 to 4 computes only the 2 new items', { timeout: 300_000 }, () => {
  const rig = new Rig(PIPELINE(2048));
  const two = rig.cli(['run'], ENV);
  assert.equal(two.code, 0, two.stderr + two.stdout);
  const first = info(rig);
  assert.equal(first.counters.items, 2);
  const { hits, misses, uncached } = first.request_cache;
  assert.deepEqual({ hits, misses, uncached }, { hits: 0, misses: first.counters.requests, uncached: 0 });
  const four = rig.cli(['run', '--set', 'limit=4'], ENV);
  assert.equal(four.code, 0, four.stderr + four.stdout);
  const second = info(rig, ['limit=4']);
  assert.equal(second.counters.items, 4);
  assert.equal(second.request_cache.hits, first.counters.requests, 'the first two items come from the cache');
  assert.equal(second.request_cache.misses, second.counters.requests - first.counters.requests, 'only the two new items reach the model');
  assert.equal(second.request_cache.misses, first.counters.requests, 'blimp items send the same number of requests each');
  // The stage's output stays content-addressed: back to limit 2 is the first run's record.
  const back = rig.cli(['run'], ENV);
  assert.match(back.stdout, /Nothing to do|up to date/);
});

test('gc keeps the request results of a model current stages score, and drops them with the model', { timeout: 300_000 }, () => {
  const rig = new Rig(PIPELINE(2048));
  assert.equal(rig.cli(['run'], ENV).code, 0);
  const models = (): string[] => (existsSync(join(rig.dir, 'cache', 'requests')) ? readdirSync(join(rig.dir, 'cache', 'requests')) : []);
  assert.equal(models().length, 1);
  const kept = rig.cli(['gc', '--keep-runs', '0'], ENV);
  assert.equal(kept.code, 0, kept.stderr);
  assert.doesNotMatch(kept.stdout, /request results/);
  assert.equal(models().length, 1, 'the model is still scored: its results stay');
  // The pipeline no longer scores the model: its cached results go with its objects.
  rig.write('pipeline.yaml', 'stages:\n  s: { run: "echo x > x.txt", outs: [x.txt] }\n');
  assert.equal(rig.cli(['run'], ENV).code, 0);
  const dry = rig.cli(['gc', '--dry-run', '--keep-runs', '0'], ENV);
  assert.match(dry.stdout, /would remove .*, and the request results of 1 model no run uses;/);
  assert.equal(models().length, 1, 'a dry run removes nothing');
  const gc = rig.cli(['gc', '--keep-runs', '0'], ENV);
  assert.match(gc.stdout, /^removed .*, and the request results of 1 model no run uses;/);
  assert.deepEqual(models(), []);
});
