// No route to the hub: one try, and the advice names the local option for what was asked for —
// --models-dir for a model, --stimuli-dir for a dataset's stimuli file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HubClient } from '../../src/fetch/hub-client.js';
import { DEFAULT_RETRY } from '../../src/fetch/hub-config.js';

function unreachableHub(): { client: HubClient; calls: () => number } {
  let n = 0;
  const fetchImpl = (async () => {
    n++;
    throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND' } });
  }) as unknown as typeof fetch;
  const client = new HubClient({ endpoint: 'https://hub.invalid', cacheDir: '/nonexistent', offline: false, retry: DEFAULT_RETRY, idleTimeoutMs: 1000 }, fetchImpl);
  return { client, calls: () => n };
}

test('an unreachable hub fails at once, and says which local option stands in', async () => {
  const model = unreachableHub();
  await assert.rejects(model.client.getJson('https://hub.invalid/api/models/a/b', 'model a/b revision main'), (e: Error) => {
    assert.match(e.message, /^model a\/b revision main: cannot reach https:\/\/hub\.invalid \(ENOTFOUND\)\. Without network, run with --offline and provide models with --models-dir <dir>/);
    return true;
  });
  assert.equal(model.calls(), 1, 'no retries without a route');
  const dataset = unreachableHub();
  await assert.rejects(dataset.client.getJson('https://hub.invalid/api/datasets/x/y', 'dataset x/y revision main'), (e: Error) => {
    assert.match(e.message, /provide the stimuli with --stimuli-dir <dir> \(or PIPELINE_STIMULI_DIR\) or a path:; or set HF_ENDPOINT/);
    assert.doesNotMatch(e.message, /--models-dir/);
    return true;
  });
});
