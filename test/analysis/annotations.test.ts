import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { aggregateDomain } from '../../src/analysis/aggregate-domain.js';
import { annotationKey, readAnnotations } from '../../src/analysis/annotations.js';
import { crt2, registry } from './fixtures.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'annot-'));
}

test('annotation folder <condition>/<model>.csv (item_id,label) and single file (condition,model,item_id,label)', () => {
  const dir = tmp();
  try {
    mkdirSync(join(dir, 'crt2'));
    writeFileSync(join(dir, 'crt2', 'alpha-1b.csv'), 'item_id,label\n2,correct\n3,\n');
    const a = readAnnotations(dir, registry());
    assert.equal(a.get(annotationKey('crt2', 'alpha-1b', '2')), 'correct');
    assert.equal(a.get(annotationKey('crt2', 'alpha-1b', '3')), '');
    const file = join(dir, 'all.csv');
    writeFileSync(file, 'condition,model,item_id,label\ncrt1,org/beta-2b,7,intuitive\n');
    const b = readAnnotations(file, registry());
    assert.equal(b.get(annotationKey('crt1', 'beta-2b', '7')), 'intuitive'); // hub id resolved to the short name
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad annotation files say what is wrong', () => {
  const dir = tmp();
  try {
    const f = join(dir, 'a.csv');
    writeFileSync(f, 'condition,model,item\ncrt1,alpha-1b,1\n');
    assert.throws(() => readAnnotations(f, registry()), /lacks column\(s\) item_id, label/);
    writeFileSync(f, 'condition,model,item_id,label\ncrt1,nobody,1,correct\n');
    assert.throws(() => readAnnotations(f, registry()), /unknown model "nobody"/);
    writeFileSync(f, 'condition,model,item_id,label\ncrt1,alpha-1b,1,correct\ncrt1,alpha-1b,1,intuitive\n');
    assert.throws(() => readAnnotations(f, registry()), /conflicting labels for crt1\/alpha-1b\/1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('merge: annotated labels replace the file\'s label and decide production correctness; others stay', () => {
  const files = () => [crt2('alpha-1b', [{ label: 'intuitive', c: -1, i: -2 }, { label: '', c: -1, i: -2 }, { label: 'correct', c: -1, i: -2 }])];
  const before = aggregateDomain('crt', files(), {});
  assert.deepEqual(before.tables.crt_wide_size!.rows.map((r) => r.generated_response_correct), [false, false, true]);
  const annotations = new Map([
    [annotationKey('crt2', 'alpha-1b', '1'), 'correct'],
    [annotationKey('crt2', 'alpha-1b', '2'), 'intuitive'],
    [annotationKey('crt2', 'alpha-1b', '99'), 'correct'],
  ]);
  const after = aggregateDomain('crt', files(), { annotations });
  const rows = after.tables.crt_wide_size!.rows;
  assert.deepEqual(rows.map((r) => r.generated_response_label), ['correct', 'intuitive', 'correct']);
  assert.deepEqual(rows.map((r) => r.generated_response_correct), [true, false, true]);
  assert.ok(after.warnings.some((w) => /1 annotation\(s\) matched no crt row, e\.g\. crt2\/alpha-1b\/99/.test(w)));
  // production 2/3 correct after annotation vs 1/3 before
  assert.equal(after.tables.crt_log_odds_diff!.rows[0]!.p_high, 2 / 3);
  assert.equal(before.tables.crt_log_odds_diff!.rows[0]!.p_high, 1 / 3);
});
