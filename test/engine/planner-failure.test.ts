// Failures are data (failure.ts): what a fetch error means for the user is decided by its shape,
// not by words in its message. A download that gave up and a model missing offline differ.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failedOutcome } from '../../src/engine/executor.js';
import { StageError, toFailure } from '../../src/engine/failure.js';
import { ModelLoadError } from '../../src/lm/errors.js';
import { FetchError, HttpStatusError } from '../../src/fetch/errors.js';
import { failureText } from '../../src/words/reasons.js';

test('fetch errors become fetch failures with a cause the reporters can group on', () => {
  const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  const cases: [unknown, string][] = [
    [new FetchError('offline-missing', 'model x: not available offline'), 'fetch/offline-missing'],
    [new FetchError('retries-exhausted', 'model x: gave up after 5 tries', { cause: refused }), 'fetch/network'],
    [new FetchError('http', 'cannot reach the hub (ENOTFOUND)', { cause: Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND' } }) }), 'fetch/network'],
    [new FetchError('retries-exhausted', 'download failed after 5 tries', { cause: new HttpStatusError(503, 'http://hub/x', null, '') }), 'fetch/gave-up'],
    [new FetchError('http', 'HTTP 418', { cause: new HttpStatusError(418, 'http://hub/x', null, '') }), 'fetch/http'],
    [new FetchError('revision-not-found', 'revision "step9" was not found'), 'fetch/not-found'],
    [new FetchError('digest-mismatch', 'sha256 differs'), 'fetch/integrity'],
    [new Error('stimuli.csv: missing column intuitive'), 'plan/'],
  ];
  for (const [err, want] of cases) {
    const f = toFailure(err, 'plan');
    assert.equal(`${f.reason}/${'cause' in f ? f.cause : ''}`, want, (err as Error).message);
    assert.equal(f.message, (err as Error).message);
  }
  // In a stage's execution, an error that is not a fetch error is the stage's own.
  assert.deepEqual(toFailure(new Error('boom'), 'execute'), { reason: 'execute', cause: 'stage-error', message: 'boom' });
  // A failure already carried (across IPC, from a worker) is kept as it is.
  const carried = { reason: 'fetch', cause: 'gave-up', message: 'download failed' } as const;
  assert.equal(toFailure(Object.assign(new Error('x'), { failure: carried }), 'execute'), carried);
});

test('a model that does not load is a load failure by its type, whatever its words', () => {
  // "download" in a message once made any score error a load failure; the type decides now.
  assert.deepEqual(toFailure(new ModelLoadError('cannot load model m: bad weights'), 'execute'), { reason: 'load', message: 'cannot load model m: bad weights' });
  assert.deepEqual(toFailure(new Error('the download of loading.csv broke'), 'execute'), { reason: 'execute', cause: 'stage-error', message: 'the download of loading.csv broke' });
  // one carrier: the StageError's Failure is what executors report
  const e = new StageError({ reason: 'execute', cause: 'missing-output', message: 'no csv' });
  assert.equal(toFailure(e, 'execute'), e.failure);
  assert.deepEqual(failedOutcome(toFailure(new ModelLoadError('x'), 'execute')), { ok: false, reason: 'model-load-failed', message: 'x', failure: { reason: 'load', message: 'x' } });
  assert.equal(failedOutcome(e.failure).reason, 'missing-output');
  assert.equal(failedOutcome({ reason: 'fetch', cause: 'network', message: 'm' }).reason, 'stage-error');
});

test('one carrier: a FetchError is a StageError whose Failure is decided where it is thrown', () => {
  const e = new FetchError('retries-exhausted', 'model x: gave up', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  assert.ok(e instanceof StageError);
  assert.equal(e.reason, 'retries-exhausted');
  assert.deepEqual(e.failure, { reason: 'fetch', cause: 'network', message: 'model x: gave up' });
  assert.equal(toFailure(e, 'plan'), e.failure);
  // A FetchError-shaped error of an older bundled copy (a name and a code only) still maps.
  assert.deepEqual(toFailure(Object.assign(new Error('m'), { name: 'FetchError', reason: 'auth' }), 'plan'), { reason: 'fetch', cause: 'auth', message: 'm' });
  assert.deepEqual(toFailure(Object.assign(new Error('m'), { name: 'FetchError', reason: 'no-such-code' }), 'plan'), { reason: 'plan', message: 'm' });
});

test('a blocked stage\'s Failure names its stage as data; the reporter says it once', () => {
  assert.equal(failureText({ reason: 'plan', message: 'no such file', stage: 'a/b' }), 'stage a/b: no such file');
  // The kind's own words already name it (`stage <id> (<kind>)`): not said twice.
  assert.equal(failureText({ reason: 'plan', message: 'stage a/b (statistics): R is missing', stage: 'a/b' }), 'stage a/b (statistics): R is missing');
  assert.equal(failureText({ reason: 'execute', cause: 'stage-error', message: 'boom' }), 'boom');
});
