// onnxruntime's threads: one place decides them (src/lm/threads.ts); `pipeline score --threads N`
// makes the score stage take N cpus, which become the intra-op threads.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { scorePipeline } from '../../src/cli/score.js';
import { UsageError } from '../../src/cli/options.js';
import { sessionOptions } from '../../src/lm/threads.js';
import { scoreParams } from '../../stages/score.js';

test('session options: intra-op threads as asked, one inter-op thread, sequential, no spinning by default', () => {
  assert.deepEqual(sessionOptions({ threads: 3 }), {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    intraOpNumThreads: 3,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  const dflt = sessionOptions({});
  assert.equal('intraOpNumThreads' in dflt, false, "onnxruntime's own default when not given");
  assert.deepEqual(sessionOptions({ spin: true })['extra'], { session: { intra_op: { allow_spinning: '1' }, inter_op: { allow_spinning: '1' } } });
  assert.throws(() => sessionOptions({ threads: 0 }), /threads must be a positive integer, got 0/);
  assert.throws(() => sessionOptions({ threads: 1.5 }), /threads must be a positive integer, got 1.5/);
});

test('pipeline score --threads N: the model takes N cpus (the score stage\'s threads); a bad value is a usage error', () => {
  const base = { model: 'EleutherAI/pythia-160m', task: 'blimp', param: [] };
  const doc = parse(scorePipeline({ ...base, threads: '3' }, '/tmp', scoreParams)) as { models: Array<Record<string, unknown>> };
  assert.deepEqual(doc.models[0]!['resources'], { cpu: 3 });
  const none = parse(scorePipeline(base, '/tmp', scoreParams)) as { models: Array<Record<string, unknown>> };
  assert.equal(none.models[0]!['resources'], undefined);
  assert.throws(() => scorePipeline({ ...base, threads: '0' }, '/tmp', scoreParams), (e: unknown) => e instanceof UsageError && /--threads expects a whole number ≥ 1, got "0"/.test(e.message));
});

test('pipeline score --threads 2 runs the score stage with 2 onnxruntime threads (run record)', { timeout: 240_000 }, async () => {
  const { execFile } = await import('node:child_process');
  const { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { repoRoot, sharedDir, tinyGpt2 } = await import('./helpers.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'lm-threads-'));
  try {
    const args = [path.join(repoRoot, 'bin', 'pipeline.js'), '--stimuli-dir', path.join(sharedDir, 'data', 'stimuli'), 'score', '--model', tinyGpt2, '--task', 'blimp', '--limit', '2', '--threads', '2', '--json'];
    const code = await new Promise<number>((resolve) => execFile(process.execPath, args, { cwd: dir }, (e) => resolve(e ? Number(e.code ?? 1) : 0)));
    assert.equal(code, 0);
    const records: Array<{ stageId: string; info: Record<string, unknown> }> = [];
    const walk = (d: string): void => {
      for (const f of readdirSync(d)) {
        const p = path.join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (f.endsWith('.json') || !f.includes('.')) {
          try {
            records.push(JSON.parse(readFileSync(p, 'utf8')) as (typeof records)[number]);
          } catch {
            // not a run record
          }
        }
      }
    };
    // One-off scores keep their store under .pipeline-score/ (README › Scoring one model).
    walk(path.join(dir, '.pipeline-score', 'cache', 'runs'));
    const score = records.find((r) => r.stageId?.startsWith('score/'));
    assert.ok(score, 'a score run record');
    assert.equal(score.info['threads'], 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
