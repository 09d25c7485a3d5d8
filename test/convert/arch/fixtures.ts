// Small random-weight checkpoints in the hub layout for configurations hf-tiny does not cover
// (GQA, sliding windows, Gemma, sequential NeoX, tied/untied heads, F16/BF16 storage). Tensor
// names and shapes are written here from the Hugging Face / OLMo modeling code, independently of
// src/convert/arch. Weights are seeded draws scaled so every part of the network matters.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SafetensorsWriter } from '../../../src/convert/readers/safetensors-write.js';
import { makeRng } from '../../../src/tinymodel/weights.js';

export type StoreDtype = 'F32' | 'F16' | 'BF16';

interface Decl {
  name: string;
  shape: number[];
  /** 'gain': norm weights around 1 (or around 0 for Gemma's 1 + w), 'w': projections, 'b': biases. */
  kind: 'gain' | 'gain0' | 'w' | 'b' | 'emb';
}

function tensorList(cfg: Record<string, unknown>): Decl[] {
  const n = (k: string) => cfg[k] as number;
  const out: Decl[] = [];
  const add = (name: string, shape: number[], kind: Decl['kind']) => out.push({ name, shape, kind });
  const mt = cfg['model_type'] as string;
  if (mt === 'gpt2') {
    const E = n('n_embd');
    add('transformer.wte.weight', [n('vocab_size'), E], 'emb');
    add('transformer.wpe.weight', [n('n_positions'), E], 'emb');
    for (let i = 0; i < n('n_layer'); i++) {
      const p = `transformer.h.${i}`;
      add(`${p}.ln_1.weight`, [E], 'gain'); add(`${p}.ln_1.bias`, [E], 'b');
      add(`${p}.attn.c_attn.weight`, [E, 3 * E], 'w'); add(`${p}.attn.c_attn.bias`, [3 * E], 'b');
      add(`${p}.attn.c_proj.weight`, [E, E], 'w'); add(`${p}.attn.c_proj.bias`, [E], 'b');
      add(`${p}.ln_2.weight`, [E], 'gain'); add(`${p}.ln_2.bias`, [E], 'b');
      add(`${p}.mlp.c_fc.weight`, [E, 4 * E], 'w'); add(`${p}.mlp.c_fc.bias`, [4 * E], 'b');
      add(`${p}.mlp.c_proj.weight`, [4 * E, E], 'w'); add(`${p}.mlp.c_proj.bias`, [E], 'b');
    }
    add('transformer.ln_f.weight', [E], 'gain'); add('transformer.ln_f.bias', [E], 'b');
  } else if (mt === 'gpt_neox') {
    const E = n('hidden_size'), I = n('intermediate_size'), V = n('vocab_size');
    add('gpt_neox.embed_in.weight', [V, E], 'emb');
    for (let i = 0; i < n('num_hidden_layers'); i++) {
      const p = `gpt_neox.layers.${i}`;
      for (const ln of ['input_layernorm', 'post_attention_layernorm']) { add(`${p}.${ln}.weight`, [E], 'gain'); add(`${p}.${ln}.bias`, [E], 'b'); }
      add(`${p}.attention.query_key_value.weight`, [3 * E, E], 'w'); add(`${p}.attention.query_key_value.bias`, [3 * E], 'b');
      add(`${p}.attention.dense.weight`, [E, E], 'w'); add(`${p}.attention.dense.bias`, [E], 'b');
      add(`${p}.mlp.dense_h_to_4h.weight`, [I, E], 'w'); add(`${p}.mlp.dense_h_to_4h.bias`, [I], 'b');
      add(`${p}.mlp.dense_4h_to_h.weight`, [E, I], 'w'); add(`${p}.mlp.dense_4h_to_h.bias`, [E], 'b');
    }
    add('gpt_neox.final_layer_norm.weight', [E], 'gain'); add('gpt_neox.final_layer_norm.bias', [E], 'b');
    if (cfg['tie_word_embeddings'] !== true) add('embed_out.weight', [V, E], 'w');
  } else if (mt === 'olmo' && 'd_model' in cfg) {
    const d = n('d_model'), H = n('n_heads'), D = d / H, rows = n('embedding_size'), hidden = n('mlp_hidden_size');
    const kv = cfg['multi_query_attention'] ? D : d;
    const t = 'model.transformer';
    const affine = cfg['layer_norm_with_affine'] !== false;
    const bias = cfg['include_bias'] === true;
    const nb = affine && ((cfg['bias_for_layer_norm'] as boolean | null) ?? bias);
    const norm = (p: string) => { if (affine) add(`${p}.weight`, [d], 'gain'); if (nb) add(`${p}.bias`, [d], 'b'); };
    add(`${t}.wte.weight`, [rows, d], 'emb');
    for (let i = 0; i < n('n_layers'); i++) {
      const p = `${t}.blocks.${i}`;
      norm(`${p}.attn_norm`); norm(`${p}.ff_norm`);
      add(`${p}.att_proj.weight`, [d + 2 * kv, d], 'w'); if (bias) add(`${p}.att_proj.bias`, [d + 2 * kv], 'b');
      add(`${p}.attn_out.weight`, [d, d], 'w'); if (bias) add(`${p}.attn_out.bias`, [d], 'b');
      add(`${p}.ff_proj.weight`, [hidden, d], 'w'); if (bias) add(`${p}.ff_proj.bias`, [hidden], 'b');
      add(`${p}.ff_out.weight`, [d, hidden / 2], 'w'); if (bias) add(`${p}.ff_out.bias`, [d], 'b');
    }
    norm(`${t}.ln_f`);
    if (cfg['weight_tying'] === false) add(`${t}.ff_out.weight`, [rows, d], 'w');
  } else {
    const E = n('hidden_size'), H = n('num_attention_heads'), Hkv = (cfg['num_key_value_heads'] as number) ?? H, I = n('intermediate_size'), V = n('vocab_size');
    const D = (cfg['head_dim'] as number | undefined) ?? E / H;
    const gain = mt === 'gemma' ? 'gain0' : 'gain';
    const bias = cfg['attention_bias'] === true;
    add('model.embed_tokens.weight', [V, E], 'emb');
    for (let i = 0; i < n('num_hidden_layers'); i++) {
      const p = `model.layers.${i}`;
      if (mt !== 'olmo') { add(`${p}.input_layernorm.weight`, [E], gain); add(`${p}.post_attention_layernorm.weight`, [E], gain); }
      for (const [proj, rows] of [['q_proj', H * D], ['k_proj', Hkv * D], ['v_proj', Hkv * D]] as const) {
        add(`${p}.self_attn.${proj}.weight`, [rows, E], 'w');
        if (bias) add(`${p}.self_attn.${proj}.bias`, [rows], 'b');
      }
      add(`${p}.self_attn.o_proj.weight`, [E, H * D], 'w'); if (bias) add(`${p}.self_attn.o_proj.bias`, [E], 'b');
      add(`${p}.mlp.gate_proj.weight`, [I, E], 'w'); add(`${p}.mlp.up_proj.weight`, [I, E], 'w'); add(`${p}.mlp.down_proj.weight`, [E, I], 'w');
    }
    if (mt !== 'olmo') add('model.norm.weight', [E], gain);
    if (cfg['tie_word_embeddings'] === false) add('lm_head.weight', [V, E], 'w');
  }
  return out;
}

function toBytes(data: Float32Array, dtype: StoreDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer);
  const u = new Uint32Array(data.buffer);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    if (dtype === 'BF16') {
      const x = u[i]!;
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // round to nearest even
    } else {
      out[i] = f16(data[i]!);
    }
  }
  return new Uint8Array(out.buffer);
}

/** float → half bits (round to nearest; the fixtures' values are normal halves). */
function f16(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  const e = Math.floor(Math.log2(a));
  const m = Math.round((a / 2 ** e - 1) * 1024);
  return m === 1024 ? sign | ((e + 16) << 10) : sign | ((e + 15) << 10) | m;
}

/**
 * Write config.json + model.safetensors (or shards) with seeded weights. Returns the float32 values
 * as stored (after rounding to the storage dtype), under their HF names (before `rename`), for the
 * reference forward.
 */
export async function writeFixture(dir: string, cfg: Record<string, unknown>, opts: { seed: string; dtype?: StoreDtype; shards?: number; rename?: (name: string) => string; tweak?: (name: string, data: Float32Array) => void }): Promise<Map<string, Float32Array>> {
  const dtype = opts.dtype ?? 'F32';
  const rng = makeRng(`convert-fixture:${opts.seed}`);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const decls = tensorList(cfg);
  const values = new Map<string, Float32Array>();
  for (const d of decls) {
    const size = d.shape.reduce((a, b) => a * b, 1);
    const fanIn = d.shape.length === 2 ? (d.name.endsWith('c_attn.weight') || d.name.includes('.c_fc.') || d.name.includes('.c_proj.') ? d.shape[0]! : d.shape[1]!) : 1;
    const std = d.kind === 'w' ? 1.2 / Math.sqrt(fanIn) : d.kind === 'emb' ? 0.8 : d.kind === 'b' ? 0.1 : 0.2;
    const mean = d.kind === 'gain' ? 1 : 0;
    const data = Float32Array.from({ length: size }, () => mean + std * normal());
    opts.tweak?.(d.name, data);
    // Store, then read back what the file holds (F16/BF16 rounding included).
    const bytes = toBytes(data, dtype);
    values.set(d.name, dtype === 'F32' ? data : fromBytes(bytes, dtype));
  }
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  const shards = opts.shards ?? 1;
  const stored = opts.rename ?? ((n: string) => n);
  const groups = Array.from({ length: shards }, (_, s) => decls.filter((_, i) => i % shards === s));
  const names = groups.map((_, s) => (shards === 1 ? 'model.safetensors' : `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`));
  for (const [s, group] of groups.entries()) {
    const w = await SafetensorsWriter.create(path.join(dir, names[s]!), group.map((d) => ({ name: stored(d.name), dtype, shape: d.shape })));
    for (const d of group) await w.write(toBytes(values.get(d.name)!.slice(), dtype));
    await w.close();
  }
  if (shards > 1) {
    const weightMap = Object.fromEntries(groups.flatMap((g, s) => g.map((d) => [stored(d.name), names[s]!])));
    await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  }
  return values;
}

function fromBytes(bytes: Uint8Array, dtype: 'F16' | 'BF16'): Float32Array {
  const h = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const out = new Float32Array(h.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < h.length; i++) {
    if (dtype === 'BF16') u[i] = h[i]! << 16;
    else {
      const x = h[i]!;
      const e = (x >> 10) & 0x1f;
      const m = x & 0x3ff;
      const s = x & 0x8000 ? -1 : 1;
      out[i] = e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
    }
  }
  return out;
}
