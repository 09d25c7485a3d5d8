// transformers.js generates from converted fixtures whose shapes the hf-tiny set lacks (Gemma's
// head_dim ≠ hidden/heads with one kv head, Mistral with a window shorter than the sequence):
// greedy tokens through its key/value cache equal step-by-step argmax of the reference forward.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { convertCheckpoint } from '../../../src/convert/convert.js';
import { writeFixture } from './fixtures.js';
import { tempDir, topIds } from './helpers.js';
import { referenceLogits, type RefArch } from './reference-forward.js';

const temps: Array<{ cleanup(): Promise<void> }> = [];
after(async () => Promise.all(temps.map((t) => t.cleanup())));

const llamaBase = { vocab_size: 97, max_position_embeddings: 64, hidden_size: 32, intermediate_size: 40, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2, rms_norm_eps: 1e-5, tie_word_embeddings: false, eos_token_id: 96, bos_token_id: 95 };
const CASES: [RefArch, Record<string, unknown>][] = [
  ['mistral', { ...llamaBase, model_type: 'mistral', sliding_window: 4 }],
  ['gemma', { ...llamaBase, model_type: 'gemma', head_dim: 12, num_key_value_heads: 1, tie_word_embeddings: true }],
];

for (const [arch, config] of CASES) {
  test(`${arch}: transformers.js greedy generation equals the reference`, async () => {
    const t = await tempDir('gen');
    temps.push(t);
    const tensors = await writeFixture(path.join(t.dir, 'src'), config, { seed: `gen-${arch}` });
    const id = `${arch}-gen`;
    await convertCheckpoint(path.join(t.dir, 'src'), path.join(t.dir, id), { dtype: 'fp32' });
    const prompt = [5, 17, 3, 88, 42, 42, 7];
    const want: number[] = [];
    const seq = [...prompt];
    for (let k = 0; k < 6; k++) {
      const logits = referenceLogits(arch, config, tensors, seq);
      const next = topIds(logits.at(-1)!, 1)[0]!;
      want.push(next);
      seq.push(next);
    }
    const tf = await import('@huggingface/transformers');
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = t.dir + path.sep;
    const model = await tf.AutoModelForCausalLM.from_pretrained(id, { dtype: 'fp32', device: 'cpu' });
    const input = new tf.Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]);
    const out = (await model.generate({ input_ids: input, max_new_tokens: 6, do_sample: false, eos_token_id: [] } as never)) as InstanceType<typeof tf.Tensor>;
    const got = Array.from(out.data as BigInt64Array, Number).slice(prompt.length);
    await model.dispose();
    assert.deepEqual(got, want);
  });
}
