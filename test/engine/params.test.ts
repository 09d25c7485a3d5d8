// Declared params: coercion of YAML/--param values, the problems expansion reports, the typed
// values a kind reads, and how a task's params reach only the kinds that declare them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PipelineError } from '../../src/engine/diagnostics.js';
import { expand } from '../../src/engine/expand.js';
import { coerceParam, paramProblems, readParams, type ParamDecls } from '../../src/engine/params.js';
import { BUILTIN_KINDS, KindRegistry } from '../../src/engine/registry.js';
import { kindParams } from '../../src/engine/params.js';
import { parseSpec } from '../../src/engine/spec.js';
import { scoreParams } from '../../stages/score.js';

const DECLS = {
  n: { type: 'integer', min: 0, default: 0, doc: 'a count' },
  x: { type: 'number', doc: 'a number' },
  b: { type: 'boolean', default: false, doc: 'a switch' },
  s: { type: 'string', choices: ['a', 'b'], doc: 'a choice' },
  l: { type: 'string-list', default: ['p'], doc: 'a list' },
} as const satisfies ParamDecls;

test('values are coerced from their YAML and command-line spellings, and refused with what they must be', () => {
  assert.deepEqual(coerceParam(DECLS.n, '12'), { ok: true, value: 12 });
  assert.deepEqual(coerceParam(DECLS.n, 3), { ok: true, value: 3 });
  assert.deepEqual(coerceParam(DECLS.n, 'abc'), { ok: false, message: 'must be a whole number ≥ 0, got "abc"' });
  assert.deepEqual(coerceParam(DECLS.n, -1), { ok: false, message: 'must be a whole number ≥ 0, got -1' });
  assert.deepEqual(coerceParam(DECLS.n, 1.5), { ok: false, message: 'must be a whole number ≥ 0, got 1.5' });
  assert.deepEqual(coerceParam(DECLS.x, '2.5'), { ok: true, value: 2.5 });
  assert.deepEqual(coerceParam(DECLS.b, 'true'), { ok: true, value: true });
  assert.deepEqual(coerceParam(DECLS.b, 'no'), { ok: true, value: false });
  assert.deepEqual(coerceParam(DECLS.b, 'maybe'), { ok: false, message: 'must be true or false, got "maybe"' });
  assert.deepEqual(coerceParam(DECLS.s, 'zzz'), { ok: false, message: 'must be one of a, b, got "zzz"' });
  assert.deepEqual(coerceParam(DECLS.l, 'q'), { ok: true, value: ['q'] });
  assert.deepEqual(coerceParam(DECLS.l, [1, 'r']), { ok: true, value: ['1', 'r'] });
});

test('problems name the param, the kind and the closest declared name', () => {
  assert.deepEqual(paramProblems('k', DECLS, { nn: 1, n: 'x', b: true, s: null }), [
    { name: 'nn', problem: 'unknown', message: 'kind k has no param "nn" (did you mean "n"?); its params: n, x, b, s, l' },
    { name: 'n', problem: 'value', message: 'param n of kind k must be a whole number ≥ 0, got "x" (a count)', detail: 'must be a whole number ≥ 0, got "x"' },
  ]);
  assert.deepEqual(paramProblems('fetch-model', {}, { limit: 1 }), [{ name: 'limit', problem: 'unknown', message: 'kind fetch-model has no param "limit"; it takes no params' }]);
});

test('a kind reads typed values with defaults applied', () => {
  const v = readParams('k', DECLS, { n: '4', b: 'yes', x: '' });
  assert.deepEqual(v, { n: 4, x: undefined, b: true, s: undefined, l: ['p'] });
  assert.throws(() => readParams('k', DECLS, { n: -2 }, 'stage s/1'), /^Error: stage s\/1: param "n" must be a whole number ≥ 0, got -2$/);
  // The score kind's declaration as the stage reads it.
  assert.deepEqual(readParams('score', scoreParams, { limit: '5', plain: 'true' }), { limit: 5, max_new_tokens: undefined, plain: true, force_greedy: false, batch_tokens: undefined, chunk_requests: 2048, parts: undefined, request_cache: true });
});

const PIPELINE = `version: 1
models:
  - id: m
    path: /nowhere
tasks:
  crt: { conditions: [crt1], params: { max_new_tokens: "20" } }
stages:
  fetch-stimuli:
    uses: fetch-stimuli
    matrix: { task: $tasks }
  build-config:
    uses: build-config
    matrix: { task: $tasks, condition: $conditions, model: $models }
  score:
    uses: score
    matrix: { task: $tasks, condition: $conditions, model: $models }
    params: { limit: "3" }
`;

test('expansion types params and offers a task\'s params only to the kinds that declare them', async () => {
  const spec = parseSpec(PIPELINE, 'pipeline.yaml', { kinds: BUILTIN_KINDS });
  const kinds = await kindParams(new KindRegistry(), ['fetch-stimuli', 'build-config', 'score']);
  const byId = new Map(expand(spec, kinds).map((i) => [i.id, i]));
  assert.deepEqual(byId.get('fetch-stimuli/crt')!.params, {}, 'fetch-stimuli declares no params: the task\'s max_new_tokens is not its key');
  assert.deepEqual(byId.get('build-config/crt/crt1/m')!.params, { max_new_tokens: 20 });
  assert.deepEqual(byId.get('score/crt/crt1/m')!.params, { max_new_tokens: 20, limit: 3 });
  // Without declarations (an older caller), params pass through untouched.
  assert.deepEqual(expand(spec).find((i) => i.id === 'fetch-stimuli/crt')!.params, { max_new_tokens: '20' });
  // A bad task param is located at the task.
  const bad = parseSpec(PIPELINE.replace('max_new_tokens: "20"', 'max_new_tokens: 0'), 'pipeline.yaml', { kinds: BUILTIN_KINDS });
  assert.throws(() => expand(bad, kinds), (e: unknown) => e instanceof PipelineError && e.message.startsWith('pipeline.yaml:6:56 stage "build-config": param max_new_tokens of kind build-config must be a whole number ≥ 1, got 0'));
});
