// Damage never wedges or lies: truncated metadata is quarantined and read as absent (the stage
// re-runs, status and inspect keep working), an unreadable lock goes stale, and a corrupt object
// never feeds a stage — what was computed from it is recomputed, to a clean run's bytes.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHAIN } from '../engine/chain-fixture.js';
import { Rig } from '../engine/rig.js';
import { age, keyOf, toOldFormat } from './helpers.js';

function states(r: Rig): Record<string, string> {
  const st = r.cli(['status', '--json']);
  assert.equal(st.code, 0, st.stderr);
  return Object.fromEntries((JSON.parse(st.stdout) as { id: string; state: string }[]).map((s) => [s.id, s.state]));
}

function halve(path: string): void {
  truncateSync(path, Math.floor(readFileSync(path).length / 2));
}

function quarantined(r: Rig): string[] {
  const d = join(r.dir, 'cache', 'quarantine', 'meta');
  return existsSync(d) ? readdirSync(d) : [];
}

test('a truncated run record: status and inspect work, the stage re-runs, nothing downstream does', () => {
  const r = new Rig(CHAIN);
  assert.equal(r.cli(['run']).code, 0);
  const key = keyOf(r, 'two');
  halve(join(r.dir, 'cache', 'runs', key.slice(0, 2), `${key}.json`));
  const st = r.cli(['status']);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stderr, /runs\/.*\.json was unreadable .*moved it to .*quarantine\/meta/);
  assert.deepEqual(states(r), { one: 'fresh', two: 'stale', three: 'waiting' });
  assert.equal(r.cli(['inspect', 'two']).code, 0);
  assert.equal(quarantined(r).length, 1);
  r.resetCalls();
  const run = r.cli(['run']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual(r.calls(), ['two'], 'two re-runs to the same bytes, so three stays fresh');
  assert.deepEqual(states(r), { one: 'fresh', two: 'fresh', three: 'fresh' });
});

test('a truncated materialized.json, stage pointer, fingerprint and failure note: status works and the run completes', () => {
  const r = new Rig(CHAIN);
  assert.equal(r.cli(['run']).code, 0);
  const cache = join(r.dir, 'cache');
  halve(join(cache, 'materialized.json'));
  for (const f of readdirSync(join(cache, 'stages'))) halve(join(cache, 'stages', f));
  // A fingerprint file of its own: a store from before fingerprints moved into the record.
  halve(toOldFormat(r, keyOf(r, 'three')));
  writeFileSync(join(r.dir, 'pipeline.yaml'), CHAIN.replace('wc -c < two.txt', 'wc -l < two.txt'));
  r.cli(['run']); // three's new key: stale with reasons read from the damaged files
  mkdirFailure(r);
  const st = r.cli(['status']);
  assert.equal(st.code, 0, st.stderr);
  r.resetCalls();
  const run = r.cli(['run']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(r.read('three.txt').trim(), '2');
  assert.ok(quarantined(r).some((n) => n.startsWith('materialized.json')), quarantined(r).join(','));
  assert.deepEqual(states(r), { one: 'fresh', two: 'fresh', three: 'fresh' });
});

function mkdirFailure(r: Rig): void {
  const d = join(r.dir, 'cache', 'failures');
  rmSync(d, { recursive: true, force: true });
  // A failure note cut off mid-write by a full disk (an older version wrote them in place).
  writeFileSync(join(r.dir, 'pipeline.yaml'), CHAIN.replace('wc -c < two.txt', 'false && wc -l < two.txt'));
  assert.equal(r.cli(['run']).code, 1);
  for (const f of readdirSync(d)) halve(join(d, f));
  writeFileSync(join(r.dir, 'pipeline.yaml'), CHAIN.replace('wc -c < two.txt', 'wc -l < two.txt'));
}

test('an unreadable (empty) stage lock is stale after the timeout, not a wait for ever', () => {
  const r = new Rig(CHAIN);
  const key = keyOf(r, 'one');
  const lock = join(r.dir, 'cache', 'locks', `${key}.lock`);
  r.write(`cache/locks/${key}.lock`, '');
  // With a 100 ms heartbeat the timeout is 1 s: a fresh empty lock delays, then is taken over.
  const t0 = Date.now();
  const run = r.cli(['run'], { PIPELINE_HEARTBEAT_MS: '100' });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.ok(Date.now() - t0 >= 1000, 'a fresh unreadable lock is respected until it is stale');
  assert.equal(existsSync(lock), false);
  // An old one is taken over at once, with the default timeout.
  const key3 = keyOf(r, 'three');
  writeFileSync(join(r.dir, 'pipeline.yaml'), CHAIN.replace('wc -c', 'wc -m'));
  const k = keyOf(r, 'three');
  assert.notEqual(k, key3);
  r.write(`cache/locks/${k}.lock`, '');
  age(join(r.dir, 'cache', 'locks', `${k}.lock`), 3_600_000);
  assert.equal(r.cli(['run']).code, 0);
});

function corruptObject(r: Rig, id: string, name: string): string {
  const rec = JSON.parse(r.cli(['inspect', id, '--json']).stdout) as { outputs: Record<string, { digest: string }> };
  const d = rec.outputs[name]!.digest;
  const obj = join(r.dir, 'cache', 'objects', d.slice(0, 2), d.slice(2));
  chmodSync(obj, 0o644);
  const bytes = readFileSync(obj);
  bytes[0] = bytes[0]! ^ 0x04; // one bit flipped
  writeFileSync(obj, bytes);
  return d;
}

test('a corrupt object never feeds a stage: the downstream stage fails naming it, then verify and run give a clean run\'s outputs', () => {
  const edited = CHAIN.replace('wc -c < two.txt', 'wc -c < two.txt; true');
  const clean = new Rig(edited);
  assert.equal(clean.cli(['run']).code, 0);
  const r = new Rig(CHAIN);
  assert.equal(r.cli(['run']).code, 0);
  const bad = corruptObject(r, 'two', 'two.txt');
  rmSync(join(r.dir, 'two.txt')); // the working copy is restored from the (corrupt) store
  r.write('pipeline.yaml', edited); // and three re-runs
  const hit = r.cli(['run']);
  assert.equal(hit.code, 1, hit.stdout + hit.stderr);
  assert.match(hit.stdout + hit.stderr, new RegExp(`input "two.txt" of two: the stored object ${bad.slice(0, 12)}… no longer matches its digest .*quarantined`));
  assert.ok(existsSync(join(r.dir, 'cache', 'quarantine', bad)));
  const v = r.cli(['verify', '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  r.resetCalls();
  const again = r.cli(['run']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.deepEqual(r.calls().sort(), ['three', 'two']);
  for (const f of ['one.txt', 'two.txt', 'three.txt']) assert.equal(r.read(f), clean.read(f), f);
});

test('verify forgets what was computed from a corrupt object: every output then equals a clean run', () => {
  const clean = new Rig(CHAIN);
  assert.equal(clean.cli(['run']).code, 0);
  const r = new Rig(CHAIN);
  assert.equal(r.cli(['run']).code, 0);
  const bad = corruptObject(r, 'one', 'one.txt');
  const v = r.cli(['verify', '--json']);
  assert.equal(v.code, 3);
  const rep = JSON.parse(v.stdout) as { corrupt: string[]; recomputed: string[]; affected: string[] };
  assert.deepEqual(rep.corrupt, [bad]);
  assert.deepEqual(rep.recomputed, ['two'], 'two read one.txt');
  assert.ok(rep.affected.includes('one'), rep.affected.join(','));
  r.resetCalls();
  assert.equal(r.cli(['run']).code, 0);
  assert.deepEqual(r.calls().sort(), ['one', 'two'], 'one is recomputed to the same digest, two re-runs anyway; three keeps its key');
  for (const f of ['one.txt', 'two.txt', 'three.txt']) assert.equal(r.read(f), clean.read(f), f);
  const v2 = r.cli(['verify', '--json']);
  assert.equal(v2.code, 0);
});

test('a large input object (checked through the stat cache) that was overwritten is caught before use', () => {
  const spec = `stages:
  big:
    run: head -c 5000000 /dev/urandom > big.bin
    outs: [big.bin]
  size:
    run: echo size >> calls.log && wc -c < big.bin > size.txt
    deps: [big.bin]
    outs: [size.txt]
`;
  const r = new Rig(spec);
  assert.equal(r.cli(['run']).code, 0);
  const d = corruptObject(r, 'big', 'big.bin');
  r.write('pipeline.yaml', spec.replace('wc -c < big.bin', 'wc -c < big.bin | tr -d " "'));
  rmSync(join(r.dir, 'big.bin'));
  const hit = r.cli(['run']);
  assert.equal(hit.code, 1, hit.stdout + hit.stderr);
  assert.match(hit.stdout + hit.stderr, new RegExp(`the stored object ${d.slice(0, 12)}… no longer matches its digest`));
  r.resetCalls();
  const again = r.cli(['run']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.equal(r.read('size.txt').trim(), '5000000');
});

test('storing bytes whose object is damaged repairs the object instead of keeping the damage', () => {
  const r = new Rig(CHAIN);
  assert.equal(r.cli(['run']).code, 0);
  const d = corruptObject(r, 'one', 'one.txt');
  const forced = r.cli(['run', '--force', 'one']);
  assert.equal(forced.code, 0, forced.stdout + forced.stderr);
  assert.match(forced.stdout + forced.stderr, new RegExp(`stored object ${d.slice(0, 12)}… was damaged; quarantined it`));
  const v = r.cli(['verify', '--json']);
  assert.equal(v.code, 0, v.stdout);
  assert.equal(readFileSync(join(r.dir, 'cache', 'objects', d.slice(0, 2), d.slice(2)), 'utf8'), '1\n');
});
