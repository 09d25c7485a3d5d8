// The working tree the engine keeps in step: every file it writes is counted and named, also when
// nothing runs (a deleted output written again, outputs switched between two cached settings), and
// "why is this stale" compares against the results the working tree holds, not the last run of the
// stage id. Tested by counting stages that ran and reading what the CLI says.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rig } from './rig.js';

// Two score-like stages with a shared `limit`, and an aggregate over both that takes their outputs
// as inputs, as the built-in kinds do (`needs:`, not `deps:`, which hash the working tree's files).
const PIPELINE = (extraA = ''): string => `vars:
  limit: 12
stages:
  sa:
    run: echo sa >> calls.log && mkdir -p out && echo a \${limit}${extraA} > out/a.txt
    outs: [out/a.txt]
  sb:
    run: echo sb >> calls.log && mkdir -p out && echo b \${limit} > out/b.txt
    outs: [out/b.txt]
  agg:
    run: echo agg >> calls.log && cat out/a.txt out/b.txt > agg.txt
    needs: [sa, sb]
    outs: [agg.txt]
`;

function run(r: Rig, args: string[] = []): { out: string; calls: string[] } {
  r.resetCalls();
  const res = r.cli(['run', ...args]);
  assert.equal(res.code, 0, res.stderr + res.stdout);
  return { out: res.stdout, calls: r.calls().sort() };
}

function statusJson(r: Rig): Map<string, { state: string; reasons: string[]; missing: string[]; switched: string[] }> {
  const res = r.cli(['status', '--json']);
  assert.equal(res.code, 0, res.stderr);
  return new Map((JSON.parse(res.stdout) as { id: string; state: string; reasons: string[]; missing: string[]; switched: string[] }[]).map((x) => [x.id, x]));
}

test('switching between two cached settings is counted and named in status, --dry-run and the run', () => {
  const r = new Rig(PIPELINE());
  // Phase 1: the default, then limit=20: everything runs twice.
  assert.deepEqual(run(r).calls, ['agg', 'sa', 'sb']);
  assert.deepEqual(run(r, ['--set', 'limit=20']).calls, ['agg', 'sa', 'sb']);
  assert.equal(r.read('agg.txt'), 'a 20\nb 20\n');
  // Phase 2: back to the default. Nothing runs, but 3 files change: status and the dry run say so.
  const st = r.cli(['status']);
  assert.match(st.stdout, /^fresh\s+sa\s+out\/a\.txt holds another run's results \(param cmd: .*\); a run switches it to these cached ones$/m);
  assert.match(st.stdout, /3 stages: 3 fresh; 3 outputs will be switched by the next run to cached results \(param cmd: /);
  assert.deepEqual(statusJson(r).get('agg')!.switched, ['agg.txt']);
  const dry = r.cli(['run', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^would switch 3 outputs to cached results \(param cmd: .*\): out\/a\.txt, out\/b\.txt, agg\.txt$/m);
  assert.match(dry.stdout, /All 3 stages are up to date; 3 outputs will be switched to cached results/);
  assert.doesNotMatch(dry.stdout, /Nothing to do/);
  assert.equal(r.read('agg.txt'), 'a 20\nb 20\n', 'a dry run changes nothing');
  const back = run(r);
  assert.deepEqual(back.calls, [], 'the default is cached');
  assert.match(back.out, /^switched 3 outputs to cached results \(param cmd: .*\): out\/a\.txt, out\/b\.txt, agg\.txt$/m);
  assert.match(back.out, /All 3 stages are up to date \(.*\); switched 3 outputs to cached results/);
  assert.doesNotMatch(back.out, /Nothing to do/);
  assert.equal(r.read('agg.txt'), 'a 12\nb 12\n');
  // Phase 3: now it is nothing to do, and status has nothing to say.
  assert.match(run(r).out, /Nothing to do: all 3 stages are up to date/);
  assert.match(r.cli(['status']).stdout, /^3 stages: 3 fresh$/m);
});

test('a deleted output: status names it, the run restores it and says so', () => {
  const r = new Rig(PIPELINE());
  run(r);
  rmSync(join(r.dir, 'out/b.txt'));
  const st = statusJson(r);
  assert.equal(st.get('sb')!.state, 'fresh');
  assert.deepEqual(st.get('sb')!.missing, ['out/b.txt']);
  assert.deepEqual(st.get('sa')!.missing, []);
  assert.match(r.cli(['status']).stdout, /^fresh\s+sb\s+out\/b\.txt deleted; a run restores it from the store$/m);
  assert.match(r.cli(['status']).stdout, /3 stages: 3 fresh; 1 deleted output will be restored by the next run: out\/b\.txt$/m);
  const dry = r.cli(['run', '--dry-run']);
  assert.match(dry.stdout, /^would restore 1 deleted output from the store: out\/b\.txt$/m);
  assert.match(dry.stdout, /All 3 stages are up to date; 1 deleted output will be restored: out\/b\.txt\./);
  const res = run(r);
  assert.deepEqual(res.calls, [], 'restored from the store, nothing runs');
  assert.match(res.out, /^restored 1 deleted output from the store: out\/b\.txt$/m);
  assert.match(res.out, /All 3 stages are up to date \(.*\); restored 1 deleted output\./);
  assert.equal(r.read('out/b.txt'), 'b 12\n');
  assert.match(run(r).out, /Nothing to do/);
});

test('why a stage is stale is said against the results the working tree holds, not the last run of its id', () => {
  const r = new Rig(PIPELINE());
  run(r);
  run(r, ['--set', 'limit=20']);
  run(r); // back to the default (cached): the working tree holds limit=12's results
  // Phase: change sa only. The reason names that change alone, not limit 20 → 12.
  r.write('pipeline.yaml', PIPELINE(' more'));
  const st = statusJson(r);
  assert.equal(st.get('sa')!.state, 'stale');
  assert.equal(st.get('sa')!.reasons.length, 1, JSON.stringify(st.get('sa')));
  assert.match(st.get('sa')!.reasons[0]!, /^param cmd: /);
  assert.doesNotMatch(st.get('sa')!.reasons[0]!, /20/);
  assert.equal(st.get('sb')!.state, 'fresh');
  r.resetCalls();
  const res = r.cli(['run', '--json']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(r.calls().sort(), ['agg', 'sa']);
  // The aggregate blames sa's output only: sb's did not change since the results it holds.
  const start = Rig.events(res).find((e) => e['type'] === 'stage-start' && e['id'] === 'agg')!;
  const reasons = start['reasons'] as { reason: string; stage?: string }[];
  assert.deepEqual(reasons.map((x) => `${x.reason} ${x.stage ?? ''}`), ['input sa'], JSON.stringify(reasons));
});
