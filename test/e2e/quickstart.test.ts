// The quickstart end to end, then the everyday changes a researcher makes to it, each checked by
// exactly which stages ran (docs/everyday.md describes the same session).
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO, Rig } from '../engine/rig.js';

function ran(r: { stdout: string }): string[] {
  return Rig.ran(r as never);
}

function json(rig: Rig, args: string[]): { code: number; ran: string[]; summary: Record<string, unknown>; stderr: string } {
  const r = rig.cli([...args, '--json']);
  const done = Rig.events(r).find((e) => e['type'] === 'run-done') as { summary: Record<string, unknown> } | undefined;
  return { code: r.code, ran: ran(r), summary: done?.summary ?? {}, stderr: r.stderr + r.stdout.slice(-2000) };
}

test('quickstart: the whole pipeline offline, a no-op second run, and the everyday changes', { timeout: 600_000 }, () => {
  const rig = new Rig();
  copyFileSync(join(REPO, 'examples', 'quickstart', 'pipeline.yaml'), join(rig.dir, 'pipeline.yaml'));
  const args = ['run', '--set', 'limit=3'];

  // First run: every stage, each model instance loaded once.
  const first = json(rig, args);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.ran.length, 53);
  assert.deepEqual(first.summary['modelLoads'], { 'demo-gpt-small': 1, 'demo-gpt-large': 1, 'demo-gpt-large@step100-demo': 1, 'demo-gpt-large@step1000-demo': 1, 'demo-gpt-large@step10000-demo': 1 });
  for (const f of ['output/lambada/demo-gpt-small.csv', 'output/crt/crt2/demo-gpt-large.csv', 'output/digit_mat/demo-gpt-large_step100-demo.csv', 'configs/crt/crt1/demo-gpt-small.yaml', 'external_stimuli/blimp/stimuli.csv']) {
    assert.ok(rig.exists(f), f);
  }
  const csv = rig.read('output/blimp/demo-gpt-small.csv').trim().split('\n');
  assert.equal(csv.length, 4); // header + limit 3
  assert.match(csv[0]!, /,direct_correct,.*,meta_correct_lenient,model,revision$/);
  for (const d of ['digit_mat', 'crt', 'lambada', 'syntax']) assert.ok(rig.exists(`processed_data/${d}_long_size.csv`), d);
  assert.ok(rig.exists('processed_data/lambada_regression_training_time.csv'));
  const svgs = readdirSync(join(rig.dir, 'figures')).filter((f) => f.endsWith('.svg'));
  assert.ok(svgs.length >= 10, svgs.join(','));
  assert.match(rig.read(`figures/${svgs[0]}`), /^<svg/);

  // Second run: nothing to do, and it says so.
  const second = rig.cli(args);
  assert.equal(second.code, 0);
  assert.match(second.stdout, /Nothing to do: all 53 stages are up to date/);

  // --only lambada: nothing stale, nothing runs; with --force only the lambada scores re-run.
  const only = json(rig, [...args, '--only', 'lambada', '--force']);
  assert.equal(only.code, 0, only.stderr);
  assert.ok(only.ran.every((id) => id.includes('lambada')), only.ran.join(','));
  assert.ok(only.ran.includes('score/lambada/demo-gpt-small'));

  // Adding a model: only its stages and the aggregates/figures run.
  const spec = rig.read('pipeline.yaml');
  rig.write('pipeline.yaml', spec.replace('tasks:\n', '  - id: demo/demo-gpt-third\n    display: { name: Demo-GPT 3M, family: Demo-GPT }\n    build: { seed: 3, nEmbd: 48 }\n\ntasks:\n'));
  const added = json(rig, args);
  assert.equal(added.code, 0, added.stderr);
  const other = added.ran.filter((id) => !id.includes('demo-gpt-third') && !/^(aggregate|plot-data)\//.test(id));
  assert.deepEqual(other, []);
  assert.ok(added.ran.includes('build-model/demo-gpt-third'));
  assert.equal(added.ran.filter((id) => id.startsWith('score/')).length, 7);

  // Adding one revision: that revision's stages and the lambada/digit_mat aggregates and figures.
  rig.write('pipeline.yaml', rig.read('pipeline.yaml').replace('step10000-demo]', 'step10000-demo, step50000-demo]'));
  const rev = json(rig, args);
  assert.equal(rev.code, 0, rev.stderr);
  assert.deepEqual(rev.ran.sort(), [
    'aggregate/digit_mat', 'aggregate/lambada', 'build-model/demo-gpt-large@step50000-demo',
    'plot-data/digit_mat', 'plot-data/lambada', 'score/digit_mat/demo-gpt-large@step50000-demo', 'score/lambada/demo-gpt-large@step50000-demo',
  ]);

  // Editing a crt annotation: only crt aggregation and its figures.
  rig.write('annotations/crt1/demo-gpt-small.csv', 'item_id,label\n1,correct\n');
  const ann = json(rig, args);
  assert.equal(ann.code, 0, ann.stderr);
  assert.deepEqual(ann.ran.sort(), ['aggregate/crt', 'annotations/crt', 'plot-data/crt']);
  const wide = rig.read('processed_data/crt_wide_size.csv').split('\n');
  const header = wide[0]!.split(',');
  const row = wide.find((l) => l.startsWith('crt1,1,') && l.includes('Demo-GPT 2M'));
  assert.ok(row, 'crt1 item 1 of the small model');
  assert.ok(row.split(',').length >= header.length);

  // A label for a model the pipeline does not have: the error names the user's file, not the store copy.
  rig.write('annotations/crt1/nobody.csv', 'item_id,label\n1,correct\n');
  const badAnn = rig.cli([...args, '--only', 'crt']);
  assert.equal(badAnn.code, 1);
  assert.match(badAnn.stdout, /annotations\/crt1\/nobody\.csv: annotation for unknown model "nobody"/);
  assert.doesNotMatch(badAnn.stdout, /cache\/trees/);
  rmSync(join(rig.dir, 'annotations', 'crt1', 'nobody.csv'));

  // status after all of this: everything fresh.
  const st = JSON.parse(rig.cli(['status', '--json', '--set', 'limit=3']).stdout) as { state: string }[];
  assert.ok(st.every((s) => s.state === 'fresh'));

  // inspect a score output (by its materialised path) and a figure.
  const ins = rig.cli(['inspect', 'output/crt/crt2/demo-gpt-small.csv', '--set', 'limit=3']);
  assert.equal(ins.code, 0, ins.stderr);
  assert.match(ins.stdout, /score\/crt\/crt2\/demo-gpt-small {2}\(score\)/);
  assert.match(ins.stdout, /requests \(first 5 rows\)/);
  const two = rig.cli(['inspect', 'output/crt/crt2/demo-gpt-small.csv', '--set', 'limit=3', '--rows', '2']).stdout.split('\n');
  const at = two.indexOf('  requests (first 2 rows)');
  assert.ok(at > 0, two.join('\n'));
  assert.equal(two.slice(at + 1).findIndex((l) => !l.startsWith('    ')), 2, 'exactly 2 request lines');
  assert.match(ins.stdout, /"tokenLogprobs"|token_logprobs|logprobs/i);
  // …by a digest prefix of one of its outputs, too.
  const rec = JSON.parse(rig.cli(['inspect', 'score/blimp/demo-gpt-small', '--json', '--set', 'limit=3']).stdout) as { outputs: Record<string, { digest: string }> };
  const byDigest = rig.cli(['inspect', rec.outputs['csv']!.digest.slice(0, 12), '--set', 'limit=3']);
  assert.match(byDigest.stdout, /^score\/blimp\/demo-gpt-small {2}\(score\)/);
  const fig = rig.cli(['inspect', `figures/${svgs[0]}`, '--set', 'limit=3']);
  assert.equal(fig.code, 0, fig.stderr);
  assert.match(fig.stdout, /\(plot-data\)/);

  // Removing the added model: its CSVs go from output/ (an edited one stays, with a warning); then
  // gc: its objects go, everything current stays.
  const thirdFiles = (): string[] => (readdirSync(join(rig.dir, 'output'), { recursive: true }) as string[]).filter((f) => f.includes('demo-gpt-third')).sort();
  assert.equal(thirdFiles().length, 7);
  rig.write('output/lambada/demo-gpt-third.csv', 'my own notes\n');
  rig.write('pipeline.yaml', spec);
  const backRun = rig.cli([...args, '--json']);
  assert.equal(backRun.code, 0, backRun.stderr);
  const warnings = Rig.events(backRun).filter((e) => e['type'] === 'warning').map((e) => String(e['message']));
  assert.ok(warnings.some((w) => /^removed 15 result files \(7 in configs\/, 8 in output\/\) of stages no longer in pipeline\.yaml, unchanged since written: /.test(w)), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.startsWith('kept output/lambada/demo-gpt-third.csv: its stage score/lambada/demo-gpt-third is no longer in pipeline.yaml')), warnings.join('\n'));
  assert.deepEqual(thirdFiles(), ['lambada/demo-gpt-third.csv']);
  // The revision added above is gone from the restored file too: its two CSVs go with the third model's six.
  assert.ok(!rig.exists('output/lambada/demo-gpt-large_step50000-demo.csv'));
  assert.ok(!rig.exists('output/digit_mat/demo-gpt-large_step50000-demo.csv'));
  assert.ok(!rig.exists('configs/crt/crt1/demo-gpt-third.yaml'));
  const back = { code: backRun.code, stderr: backRun.stderr };
  assert.equal(back.code, 0, back.stderr);
  const gc = rig.cli(['gc', '--keep-runs', '0', '--set', 'limit=3']);
  assert.match(gc.stdout, /removed [1-9]\d* objects/);
  const after = rig.cli([...args]);
  assert.match(after.stdout, /Nothing to do/);
  const v = rig.cli(['verify']);
  assert.equal(v.code, 0, v.stdout);
  assert.ok(existsSync(join(rig.dir, 'output', 'lambada', 'demo-gpt-small.csv')));
  assert.ok(readFileSync(join(rig.dir, 'output', 'lambada', 'demo-gpt-small.csv'), 'utf8').includes('demo/demo-gpt-small'));
});

/** A small CSV without quoted fields as objects (the log-odds and series tables). */
function table(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])));
}

test('quickstart at its default limit: every method of every task is neither at 0 nor at 1, every log-odds is finite', { timeout: 600_000 }, () => {
  const rig = new Rig();
  copyFileSync(join(REPO, 'examples', 'quickstart', 'pipeline.yaml'), join(rig.dir, 'pipeline.yaml'));
  const r = rig.cli(['run']);
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
  for (const domain of ['crt', 'digit_mat', 'syntax']) {
    const rows = table(rig.read(`processed_data/${domain}_log_odds_diff.csv`));
    assert.equal(rows.length, 2, `${domain}: both models`);
    for (const row of rows) {
      const what = `${domain} ${row['model']}: ${JSON.stringify(row)}`;
      for (const p of ['p_low', 'p_high']) assert.ok(Number(row[p]) > 0 && Number(row[p]) < 1, `${p} of ${what}`);
      for (const lo of ['log_odds_low', 'log_odds_high', 'log_odds_diff']) assert.ok(Number.isFinite(Number(row[lo])), `${lo} of ${what}`);
    }
  }
  // The training-time sweep: production and forced choice above 0 at every checkpoint.
  const sweep = table(rig.read('figures/digit_mat_training_time.csv'));
  assert.equal(sweep.length, 8, 'three checkpoints and the final weights, two methods each');
  for (const row of sweep) assert.ok(Number(row['mean']) > 0 && Number(row['mean']) < 1, JSON.stringify(row));
  // The gap figures show both models as points (not empty axes, not edge markers).
  for (const domain of ['crt', 'digit_mat']) {
    const svg = rig.read(`figures/${domain}_gap_vs_size.svg`);
    assert.equal(svg.match(/aria-roledescription="point"/g)?.length, 2, domain);
    assert.doesNotMatch(svg, />[+−]∞<\/text>/, domain);
  }
});
