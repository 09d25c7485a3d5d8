// A checkpoint enters the store without a second copy: a file only the staging holds is moved in,
// a read-only file shared with the hub cache is hard-linked (same inode), each verified by its
// digest; a copy is made only when links fail (another file system, forced here by an injected link).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Store } from '../../src/engine/store/store.js';
import { copyModelFiles } from '../../src/fetch/model-fetch.js';

const BIG = 5 * 1024 * 1024; // over the store's 4 MiB small-file line

function setup(): { dir: string; store: Store; hub: string; staging: string; bytes: Buffer; digest: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ltd-adopt-'));
  const store = new Store(join(dir, 'cache'));
  const hub = join(dir, 'hf', 'snapshots', 'c0ffee');
  mkdirSync(hub, { recursive: true });
  const bytes = randomBytes(BIG);
  writeFileSync(join(hub, 'model.safetensors'), bytes);
  writeFileSync(join(hub, 'config.json'), '{"model_type":"gpt2"}');
  const staging = join(dir, 'staging', 'model');
  return { dir, store, hub, staging, bytes, digest: createHash('sha256').update(bytes).digest('hex') };
}

const EXDEV = async (): Promise<void> => {
  throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
};

test('a hub-cache file linked into staging is adopted by hard link: same inode, digest verified, read-only', async () => {
  const s = setup();
  await copyModelFiles(s.hub, ['config.json', 'model.safetensors'], s.staging, { link: true });
  const cacheIno = statSync(join(s.hub, 'model.safetensors')).ino;
  assert.equal(statSync(join(s.staging, 'model.safetensors')).ino, cacheIno, 'fetch links, not copies');
  assert.equal(statSync(join(s.hub, 'model.safetensors')).mode & 0o222, 0, 'a linked cache file is made read-only');
  const tree = await s.store.putTree(s.staging, { adopt: true });
  const entry = (await s.store.readManifest(tree)).find((e) => e.path === 'model.safetensors')!;
  assert.equal(entry.digest, s.digest);
  const obj = s.store.objectPath(entry.digest);
  assert.equal(statSync(obj).ino, cacheIno, 'the object is the hub cache file itself');
  assert.equal(statSync(obj).nlink, 2, 'hub cache and object (the staging gave its name up)');
  assert.deepEqual(s.store.adopted, { moved: 0, linked: 1, cloned: 0, copied: 0 });
  assert.ok(await s.store.objectIntact(entry.digest));
});

test('a file only the staging holds is moved in (no copy); a writable shared file is never linked', async () => {
  const s = setup();
  mkdirSync(s.staging, { recursive: true });
  const own = join(s.staging, 'own.bin');
  writeFileSync(own, randomBytes(BIG));
  const ownIno = statSync(own).ino;
  // Shared but writable (someone may write it in place): must not become an object's inode.
  const shared = join(s.staging, 'shared.bin');
  linkSync(join(s.hub, 'model.safetensors'), shared);
  s.store.adoptOps.clone = EXDEV; // no reflinks here either: the shared one is copied
  const tree = await s.store.putTree(s.staging, { adopt: true });
  const entries = await s.store.readManifest(tree);
  const ownObj = s.store.objectPath(entries.find((e) => e.path === 'own.bin')!.digest);
  const sharedObj = s.store.objectPath(entries.find((e) => e.path === 'shared.bin')!.digest);
  assert.equal(statSync(ownObj).ino, ownIno, 'moved in');
  assert.ok(!existsSync(own), 'the staging gave it up');
  assert.notEqual(statSync(sharedObj).ino, statSync(join(s.hub, 'model.safetensors')).ino, 'a writable shared file is copied');
  assert.deepEqual(readFileSync(sharedObj), s.bytes);
  assert.deepEqual(s.store.adopted, { moved: 1, linked: 0, cloned: 0, copied: 1 });
});

test('across file systems (links and reflinks refused) the file is copied, and the digest still checked', async () => {
  const s = setup();
  let linkTries = 0;
  // The fetch's link fails as across devices: it copies into staging.
  await copyModelFiles(s.hub, ['model.safetensors'], s.staging, { link: true, linkImpl: async () => { linkTries++; await EXDEV(); } });
  assert.equal(linkTries, 1);
  assert.notEqual(statSync(join(s.staging, 'model.safetensors')).ino, statSync(join(s.hub, 'model.safetensors')).ino);
  // The store's own rename/link/clone fail too (staging on another file system than objects/).
  s.store.adoptOps = { rename: EXDEV, link: EXDEV, clone: EXDEV };
  const tree = await s.store.putTree(s.staging, { adopt: true });
  const entry = (await s.store.readManifest(tree))[0]!;
  assert.equal(entry.digest, s.digest);
  assert.deepEqual(readFileSync(s.store.objectPath(entry.digest)), s.bytes);
  assert.deepEqual(s.store.adopted, { moved: 0, linked: 0, cloned: 0, copied: 1 });
});

test('a digest is computed from the adopted inode: a file whose bytes differ from another of the same size gets its own digest', async () => {
  const s = setup();
  mkdirSync(s.staging, { recursive: true });
  const a = Buffer.from(s.bytes);
  a[123] = a[123]! ^ 0xff;
  writeFileSync(join(s.staging, 'model.safetensors'), a);
  chmodSync(join(s.staging, 'model.safetensors'), 0o444);
  const d = await s.store.putFile(join(s.staging, 'model.safetensors'), { adopt: true });
  assert.equal(d, createHash('sha256').update(a).digest('hex'));
  assert.notEqual(d, s.digest);
});

test('putTree without adopt (a user file, a provided path) copies and leaves the source alone', async () => {
  const s = setup();
  const src = join(s.hub, 'model.safetensors');
  const d = await s.store.putFile(src);
  assert.equal(d, s.digest);
  assert.ok(existsSync(src));
  assert.notEqual(statSync(s.store.objectPath(d)).ino, statSync(src).ino);
});
