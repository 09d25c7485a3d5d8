// runTask end to end on the real tiny-gpt2 model (transformers.js + onnxruntime-node): every task
// and condition with limit 3 — row counts, headers, sane values, and two runs byte-identical.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { LanguageModel } from '../../src/lm/types.js';
import { defaultMaxNewTokens, runTask } from '../../src/tasks/run-task.js';
import { shared, stimulus } from './helpers.js';

let lm: LanguageModel;

before(async () => {
  const { loadLanguageModel } = await import('../../src/lm/index.js');
  lm = await loadLanguageModel(path.join(shared, 'models/tiny-gpt2'));
});

after(async () => {
  await lm?.dispose();
});

const CASES: { task: string; condition?: string }[] = [
  { task: 'lambada' }, { task: 'digit_mat' }, { task: 'blimp' }, { task: 'dgl' },
  { task: 'crt', condition: 'crt1' }, { task: 'crt', condition: 'crt2' }, { task: 'crt', condition: 'crt3' },
];

for (const c of CASES) {
  test(`tiny-gpt2 ${c.task}${c.condition ? `/${c.condition}` : ''}: 3 rows, header, values, deterministic`, async () => {
    const args = {
      task: c.task, condition: c.condition, stimuliPath: stimulus(c.task), lm, model: 'local/tiny-gpt2', revision: '',
      limit: 3, maxNewTokens: defaultMaxNewTokens(c.task),
    };
    const a = await runTask(args);
    const b = await runTask(args);
    assert.equal(a.csv, b.csv, 'two runs give byte-identical CSVs');
    assert.deepEqual(a.requests, b.requests);
    const rows = parse(a.csv, { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 3);
    assert.deepEqual(Object.keys(rows[0]!), a.header);
    assert.deepEqual(a.failures, []);
    for (const row of rows) {
      assert.equal(row.model, 'local/tiny-gpt2');
      assert.equal(row.revision, '');
      // Every log-probability cell is a finite number ≤ 0.
      for (const [k, v] of Object.entries(row)) {
        if (/logprob$|^(direct|meta)_sum_logprob|^(direct|meta)_logprob$/.test(k)) {
          assert.ok(Number.isFinite(Number(v)) && Number(v) <= 0, `${k} = ${v}`);
        }
      }
    }
    if (c.task === 'lambada') {
      for (const row of rows) {
        assert.ok(Number(row.kl_divergence_nats) >= 0);
        assert.ok(Math.abs(Number(row.kl_divergence) - Number(row.kl_divergence_nats) / 50257) < 1e-12);
        assert.ok(Math.abs(Number(row.spearman_r_all)) <= 1);
      }
    }
    if (c.task === 'digit_mat') {
      // The first problem's prompt and its 8 choices reach the model exactly as TASKS.md writes them.
      const conds = a.requests.filter((r) => (r as { kind: string }).kind === 'conditional') as { prefix: string; continuation: string }[];
      assert.equal(conds.length, 3 * 9);
      assert.equal(conds[1]!.prefix, '[6] [6] [6]\n[1] [1] [1]\n[3] [3] [');
      assert.equal(conds[1]!.continuation, '9]');
    }
  });
}
