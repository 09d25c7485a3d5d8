// The store's parts (src/engine/store/index.ts): every area has one owner, a stage kind's cache
// folder comes from the store (StageContext.cacheDir) and survives runs, and nothing writes
// anything into the store root that no part owns.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Caches } from '../../src/engine/store/caches.js';
import { Store } from '../../src/engine/store/store.js';
import { Rig } from '../engine/rig.js';

/** Every top-level entry a store may hold, each with its owner (index.ts). */
const OWNED = new Set(['objects', 'trees', 'stat-cache.json', 'runs', 'stages', 'failures', 'logs', 'history', 'materialized.json', 'tmp', 'owners', 'locks', 'leases', 'quarantine', 'compiled', 'refs', 'requests', 'caches', 'slurm-logs']);

test('cacheDir: caches/<kind>/<name>, created when asked; the score kind\'s request cache stays at requests/; bad names refused', () => {
  const root = mkdtempSync(join(tmpdir(), 'ltd-parts-'));
  const c = new Caches(root);
  assert.equal(c.kindCacheDir('score', 'requests'), join(root, 'requests'));
  const mine = c.kindCacheDir('my-kind', 'memo');
  assert.equal(mine, join(root, 'caches', 'my-kind', 'memo'));
  assert.ok(existsSync(mine));
  assert.throws(() => c.kindCacheDir('my-kind', '../objects'), /stage kind my-kind: cache name "\.\.\/objects" is not a plain name/);
  assert.throws(() => c.kindCacheDir('my-kind', ''), /is not a plain name/);
  assert.throws(() => c.kindCacheDir('../x', 'memo'), /stage kind "\.\.\/x" cannot keep a cache/);
  assert.deepEqual(readdirSync(root).sort(), ['caches', 'requests']);
});

const COUNTER = `import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  name: 'counter', description: 'counts its executions in its cache folder', isolation: 'inline',
  outputs: () => [{ name: 'n', type: 'file', materialize: 'n.txt' }],
  async execute(ctx) {
    const f = join(ctx.cacheDir('memo'), 'count');
    let n = 0;
    try { n = Number(readFileSync(f, 'utf8')); } catch {}
    writeFileSync(f, String(n + 1));
    writeFileSync(join(ctx.outDir, 'n'), String(n + 1));
  },
};
`;

test('a plugin kind\'s cacheDir is kept across runs (run --force reads what the first run left); the store root holds only owned areas', () => {
  const rig = new Rig(`plugins: [./plugins/counter.mjs]
stages:
  count:
    uses: counter
  copy:
    run: "cat n.txt > copy.txt"
    deps: [n.txt]
    outs: [copy.txt]
`);
  rig.write('plugins/counter.mjs', COUNTER);
  const first = rig.cli(['run']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(rig.read('n.txt'), '1');
  const forced = rig.cli(['run', '--force', 'count']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(rig.read('n.txt'), '2', 'the second execution found the first one\'s count');
  assert.equal(readFileSync(join(rig.dir, 'cache', 'caches', 'counter', 'memo', 'count'), 'utf8'), '2');
  // status, gc and verify too write nothing the parts do not own.
  for (const args of [['status'], ['gc'], ['verify']]) assert.equal(rig.cli(args).code, 0, args[0]);
  const stray = readdirSync(join(rig.dir, 'cache')).filter((e) => !OWNED.has(e));
  assert.deepEqual(stray, [], `entries in the store that no part owns: ${stray.join(', ')}`);
});

test('cleaning up after dead processes leaves the Slurm executor\'s invocation files alone, however long their jobs wait', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ltd-parts-'));
  const inv = join(root, 'tmp', 'invocations');
  mkdirSync(inv, { recursive: true });
  writeFileSync(join(inv, 'k.json'), '{}');
  const stale = join(root, 'tmp', '1234-old-staging'); // an older version's staging: no owner record
  mkdirSync(stale);
  const old = new Date(Date.now() - 3_600_000); // an hour in the queue, far past the staging limit
  for (const p of [join(inv, 'k.json'), inv, stale]) utimesSync(p, old, old);
  await new Store(root).cleanTmp();
  assert.ok(existsSync(join(inv, 'k.json')), 'a queued job still needs its invocation file');
  assert.ok(!existsSync(stale), 'old staging is removed as before');
});
