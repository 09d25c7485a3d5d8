// Configurations the hf-tiny set does not cover, on random-weight fixtures written here: the
// converted decoder graph (full pass and step by step through its key/value cache) and the
// scoring graph equal an independent float64 reference forward written from the HF semantics.
// The reference itself is first checked against the hf-tiny references from transformers.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { openCheckpoint } from '../../../src/convert/checkpoint.js';
import { convertCheckpoint } from '../../../src/convert/convert.js';
import { writeFixture, type StoreDtype } from './fixtures.js';
import { causalMask, decoderLogits, hfTinyDir, loadRefs, logSoftmaxAt, ort, runScore, session, tempDir } from './helpers.js';
import { referenceLogits, type RefArch } from './reference-forward.js';

const temps: Array<{ cleanup(): Promise<void> }> = [];
after(async () => Promise.all(temps.map((t) => t.cleanup())));

describe('the reference forward equals transformers on hf-tiny', () => {
  const cases: [string, RefArch][] = [['gpt2-tiny', 'gpt2'], ['pythia-tiny', 'gpt_neox'], ['llama-tiny', 'llama'], ['olmo-tiny', 'olmo'], ['hf_olmo-tiny', 'hf_olmo']];
  for (const [name, arch] of cases) {
    test(name, async () => {
      const dir = path.join(hfTinyDir, name);
      const reader = await openCheckpoint(dir);
      const tensors = new Map<string, Float32Array>();
      for (const t of reader.list()) tensors.set(t.name, await reader.readF32(t.name));
      await reader.close();
      const { readFile } = await import('node:fs/promises');
      const cfg = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      const refs = (await loadRefs(name)).slice(0, 4);
      let worst = 0;
      for (const r of refs) {
        const logits = referenceLogits(arch, cfg, tensors, r.ids);
        r.logprobs_fp64.forEach((want, t) => (worst = Math.max(worst, Math.abs(logSoftmaxAt(logits[t]!, r.ids[t + 1]!) - want))));
      }
      assert.ok(worst < 1e-4, `max |reference - transformers| = ${worst}`);
    });
  }
});

const V = 97;
const base = { vocab_size: V, max_position_embeddings: 64 };
const llamaBase = { ...base, model_type: 'llama', hidden_size: 32, intermediate_size: 40, num_attention_heads: 4, num_key_value_heads: 4, num_hidden_layers: 2, rms_norm_eps: 1e-5, hidden_act: 'silu', tie_word_embeddings: false };

interface Case {
  name: string;
  arch: RefArch;
  config: Record<string, unknown>;
  dtype?: StoreDtype;
  shards?: number;
  window?: number;
  rename?: (name: string) => string;
}

const CASES: Case[] = [
  { name: 'llama GQA (4 heads, 2 kv heads), rope_theta 500, attention biases', arch: 'llama', config: { ...llamaBase, num_key_value_heads: 2, rope_theta: 500, attention_bias: true } },
  { name: 'llama tied head, linear rope scaling, sharded safetensors', arch: 'llama', config: { ...llamaBase, tie_word_embeddings: true, rope_scaling: { type: 'linear', factor: 2 } }, shards: 3 },
  { name: 'mistral sliding_window 3 < prompt, GQA', arch: 'mistral', config: { ...llamaBase, model_type: 'mistral', num_key_value_heads: 2, sliding_window: 3 }, window: 3 },
  { name: 'gemma head_dim 12 ≠ hidden/heads, 1 kv head, tied, BF16 weights', arch: 'gemma', config: { ...llamaBase, model_type: 'gemma', head_dim: 12, num_key_value_heads: 1, hidden_act: 'gelu', hidden_activation: 'gelu_pytorch_tanh', tie_word_embeddings: true, rms_norm_eps: 1e-6 }, dtype: 'BF16' },
  { name: 'gemma without hidden_activation (v4.40: gelu tanh), F16 weights', arch: 'gemma', config: { ...llamaBase, model_type: 'gemma', head_dim: 8, tie_word_embeddings: true }, dtype: 'F16' },
  { name: 'gpt_neox sequential residual, rotary_pct 1, F16 weights', arch: 'gpt_neox', config: { ...base, model_type: 'gpt_neox', hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_hidden_layers: 2, rotary_pct: 1, rotary_emb_base: 10000, use_parallel_residual: false, hidden_act: 'gelu', layer_norm_eps: 1e-5, tie_word_embeddings: false }, dtype: 'F16' },
  { name: 'olmo native clip_qkv 0.6, tied', arch: 'olmo', config: { ...llamaBase, model_type: 'olmo', clip_qkv: 0.6, tie_word_embeddings: true } },
  {
    name: 'hf_olmo untied ff_out, rms norm with affine, clip_qkv, embedding_size > vocab',
    arch: 'hf_olmo',
    config: { model_type: 'olmo', architectures: ['OLMoForCausalLM'], d_model: 32, n_heads: 4, n_layers: 2, mlp_hidden_size: 80, activation_type: 'swiglu', block_type: 'sequential', rope: true, alibi: false, vocab_size: 90, embedding_size: V, weight_tying: false, include_bias: false, layer_norm_type: 'rms', layer_norm_with_affine: true, bias_for_layer_norm: false, clip_qkv: 1.5, max_sequence_length: 64 },
  },
  { name: 'gpt2 (n_inner unset), F32', arch: 'gpt2', config: { ...base, model_type: 'gpt2', n_embd: 32, n_head: 4, n_layer: 2, n_positions: 64, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' } },
  // The hub's openai-community/gpt2 checkpoints name tensors without the `transformer.` prefix.
  { name: 'gpt2 with unprefixed tensor names (wte.weight, h.0.…)', arch: 'gpt2', config: { ...base, model_type: 'gpt2', n_embd: 32, n_head: 2, n_layer: 1, n_positions: 64, activation_function: 'gelu_new' }, rename: (n) => n.replace(/^transformer\./, '') },
];

for (const c of CASES) {
  test(c.name, async () => {
    const t = await tempDir('cfg');
    temps.push(t);
    const src = path.join(t.dir, 'src');
    const out = path.join(t.dir, 'out');
    const tensors = await writeFixture(src, c.config, { seed: c.name, dtype: c.dtype, shards: c.shards, rename: c.rename });
    const report = await convertCheckpoint(src, out, { dtype: 'fp32' });
    assert.equal(report.architecture, c.arch);
    assert.deepEqual(report.sourceDtypes, [c.dtype ?? 'F32']);
    const ids = [5, 17, 3, 88, 42, 42, 7, 60, 1, 33, 71, 9];
    const ref = referenceLogits(c.arch, c.config, tensors, ids);
    const T = ids.length;

    const dec = await session(path.join(out, 'onnx', 'model.onnx'));
    const { data, V: width } = await decoderLogits(dec, [ids]);
    assert.equal(width, ref[0]!.length);
    let worst = 0;
    let spread = 0;
    for (let s = 0; s < T; s++) {
      for (let v = 0; v < width; v++) worst = Math.max(worst, Math.abs(data[s * width + v]! - ref[s]![v]!));
      spread = Math.max(spread, Math.max(...ref[s]!) - Math.min(...ref[s]!));
    }
    assert.ok(worst < 1e-4, `decoder: max |logit - reference| = ${worst}`);
    assert.ok(spread > 1, `reference logits vary (spread ${spread})`);

    // Step by step through the cache: prefix of 7, then one token at a time.
    const o = await ort();
    const i64 = (rows: number[][]) => new o.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
    const keepAll = new o.Tensor('int64', BigInt64Array.from([0n]), []);
    let feeds: Record<string, InstanceType<typeof o.Tensor>> = {};
    for (const m of dec.inputMetadata as unknown as { name: string; shape: (number | string)[] }[]) {
      if (m.name.startsWith('past_key_values')) feeds[m.name] = new o.Tensor('float32', new Float32Array(0), m.shape.map((d) => (d === 'batch_size' ? 1 : typeof d === 'number' ? d : 0)));
    }
    let done = 0;
    let worstStep = 0;
    for (const len of [7, 1, 1, 1, 1, 1]) {
      const chunk = ids.slice(done, done + len);
      const res = await dec.run({ ...feeds, num_logits_to_keep: keepAll, input_ids: i64([chunk]), attention_mask: i64([ids.slice(0, done + len).map(() => 1)]), position_ids: i64([chunk.map((_, j) => done + j)]) });
      const lg = res['logits']!.data as Float32Array;
      for (let j = 0; j < len; j++) for (let v = 0; v < width; v++) worstStep = Math.max(worstStep, Math.abs(lg[j * width + v]! - ref[done + j]![v]!));
      feeds = {};
      for (const [k, val] of Object.entries(res)) if (k.startsWith('present.')) feeds[k.replace('present.', 'past_key_values.')] = val;
      done += len;
    }
    assert.ok(worstStep < 1e-4, `decoder with cache: max |logit - reference| = ${worstStep}`);
    // num_logits_to_keep = 2: only the last two rows, the same values.
    const last2 = await decoderLogits(dec, [ids], 0, 2);
    assert.deepEqual(last2.dims, [1, 2, width]);
    for (let v = 0; v < width; v++) assert.ok(Math.abs(last2.data[width + v]! - data[(T - 1) * width + v]!) < 1e-5);
    await dec.release();

    const sc = await session(path.join(out, 'onnx', 'score.onnx'));
    const res = await runScore(sc, {
      ids: [ids],
      positions: [ids.map((_, i) => i)],
      mask: causalMask([T], T, c.window ?? null),
      scorePositions: [Array.from({ length: T - 1 }, (_, i) => i)],
      targets: [ids.slice(1)],
      logitsPositions: [[T - 1, 2]],
    });
    let worstScore = 0;
    for (let k = 0; k < T - 1; k++) worstScore = Math.max(worstScore, Math.abs(res.logprobs[k]! - logSoftmaxAt(ref[k]!, ids[k + 1]!)));
    for (let v = 0; v < width; v++) worstScore = Math.max(worstScore, Math.abs(res.logits[v]! - ref[T - 1]![v]!), Math.abs(res.logits[width + v]! - ref[2]![v]!));
    assert.ok(worstScore < 1e-4, `scoring graph: max |value - reference| = ${worstScore}`);
    await sc.release();
  });
}
