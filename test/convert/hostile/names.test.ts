// Item 4 of issue 17: shard names in an index are data. A name with "..", an absolute path, a
// backslash or a control character is refused before any file is opened, and a shard that is a
// link to a file outside the checkpoint folder is refused too; errors never echo a file's content.

import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openCheckpoint } from '../../../src/convert/checkpoint.js';
import { writeSafetensors } from '../../../src/convert/readers/safetensors-write.js';
import { f32Bytes, writeTorchStateDict } from '../readers/torch-fixture.js';
import { refused, temp } from './helpers.js';

async function goodShard(path: string): Promise<void> {
  await writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [2], data: f32Bytes([1, 2]) }]);
}

test('index shard names that leave the folder are refused, naming the index and the name', async (t) => {
  const root = temp(t);
  const dir = join(root, 'ckpt');
  mkdirSync(dir);
  mkdirSync(join(root, 'outside'));
  await goodShard(join(root, 'outside', 'x.safetensors'));
  for (const shard of ['../outside/x.safetensors', join(root, 'outside', 'x.safetensors'), 'sub\\..\\..\\x.safetensors', 'a\u0000.safetensors', 'sub/./x.safetensors']) {
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: shard } }));
    await refused(openCheckpoint(dir), 'unsafe-name', 'model.safetensors.index.json', /shard.*: refusing/);
  }
  // The same for the .bin index.
  writeTorchStateDict(join(root, 'outside', 'p.bin'), [{ name: 'a', shape: [1], data: Float32Array.from([1]) }]);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'pytorch_model.bin.index.json'), JSON.stringify({ weight_map: { a: '../outside/p.bin' } }));
  await refused(openCheckpoint(bin), 'unsafe-name', 'pytorch_model.bin.index.json', /"\.\.\/outside\/p\.bin"/);
});

test('a shard that is a link to a file outside the folder is refused; one inside is read', async (t) => {
  const root = temp(t);
  const dir = join(root, 'ckpt');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  await goodShard(join(root, 'secret.safetensors'));
  symlinkSync(join(root, 'secret.safetensors'), join(dir, 'model-00001-of-00001.safetensors'));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'model-00001-of-00001.safetensors' } }));
  await refused(openCheckpoint(dir), 'unsafe-name', 'model-00001-of-00001.safetensors', /outside/);
  // A linked folder on the way out is caught too.
  symlinkSync(root, join(dir, 'up'));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'up/secret.safetensors' } }));
  await refused(openCheckpoint(dir), 'unsafe-name', 'up/secret.safetensors', /outside/);
  // Inside: a shard in a subfolder, reached through a link inside the folder, is fine.
  await goodShard(join(dir, 'sub', 'real.safetensors'));
  symlinkSync(join(dir, 'sub', 'real.safetensors'), join(dir, 'linked.safetensors'));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'linked.safetensors' } }));
  const r = await openCheckpoint(dir);
  assert.deepEqual([...(await r.readF32('a'))], [1, 2]);
  await r.close();
  // The single-file layout: model.safetensors itself a link out of the folder.
  const single = join(root, 'single');
  mkdirSync(single);
  symlinkSync(join(root, 'secret.safetensors'), join(single, 'model.safetensors'));
  await refused(openCheckpoint(single), 'unsafe-name', 'model.safetensors', /outside/);
});

test('errors on a file that is not what it claims name it but never echo its content', async (t) => {
  const dir = temp(t);
  const secret = 'root:x:0:0:SECRET-TOKEN-hunter2';
  writeFileSync(join(dir, 'model.safetensors.index.json'), `${secret}\n`);
  const e1 = await refused(openCheckpoint(dir), 'bad-header', 'model.safetensors.index.json');
  assert.doesNotMatch(e1.message, /SECRET|hunter2|root:x/);
  // A "safetensors" shard holding text: its first bytes are not printed as a header length.
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 's.safetensors' } }));
  writeFileSync(join(dir, 's.safetensors'), `${secret}${' '.repeat(64)}`);
  const e2 = await refused(openCheckpoint(dir), 'bad-header', 's.safetensors');
  assert.doesNotMatch(e2.message, /SECRET|hunter2|root:x|\d{12,}/, e2.message);
  // A safetensors header that is not JSON: no excerpt of it.
  const head = Buffer.from(`{"a": ${secret}}`);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  writeFileSync(join(dir, 's.safetensors'), Buffer.concat([len, head]));
  const e3 = await refused(openCheckpoint(dir), 'bad-header', 's.safetensors');
  assert.doesNotMatch(e3.message, /SECRET|hunter2|root:x/, e3.message);
});

test('a config.json that is not JSON is named, its content is not echoed', async (t) => {
  const dir = temp(t);
  writeFileSync(join(dir, 'config.json'), '{"model_type": SECRET-TOKEN-hunter2}');
  const { convertCheckpoint } = await import('../../../src/convert/convert.js');
  await assert.rejects(convertCheckpoint(dir, join(dir, 'out'), { dtype: 'fp32' }), (err: Error) => {
    assert.match(err.message, /config\.json/);
    assert.doesNotMatch(err.message, /SECRET|hunter2/);
    return true;
  });
});

test('config and tokenizer files that are links out of the folder are refused, not copied into the output', async (t) => {
  const root = temp(t);
  const { cpSync, readdirSync: list } = await import('node:fs');
  const pythia = join((await import('../../support/fake-hub.js')).sharedDir(), 'models', 'hf-tiny', 'pythia-tiny');
  const dir = join(root, 'ckpt');
  cpSync(pythia, dir, { recursive: true });
  writeFileSync(join(root, 'id_rsa'), '{"SECRET": "hunter2"}');
  const { rmSync } = await import('node:fs');
  rmSync(join(dir, 'tokenizer_config.json'));
  symlinkSync(join(root, 'id_rsa'), join(dir, 'tokenizer_config.json'));
  const { convertCheckpoint } = await import('../../../src/convert/convert.js');
  await assert.rejects(convertCheckpoint(dir, join(root, 'out'), { dtype: 'fp32' }), /tokenizer_config\.json.*outside/);
  assert.ok(!list(root).includes('out') || !list(join(root, 'out')).includes('tokenizer_config.json'));
});
