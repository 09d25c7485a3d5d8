// The quickstart pipeline end to end on Slurm: the same tables and figures as the local executor,
// then a failing job and a rerun that resubmits only what is missing.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { Rig } from '../engine/rig.js';
import { ensureSlurm, repoRoot } from './helpers.js';

function outputs(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const sub of ['output', 'processed_data', 'configs']) {
    for (const e of readdirSync(join(dir, sub), { recursive: true, withFileTypes: true })) {
      if (e.isFile()) found.set(relative(dir, join(e.parentPath, e.name)), readFileSync(join(e.parentPath, e.name), 'utf8'));
    }
  }
  return found;
}

describe('quickstart on Slurm', () => {
  before(() => ensureSlurm());

  it('gives the local executor’s results; a failed job is reported and a rerun resubmits only it', { timeout: 600_000 }, () => {
    const local = new Rig();
    const slurm = new Rig();
    for (const r of [local, slurm]) copyFileSync(join(repoRoot, 'examples', 'quickstart', 'pipeline.yaml'), join(r.dir, 'pipeline.yaml'));
    const args = ['run', '--set', 'limit=2', '--json'];
    const l = local.cli(args);
    assert.equal(l.code, 0, l.stderr);
    const s = slurm.cli([...args, '--executor', 'slurm']);
    assert.equal(s.code, 0, s.stderr + s.stdout.slice(-2000));
    assert.deepEqual(Rig.ran(s), Rig.ran(l));
    const lo = outputs(local.dir);
    const so = outputs(slurm.dir);
    assert.deepEqual([...so.keys()].sort(), [...lo.keys()].sort());
    for (const [path, text] of lo) assert.equal(so.get(path), text, `${path} differs between executors`);
    const jobs = readdirSync(join(slurm.dir, 'cache', 'slurm-logs'));
    assert.ok(jobs.length >= 1, 'score stages ran as Slurm jobs');

    // A stage whose job Slurm refuses (1 TiB of memory) with a new param: the crt scores fail with
    // the scheduler's message, their aggregate and figure are not run.
    const spec = readFileSync(join(slurm.dir, 'pipeline.yaml'), 'utf8');
    const changed = spec.replace('params: { limit: "${limit}" }', 'params: { limit: "${limit}", max_new_tokens: 5 }');
    assert.notEqual(changed, spec);
    writeFileSync(join(slurm.dir, 'pipeline.yaml'), changed.replace('  score:\n    uses: score\n', '  score:\n    uses: score\n    resources: { memory: 1TiB }\n'));
    const bad = slurm.cli([...args, '--executor', 'slurm', '--keep-going', '--only', 'crt']);
    assert.equal(bad.code, 1, bad.stdout.slice(-2000));
    const failed = Rig.events(bad).filter((e) => e['type'] === 'stage-failed');
    assert.deepEqual(failed.map((e) => String(e['id'])).sort(), ['score/crt/crt1/demo-gpt-large', 'score/crt/crt1/demo-gpt-small', 'score/crt/crt2/demo-gpt-large', 'score/crt/crt2/demo-gpt-small', 'score/crt/crt3/demo-gpt-large', 'score/crt/crt3/demo-gpt-small']);
    assert.ok(failed.every((e) => /sbatch|memory|configuration/i.test(String(e['message']))), JSON.stringify(failed[0]));
    assert.ok(Rig.events(bad).some((e) => e['type'] === 'stage-skipped' && e['id'] === 'aggregate/crt'));

    // With a request Slurm can meet, the rerun resubmits exactly what is missing.
    writeFileSync(join(slurm.dir, 'pipeline.yaml'), changed);
    const again = slurm.cli([...args, '--executor', 'slurm', '--only', 'crt']);
    assert.equal(again.code, 0, again.stderr + again.stdout.slice(-2000));
    assert.deepEqual(Rig.ran(again), [...failed.map((e) => String(e['id'])), 'aggregate/crt', 'plot-data/crt'].sort());
  });
});
