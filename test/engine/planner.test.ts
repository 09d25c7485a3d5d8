// One planner (issue 12 item 5): `status`, `run --dry-run` and `run` take their verdicts from the
// same function, so for every state a stage can be in they must say the same thing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rig, type Result } from './rig.js';

// A plugin kind that stands for a fetch: offline, its plan fails as a fetch that finds nothing.
const GATE = `export default {
  name: 'gate',
  description: 'test kind: a fetch that is impossible offline',
  isolation: 'inline',
  outputs: () => [{ name: 'out', type: 'file', materialize: 'gate.txt' }],
  plan(ctx) {
    if (ctx.spec.offline) throw Object.assign(new Error('model org/gated: offline and not in --models-dir'), { name: 'FetchError', reason: 'offline-missing' });
    return {};
  },
  async execute(ctx) {
    (await import('node:fs')).writeFileSync(ctx.outDir + '/out', 'gate');
  },
};
`;
const MULT = (k: number): string => `export default {
  name: 'mult',
  description: 'test kind whose code changes',
  isolation: 'inline',
  outputs: () => [{ name: 'out', type: 'file', materialize: 'mult.txt' }],
  async execute(ctx) {
    (await import('node:fs')).writeFileSync(ctx.outDir + '/out', String(${k} * 7));
  },
};
`;

const PIPELINE = (n: number, m: number, extra = ''): string => `plugins: [./gate.mjs, ./mult.mjs]
vars: { n: ${n}, m: ${m} }
stages:
  same:
    run: echo same > same.txt
    outs: [same.txt]
  param:
    run: echo \${n} > param.txt
    outs: [param.txt]
  dep:
    run: cat dep-in.txt > dep.txt
    deps: [dep-in.txt]
    outs: [dep.txt]
  behind-dep:
    run: cat dep.txt > behind-dep.txt
    deps: [dep.txt]
    outs: [behind-dep.txt]
  up:
    run: echo \${m} > up.txt
    outs: [up.txt]
  input:
    run: cat up.txt > input.txt
    needs: [up]
    outs: [input.txt]
  code:
    uses: mult
  flaky:
    run: test -f ok.flag && echo ok > flaky.txt
    outs: [flaky.txt]
  gate:
    uses: gate
  behind-gate:
    run: cat gate.txt > behind-gate.txt
    deps: [gate.txt]
    outs: [behind-gate.txt]
${extra}`;

/** A verdict as one comparable string: state, then reason names or what it waits on / why blocked. */
type Said = Map<string, string>;

function fromStatus(r: Result): Said {
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const rows = JSON.parse(r.stdout) as { id: string; state: string; verdict: Record<string, unknown> & { reasons?: { reason: string }[]; failure?: { reason: string; cause?: string } } }[];
  return new Map(rows.map((x) => [x.id, said(x.verdict)]));
}

function said(v: Record<string, unknown> & { state?: unknown; reasons?: { reason: string }[]; failure?: { reason: string; cause?: string }; on?: unknown; by?: unknown }): string {
  switch (v.state) {
    case 'fresh':
      return 'fresh';
    case 'stale':
      return `stale:${v.reasons!.map((r) => r.reason).join(',')}`;
    case 'waiting':
      return `waiting:${String(v.on)}`;
    case 'blocked':
      return `blocked:${v.failure!.reason}/${v.failure!.cause ?? ''}${v.by ? `:by ${String(v.by)}` : ''}`;
    default:
      return `?${String(v.state)}`;
  }
}

/** What `run --json` (dry or not) said first about each stage. */
function fromEvents(r: Result): Said {
  const out: Said = new Map();
  for (const e of Rig.events(r)) {
    const id = String(e['id'] ?? '');
    if (!id || out.has(id)) continue;
    const reasons = (e['reasons'] ?? []) as { reason: string }[];
    if (e['type'] === 'stage-cached') out.set(id, 'fresh');
    else if (e['type'] === 'stage-would-run') out.set(id, e['waitingOn'] ? `waiting:${String(e['waitingOn'])}` : `stale:${reasons.map((x) => x.reason).join(',')}`);
    else if (e['type'] === 'stage-start') out.set(id, `stale:${reasons.map((x) => x.reason).join(',')}`);
    else if (e['type'] === 'stage-blocked') out.set(id, said({ state: 'blocked', failure: e['failure'] as { reason: string }, by: e['by'] }));
  }
  return out;
}

test('status, run --dry-run and run give the same verdict for every state', () => {
  const r = new Rig(PIPELINE(1, 1));
  r.write('gate.mjs', GATE);
  r.write('mult.mjs', MULT(2));
  r.write('dep-in.txt', 'a\n');
  // Baseline: `up` ran once with m=1 alone, then everything with m=2 (flaky failed). Going back
  // to m=1 makes `up` fresh (its m=1 record) while `input` has never seen that input.
  assert.equal(r.cli(['run', '--only', 'up']).code, 0);
  r.write('pipeline.yaml', PIPELINE(1, 2));
  assert.equal(r.cli(['run', '--keep-going']).code, 1);
  // Now change one thing per stage.
  r.write('pipeline.yaml', PIPELINE(5, 1, `  added:\n    run: echo new > added.txt\n    outs: [added.txt]\n`));
  r.write('dep-in.txt', 'b\n');
  r.write('mult.mjs', MULT(3));

  const expected: Record<string, string> = {
    same: 'fresh',
    param: 'stale:param',
    dep: 'stale:dependency',
    'behind-dep': 'waiting:dep',
    up: 'fresh',
    input: 'stale:input',
    code: 'stale:code',
    flaky: 'stale:failed-last-time',
    gate: 'blocked:fetch/offline-missing',
    'behind-gate': 'blocked:fetch/offline-missing:by gate',
    added: 'stale:never-run',
  };
  const status = fromStatus(r.cli(['status', '--json', '--offline']));
  const dry = r.cli(['run', '--dry-run', '--json', '--offline']);
  const run = r.cli(['run', '--json', '--offline', '--keep-going']);
  const dryS = fromEvents(dry);
  const runS = fromEvents(run);
  for (const [id, want] of Object.entries(expected)) {
    assert.equal(status.get(id), want, `status of ${id}`);
    assert.equal(dryS.get(id), want, `dry run of ${id}`);
    // A run learns a waiting stage's verdict once its upstream ran: it runs after it.
    if (want.startsWith('waiting:')) {
      const ids = Rig.events(run).filter((e) => e['type'] === 'stage-done').map((e) => e['id']);
      assert.ok(ids.indexOf(want.slice(8)) >= 0 && ids.indexOf(want.slice(8)) < ids.indexOf(id), `${id} runs after ${want}`);
    } else assert.equal(runS.get(id), want, `run of ${id}`);
  }
  // Blocked is counted apart from failures, in the dry run and the run; both exit 1.
  const summary = (x: Result): Record<string, unknown> => Rig.events(x).find((e) => e['type'] === 'run-done')!['summary'] as Record<string, unknown>;
  assert.equal(dry.code, 1);
  assert.equal(summary(dry)['blocked'], 2);
  assert.equal(summary(dry)['ran'], 7);
  assert.equal(run.code, 1);
  assert.equal(summary(run)['blocked'], 2);
  assert.equal(summary(run)['failed'], 1); // flaky, again
  // --force: the dry run and the run agree that the named stage is forced, and only it.
  const forcedDry = fromEvents(r.cli(['run', '--dry-run', '--json', '--force', 'same']));
  assert.equal(forcedDry.get('same'), 'stale:forced');
  const forcedRun = fromEvents(r.cli(['run', '--json', '--force', 'same']));
  assert.equal(forcedRun.get('same'), 'stale:forced');
});

test('offline with a missing model: status, --dry-run and run all say blocked, grouped once', () => {
  const r = new Rig(`models:
  - id: org/model-a
  - id: org/model-b
stages:
  fetch-model:
    uses: fetch-model
    matrix: { model: $models, revision: $revisions }
  after:
    run: echo x > after.txt
    needs: [fetch-model]
    outs: [after.txt]
`);
  const env = { HF_HOME: `${r.dir}/hf`, PIPELINE_MODELS_DIR: '' };
  const st = r.cli(['status', '--offline'], env);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /^blocked fetch-model\/model-a/m);
  assert.match(st.stdout, /^blocked after\s+by fetch-model\/model-a/m);
  assert.match(st.stdout, /⊘ 2 models cannot be fetched: offline and not in --models-dir/);
  assert.match(st.stdout, /3 stages: 3 blocked/);
  const dry = r.cli(['run', '--dry-run', '--offline'], env);
  assert.equal(dry.code, 1, dry.stdout);
  assert.doesNotMatch(dry.stdout, /Nothing to do/);
  assert.match(dry.stdout, /⊘ 2 models cannot be fetched: offline and not in --models-dir/);
  assert.match(dry.stdout, /Nothing can run: 3 of 3 stages are blocked/);
  const run = r.cli(['run', '--offline', '--keep-going'], env);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /3 stages: 0 ran, 0 up to date, 3 blocked/);
  const events = Rig.events(r.cli(['run', '--dry-run', '--offline', '--json'], env));
  const blocked = events.filter((e) => e['type'] === 'stage-blocked');
  assert.deepEqual(blocked.map((e) => (e['failure'] as { reason: string; cause: string }).cause), ['offline-missing', 'offline-missing', 'offline-missing']);
});

test('no network: the same failure of many fetches is said once, and distinct from offline-missing', () => {
  const r = new Rig(`models:
  - id: org/model-a
  - id: org/model-b
  - id: org/model-c
stages:
  fetch-model:
    uses: fetch-model
    matrix: { model: $models, revision: $revisions }
`);
  const env = { HF_HOME: `${r.dir}/hf`, HF_ENDPOINT: 'http://hub.invalid', PIPELINE_MODELS_DIR: '' };
  const dry = r.cli(['run', '--dry-run'], env);
  assert.equal(dry.code, 1);
  assert.equal(dry.stdout.match(/⊘/g)?.length, 1, dry.stdout);
  assert.match(dry.stdout, /⊘ 3 models cannot be fetched: no network; run with --offline and --models-dir, or see README › Models/);
  const json = Rig.events(r.cli(['run', '--dry-run', '--json'], env)).filter((e) => e['type'] === 'stage-blocked');
  assert.deepEqual(json.map((e) => (e['failure'] as { cause: string }).cause), ['network', 'network', 'network']);
});

test('an edited output is counted apart: status and --dry-run say a run restores it, the run says it did', () => {
  const r = new Rig(`stages:
  a:
    run: echo a > a.txt
    outs: [a.txt]
  b:
    run: echo b > b.txt
    outs: [b.txt]
`);
  assert.equal(r.cli(['run']).code, 0);
  r.write('a.txt', 'edited by hand\n');
  assert.match(r.cli(['status']).stdout, /2 stages: 2 fresh; 1 edited output will be restored by the next run: a\.txt/);
  const dry = r.cli(['run', '--dry-run']);
  assert.equal(dry.code, 0);
  assert.match(dry.stdout, /^would restore a\.txt/m);
  assert.match(dry.stdout, /All 2 stages are up to date; 1 edited output will be restored: a\.txt\./);
  assert.doesNotMatch(dry.stdout, /Nothing to do/);
  assert.equal(r.read('a.txt'), 'edited by hand\n');
  const run = r.cli(['run']);
  assert.match(run.stdout, /All 2 stages are up to date \(.*\); 1 edited output restored/);
  assert.equal(r.read('a.txt'), 'a\n');
});
