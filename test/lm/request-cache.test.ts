// The per-request results cache as a LanguageModel decorator: what it answers from the cache,
// what it sends to the model, what it never caches, and how it reads damaged files.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CachedLanguageModel, RequestCache, requestKey, runtimeVersions, type CacheProfile } from '../../src/lm/request-cache.js';
import { runTask } from '../../src/tasks/run-task.js';
import { FakeLM } from '../tasks/fake-lm.js';
import { stimulus } from '../tasks/helpers.js';

const PROFILE: CacheProfile = { runtime: { 'onnxruntime-node': '1.0.0', '@huggingface/transformers': '4.0.0' }, dtype: 'fp32', device: 'cpu', path: 'fast', parts: 1, batchTokens: null, forceGreedy: false };
const DIGEST = 'a'.repeat(64);
const store = (): string => mkdtempSync(join(tmpdir(), 'ltd-reqcache-'));

const REQS = [
  { prefix: 'The cat', separator: ' ', continuation: 'sat' },
  { prefix: 'The dog', separator: ' ', continuation: 'ran' },
  { prefix: 'A bird', separator: ' ', continuation: 'sang' },
];

test('folders, keys and lines are those of existing caches (moving the decorator to src/lm changed none of them)', () => {
  // Literals written by the version in src/tasks/: a change here makes every stored result unreachable.
  assert.equal(RequestCache.folder('/S/requests', DIGEST, PROFILE), `/S/requests/${DIGEST}/2727e439a4b220832aa042e8`);
  assert.equal(requestKey.conditional(REQS[0]!, 'sum'), 'bdab7c35f89670fb7816a37a7c1374a80246cffeb686af48ab4476053c4b1d6e');
  assert.equal(requestKey.sequence('One two three.'), '49347b4ba729f9766e056d0f0e5ac72a835496afc296959fcaaf968e821c6bdf');
  assert.equal(requestKey.generate('Q: 1+1?', 5), '3969683221096c0f49838d89dc7af67ff015514f5b3d5a78f0e1272a60a3284c');
  const dir = join(store(), 'old');
  mkdirSync(dir);
  writeFileSync(join(dir, 'oldhost-1-abcd.jsonl'), '{"k":"k-one","v":"{\\"v\\":{\\"$num\\":\\"-0\\"},\\"w\\":[{\\"$num\\":\\"-Infinity\\"},1.5]}","c":"d0e2d01b6d6f1e24"}\n');
  const old = new RequestCache(dir);
  assert.equal(old.skipped, 0);
  const v = old.get<{ v: number; w: number[] }>('k-one')!;
  assert.ok(Object.is(v.v, -0));
  assert.deepEqual(v.w, [-Infinity, 1.5]);
});

test('answers cached requests without calling the model, sends only the missing ones, in order', async () => {
  const root = store();
  const fake = new FakeLM();
  const lm = new CachedLanguageModel(fake, RequestCache.open(root, DIGEST, PROFILE));
  const first = await lm.conditional(REQS.slice(0, 2), 'sum');
  assert.deepEqual(fake.calls, [{ method: 'conditional', size: 2 }]);
  // A fresh process (a new cache object on the same folder) sees the stored results.
  const fake2 = new FakeLM();
  const lm2 = new CachedLanguageModel(fake2, RequestCache.open(root, DIGEST, PROFILE));
  const again = await lm2.conditional(REQS, 'sum');
  assert.deepEqual(fake2.calls, [{ method: 'conditional', size: 1 }], 'only the third request reaches the model');
  assert.deepEqual(again.slice(0, 2), first);
  assert.deepEqual(again[2], (await new FakeLM().conditional([REQS[2]!], 'sum'))[0]);
  assert.deepEqual(lm2.counters, { hits: 2, misses: 1, uncached: 0 });
  // The reduction is part of the request: a mean is not a sum.
  await lm2.conditional(REQS.slice(0, 1), 'mean');
  assert.equal(fake2.calls.length, 2);
});

test('results are kept apart by model digest and by profile (runtime, dtype, device, plain vs fast)', async () => {
  const root = store();
  await new CachedLanguageModel(new FakeLM(), RequestCache.open(root, DIGEST, PROFILE)).sequence(['One two three.']);
  const variants: [string, CacheProfile][] = [
    ['b'.repeat(64), PROFILE],
    [DIGEST, { ...PROFILE, path: 'plain' }],
    [DIGEST, { ...PROFILE, dtype: 'fp16' }],
    [DIGEST, { ...PROFILE, device: 'cuda' }],
    [DIGEST, { ...PROFILE, runtime: { ...PROFILE.runtime, 'onnxruntime-node': '1.0.1' } }],
  ];
  const folders = new Set([RequestCache.folder(root, DIGEST, PROFILE)]);
  for (const [digest, profile] of variants) {
    const fake = new FakeLM();
    await new CachedLanguageModel(fake, RequestCache.open(root, digest, profile)).sequence(['One two three.']);
    assert.equal(fake.calls.length, 1, `${digest.slice(0, 4)} ${JSON.stringify(profile)} must not reuse another model's or profile's result`);
    folders.add(RequestCache.folder(root, digest, profile));
  }
  assert.equal(folders.size, variants.length + 1);
  // The same profile written with its keys in another order is the same folder.
  const reordered = Object.fromEntries(Object.entries(PROFILE).reverse()) as unknown as CacheProfile;
  assert.equal(RequestCache.folder(root, DIGEST, reordered), RequestCache.folder(root, DIGEST, PROFILE));
});

test('sampled generations and next-token logits are never cached; greedy generations are', async () => {
  const root = store();
  const sampling = new FakeLM();
  (sampling.info.generation as { doSample: boolean }).doSample = true;
  const lm = new CachedLanguageModel(sampling, RequestCache.open(root, DIGEST, PROFILE));
  await lm.generate(['Q: 1+1?'], 5);
  await lm.generate(['Q: 1+1?'], 5);
  await lm.nextTokenLogits(['The cat']);
  await lm.nextTokenLogits(['The cat']);
  assert.deepEqual(sampling.calls.map((c) => c.method), ['generate', 'generate', 'nextTokenLogits', 'nextTokenLogits']);
  assert.deepEqual(lm.counters, { hits: 0, misses: 0, uncached: 4 });
  const greedy = new FakeLM();
  const g = new CachedLanguageModel(greedy, RequestCache.open(root, DIGEST, PROFILE));
  const a = await g.generate(['Q: 1+1?'], 5);
  const b = await g.generate(['Q: 1+1?'], 5);
  assert.deepEqual(a, b);
  await g.generate(['Q: 1+1?'], 6);
  assert.deepEqual(greedy.calls.map((c) => c.size), [1, 1], 'max_new_tokens is part of the key');
});

test('a torn last line and a corrupt line are ignored; -0 and -Infinity come back bit for bit', async () => {
  const root = store();
  const cache = RequestCache.open(root, DIGEST, PROFILE);
  cache.put([['k-zero', { v: -0, w: [-Infinity, 1.5, NaN] }], ['k-two', 2]]);
  const dir = RequestCache.folder(root, DIGEST, PROFILE);
  const file = readdirSync(dir).find((f) => f.endsWith('.jsonl'))!;
  const lines = readFileSync(join(dir, file), 'utf8').split('\n');
  // Flip a digit inside the second line's value (its checksum no longer matches) and tear a third.
  writeFileSync(join(dir, file), `${lines[0]}\n${lines[1]!.replace('2', '3')}\n`);
  appendFileSync(join(dir, file), '{"k":"k-torn","v":"1');
  const reread = new RequestCache(dir);
  assert.equal(reread.skipped, 2);
  assert.equal(reread.size, 1);
  assert.equal(reread.has('k-two'), false);
  const v = reread.get<{ v: number; w: number[] }>('k-zero')!;
  assert.ok(Object.is(v.v, -0));
  assert.equal(v.w[0], -Infinity);
  assert.equal(v.w[1], 1.5);
  assert.ok(Number.isNaN(v.w[2]));
  // Writers never share a file: a second writer on the same folder gets its own.
  new RequestCache(dir).put([['k-other', 1]]);
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.jsonl')).length, 2);
});

test('a task run through the cache gives the same rows; a larger limit computes only the new items', async () => {
  const stimuliPath = stimulus('crt');
  const root = store();
  const direct = await runTask({ task: 'crt', condition: 'crt2', stimuliPath, lm: new FakeLM(), model: 'fake', revision: '', limit: 4, maxNewTokens: 10 });
  const run = async (limit: number): Promise<{ csv: string; fake: FakeLM; lm: CachedLanguageModel }> => {
    const fake = new FakeLM();
    const lm = new CachedLanguageModel(fake, RequestCache.open(root, DIGEST, PROFILE));
    const r = await runTask({ task: 'crt', condition: 'crt2', stimuliPath, lm, model: 'fake', revision: '', limit, maxNewTokens: 10 });
    return { csv: r.csv, fake, lm };
  };
  const two = await run(2);
  const four = await run(4);
  assert.equal(four.csv, direct.csv);
  // crt sends one generation and two forced-choice continuations per item.
  assert.equal(two.lm.counters.misses, 6);
  assert.deepEqual(four.lm.counters, { hits: 6, misses: 6, uncached: 0 });
  assert.equal(four.fake.calls.reduce((n, c) => n + c.size, 0), 6);
});

test('runtime versions are read from the installed packages', () => {
  const v = runtimeVersions();
  assert.match(v['onnxruntime-node']!, /^\d+\.\d+\.\d+/);
  assert.match(v['@huggingface/transformers']!, /^\d+\.\d+\.\d+/);
});
