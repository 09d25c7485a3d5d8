// The reporters' words: item progress with elapsed time and an estimate, a spinner only on kinds
// that run, edited outputs counted in the summary, and plain-line progress at a calm rate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunSummary } from '../../src/engine/events.js';
import { groupOutput, groupTitle } from '../../src/cli/reporters/listr.js';
import { lineReporter, summaryLine, LINE_PROGRESS_MS } from '../../src/cli/reporters/lines.js';
import { duration, noteLog, noteProgress, runningText, type Running } from '../../src/cli/reporters/progress.js';

test('progress comes from stage-progress events (never from log text) and is shown with elapsed time and an estimate', () => {
  const r: Running = { startedAt: 0, line: '' };
  // A log line that looks like progress is only the last line.
  noteLog(r, 'crt/crt2: 8/24 requests');
  assert.equal(r.done, undefined);
  assert.equal(runningText(r, 2500), '3 s: crt/crt2: 8/24 requests');
  assert.equal(noteProgress(r, { done: 25, total: 24, unit: 'requests' }), false);
  assert.equal(runningText({ startedAt: 0, line: '', done: 8, total: 24, unit: 'requests' }, 4000), '8/24 requests (33%), 4 s, ~8 s left');
  // The estimate runs from the first progress report: 10 s of model loading do not count.
  assert.equal(noteProgress(r, { done: 0, total: 30, unit: 'requests' }, 10_000), true);
  noteProgress(r, { done: 10, total: 30, unit: 'requests' }, 12_000);
  assert.equal(runningText(r, 12_000), '10/30 requests (33%), 12 s, ~4 s left');
  assert.equal(duration(185_000), '3m05s');
  assert.equal(duration(3_720_000), '1h02m');
});

test('a kind spins only while one of its stages runs; its running stages are listed with progress', () => {
  const idle = { kind: 'score', size: 24, ran: 2, cached: 0, failed: 0, skipped: 0, running: new Map() };
  assert.equal(groupTitle(idle, '·'), '· score         2/24  (2 ran, 0 up to date)');
  const running = new Map([['score/lambada/demo-gpt-small', { startedAt: 0, line: '', done: 12, total: 24, unit: 'requests' }]]);
  const busy = { ...idle, running };
  assert.equal(groupTitle(busy, '⠙'), '⠙ score         2/24  (2 ran, 0 up to date, 1 running)');
  // After Ctrl-C: how far it got (2 of 20), and that the rest was interrupted, not "20/20".
  assert.equal(groupTitle({ ...idle, size: 20, interrupted: 18 }, undefined), 'score         2/20  (2 ran, 0 up to date, 18 not run: interrupted)');
  assert.equal(groupOutput(busy, 6000), 'score/lambada/demo-gpt-small  12/24 requests (50%), 6 s, ~6 s left');
  const many = new Map(Array.from({ length: 9 }, (_, i) => [`s/${i}`, { startedAt: 0, line: 'x' }] as const));
  const lines = groupOutput({ ...idle, running: many }, 1000).split('\n');
  assert.equal(lines.length, 7);
  assert.equal(lines[6], '… and 3 more running');
});

const summary = (over: Partial<RunSummary>): RunSummary => ({
  selected: 53, ran: 0, cached: 53, failed: 0, blocked: 0, blockages: [], skipped: 0, keepGoing: false, interrupted: false, durationMs: 120, modelLoads: {}, restored: [], recreated: [], switched: [], failures: [],
  results: { projectDir: '/p', folders: [] }, peak: { cpu: 0, gpu: 0, memory: 0, stages: 0 }, ...over,
});

test('edited outputs have their own count in the summary and in a dry run', () => {
  assert.equal(summaryLine(summary({}), true), 'Nothing to do: all 53 stages are up to date.');
  assert.equal(summaryLine(summary({ restored: ['output/a.csv', 'figures/b.svg'] }), true), 'All 53 stages are up to date; 2 edited outputs will be restored: output/a.csv, figures/b.svg.');
  assert.equal(summaryLine(summary({ ran: 7, cached: 46, restored: ['output/a.csv'] }), true), '7 of 53 stages would run (46 up to date); 1 edited output will be restored: output/a.csv.');
  assert.equal(summaryLine(summary({ restored: ['output/a.csv (your edit kept as output/a.csv.edited-1)'] })), 'All 53 stages are up to date (120 ms); 1 edited output restored (your copy kept beside it, see above).');
  assert.equal(summaryLine(summary({})), 'Nothing to do: all 53 stages are up to date (120 ms).');
});

test('a dry run with a blocked stage says its count holds with --keep-going only (a run stops at the first block)', () => {
  assert.equal(summaryLine(summary({ ran: 12, cached: 7, blocked: 1 }), true), '12 of 53 stages would run with --keep-going (7 up to date, 1 blocked); without it a run stops at the first blocked stage and skips every stage not started by then.');
  assert.equal(summaryLine(summary({ ran: 12, cached: 7, blocked: 1, keepGoing: true }), true), '12 of 53 stages would run (7 up to date, 1 blocked).');
});

test('working-tree changes of up-to-date stages are counted: deleted outputs restored, outputs switched between cached settings', () => {
  const sw = [{ stage: 'score/a', paths: ['output/a.csv'], reasons: [{ reason: 'param' as const, name: 'limit', from: 20, to: 12 }] }, { stage: 'aggregate/x', paths: ['processed_data/x.csv', 'processed_data/y.csv'], reasons: [{ reason: 'input' as const, stage: 'score/a', change: 'digest' as const }] }];
  assert.equal(summaryLine(summary({ recreated: ['figures/a.svg'], switched: sw })), 'All 53 stages are up to date (120 ms); restored 1 deleted output; switched 3 outputs to cached results (param limit: 20 → 12).');
  assert.equal(summaryLine(summary({ recreated: ['figures/a.svg'], switched: sw }), true), 'All 53 stages are up to date; 1 deleted output will be restored: figures/a.svg; 3 outputs will be switched to cached results (param limit: 20 → 12).');
  assert.equal(summaryLine(summary({ switched: [sw[1]!] })), 'All 53 stages are up to date (120 ms); switched 2 outputs to cached results (their inputs changed).');
});

test('plain lines: a running stage prints its progress at most every LINE_PROGRESS_MS, never in verbose twice', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const lines: string[] = [];
  const r = lineReporter((l) => lines.push(l));
  r({ type: 'stage-start', id: 'score/x', kind: 'score', reasons: [{ reason: 'never-run' }], gpus: [] });
  for (let i = 1; i <= 30; i++) {
    t.mock.timers.tick(1000);
    r({ type: 'stage-progress', id: 'score/x', done: i, total: 40, unit: 'requests' });
    r({ type: 'stage-log', id: 'score/x', line: `lambada: ${i}/40 requests` });
    r({ type: 'stage-log', id: 'score/x', line: 'some other log line' });
  }
  const progress = lines.filter((l) => l.startsWith('… '));
  assert.equal(progress.length, Math.floor(30_000 / LINE_PROGRESS_MS));
  assert.equal(progress[0], '… score/x  10/40 requests (25%), 10 s, ~30 s left');
  assert.ok(!lines.some((l) => l.includes('some other log line')));
  const verbose: string[] = [];
  const v = lineReporter((l) => verbose.push(l), { verbose: true });
  v({ type: 'stage-start', id: 'score/x', kind: 'score', reasons: [{ reason: 'never-run' }], gpus: [] });
  t.mock.timers.tick(20_000);
  v({ type: 'stage-progress', id: 'score/x', done: 1, total: 40, unit: 'requests' });
  v({ type: 'stage-log', id: 'score/x', line: 'lambada: 1/40 requests' });
  assert.deepEqual(verbose.slice(1), ['  [score/x] lambada: 1/40 requests']);
});
