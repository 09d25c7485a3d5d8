// convert-model declares its params: a misspelt one is named (with the closest) instead of ignored,
// and scoring_parts below 1 is refused with what it must be.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { paramProblems } from '../../src/engine/params.js';
import { convertModelKind, convertParams } from '../../stages/convert-model.js';

test('convert-model: a misspelt param and a bad scoring_parts are problems at expansion', () => {
  assert.equal(convertModelKind.params, convertParams);
  assert.deepEqual(paramProblems('convert-model', convertParams, { dtype: 'fp16', scoring_parts: 2 }), []);
  const [typo] = paramProblems('convert-model', convertParams, { dtpye: 'fp16' });
  assert.equal(typo?.problem, 'unknown');
  assert.match(typo?.message ?? '', /kind convert-model has no param "dtpye".*did you mean "dtype"/);
  const [zero] = paramProblems('convert-model', convertParams, { scoring_parts: 0 });
  assert.equal(zero?.problem, 'value');
  assert.match(zero?.message ?? '', /param scoring_parts of kind convert-model must be a whole number ≥ 1, got 0/);
});
