// Building is fast and reproducible: the same options give byte-identical folders, a different
// seed or variant gives different weights (and logits) but the same tokenizer, and bad options
// fail with a message naming the option.

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { buildTinyModel, tinyModelConfig } from '../../src/tinymodel/index.js';
import { buildInTemp, type Built } from './fixture.js';

const builds: Built[] = [];
after(async () => { for (const b of builds) await b.cleanup(); });

async function build(opts: Parameters<typeof buildInTemp>[0]): Promise<Built> {
  const b = await buildInTemp(opts);
  builds.push(b);
  return b;
}

async function files(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out.set(relative(dir, p), await readFile(p));
  }
  return out;
}

const EXPECTED_FILES = ['config.json', 'generation_config.json', 'onnx/model.onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'];

test('same seed: byte-identical files; build is fast', async () => {
  const a = await build({ seed: 5 });
  const b = await build({ seed: 5 });
  const fa = await files(a.dir);
  const fb = await files(b.dir);
  assert.deepEqual([...fa.keys()].sort(), EXPECTED_FILES);
  for (const [name, bytes] of fa) assert.ok(bytes.equals(fb.get(name)!), `${name} differs between two builds with seed 5`);
  // Default sizes: 50257 x 32 embedding dominates (~6.4 MB of float32).
  const onnxBytes = fa.get('onnx/model.onnx')!.length;
  assert.ok(onnxBytes > 6.4e6 && onnxBytes < 8e6, `model.onnx is ${onnxBytes} bytes`);
  assert.ok(b.buildMs < 3000, `build took ${b.buildMs} ms`);
});

test('different seed or variant: different weights, same tokenizer', async () => {
  const base = await files((await build({ seed: 5 })).dir);
  for (const opts of [{ seed: 6 }, { seed: 5, variant: 'step100' }]) {
    const other = await files((await build(opts)).dir);
    assert.ok(!other.get('onnx/model.onnx')!.equals(base.get('onnx/model.onnx')!), `${JSON.stringify(opts)} gave the same weights as seed 5`);
    assert.ok(other.get('tokenizer.json')!.equals(base.get('tokenizer.json')!));
  }
});

test('different seeds give different logits', async () => {
  const ort = await import('onnxruntime-node');
  const run = async (seed: number): Promise<Float32Array> => {
    const b = await build({ seed });
    const session = await ort.InferenceSession.create(join(b.dir, 'onnx', 'model.onnx'));
    const t = (xs: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
    const empty = () => new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, 16]);
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = { input_ids: t([464, 3797]), attention_mask: t([1, 1]), position_ids: t([0, 1]) };
    for (const name of session.inputNames) if (name.startsWith('past_key_values')) feeds[name] = empty();
    const out = await session.run(feeds);
    await session.release();
    return out['logits']!.data as Float32Array;
  };
  const [x, y] = [await run(21), await run(22)];
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
  assert.ok(diff > 0.1, `seeds 21 and 22 give nearly the same logits (max diff ${diff})`);
});

test('config.json carries the sizes transformers.js needs', async () => {
  const b = await build({ seed: 1, nLayer: 3, nHead: 4, nEmbd: 48, nPositions: 64 });
  const config = JSON.parse(await readFile(join(b.dir, 'config.json'), 'utf8'));
  assert.deepEqual(config, tinyModelConfig({ seed: 1, nLayer: 3, nHead: 4, nEmbd: 48, nPositions: 64 }));
  assert.equal(config.model_type, 'gpt2');
  assert.deepEqual(config.architectures, ['GPT2LMHeadModel']);
  assert.equal(config.n_layer, 3);
  assert.equal(config.n_head, 4);
  assert.equal(config.n_embd, 48);
  assert.equal(config.n_positions, 64);
  assert.equal(config.vocab_size, 50257);
  assert.equal(config.bos_token_id, 50256);
  assert.equal(config.eos_token_id, 50256);
});

test('bad options name the option', async () => {
  await assert.rejects(buildTinyModel('/nonexistent/never', { seed: Number.NaN }), /option "seed" must be a finite number/);
  await assert.rejects(buildTinyModel('/nonexistent/never', { seed: 1, nEmbd: 30, nHead: 4 }), /"nEmbd" \(30\) must be a multiple of "nHead" \(4\)/);
  await assert.rejects(buildTinyModel('/nonexistent/never', { seed: 1, nLayer: 0 }), /option "nLayer" must be a positive integer, got 0/);
});
