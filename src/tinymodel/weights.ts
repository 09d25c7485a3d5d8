// Seeded, deterministic weights for the tiny GPT-2 (pure; no I/O).
//
// Why our own PRNG: the files must be byte-identical for the same seed on any machine and Node
// version, so nothing here may depend on Math.random or on library internals. sfc32 is seeded from
// sha256(seed, variant); normals come from Box-Muller on top of it (V8's Math.log/cos are fdlibm
// ports, hence reproducible), and each value is rounded to float32 once.
//
// Why these scales: a plain GPT-2 init (std 0.02 everywhere, zero biases) makes a random model
// whose greedy continuation repeats its last input token forever (the tied embedding of the input
// token dominates the final hidden state). Stronger position embeddings, wider attention/MLP
// weights and small random biases / layer-norm gains give logits that depend on position and
// context, so greedy generation produces varied tokens and different seeds score differently.

import { createHash } from 'node:crypto';

export interface TinyGpt2Sizes {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nPositions: number;
  vocabSize: number;
}

/** One named weight, in the row-major layout of Hugging Face's GPT2 (Conv1D weights are [in, out]). */
export interface NamedTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** Initialisation standard deviations (see the header for why they are not GPT-2's 0.02). */
export const INIT = {
  wte: 0.02,
  wpe: 0.08,
  attn: 0.15,
  proj: 0.1,
  fc: 0.15,
  mlpProj: 0.1,
  bias: 0.02,
  lnGain: 0.1,
  lnBias: 0.05,
  /** Mean gain of the final layer norm: spreads the logits (std ~0.1 at gain 1) to a useful range. */
  lnfGain: 4,
} as const;

/** sfc32: a small, fast, well-tested 32-bit generator; state from sha256 of the seed text. */
export function makeRng(seedText: string): () => number {
  const h = createHash('sha256').update(seedText).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // Discard the first outputs, as sfc32's authors recommend, to mix the seed in.
  for (let i = 0; i < 15; i++) next();
  return next;
}

/** Fill a Float32Array with N(mean, std²) draws (Box-Muller, both outputs used). */
function normal(rng: () => number, n: number, std: number, mean = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - rng(); // (0, 1]: log stays finite
    const u2 = rng();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/**
 * All weights of the tiny GPT-2, named like the torch export of GPT2LMHeadModel
 * (`transformer.h.{i}.attn.c_attn.weight`, ...). Draw order is fixed, so (sizes, seed, variant)
 * determine every value.
 */
export function makeWeights(sizes: TinyGpt2Sizes, seed: number, variant: string): NamedTensor[] {
  const { nLayer, nEmbd: e, nPositions, vocabSize } = sizes;
  const rng = makeRng(`tinymodel:gpt2:v1:seed=${seed}:variant=${variant}`);
  const out: NamedTensor[] = [];
  const add = (name: string, dims: number[], std: number, mean = 0): void => {
    const n = dims.reduce((x, y) => x * y, 1);
    out.push({ name, dims, data: normal(rng, n, std, mean) });
  };
  add('transformer.wte.weight', [vocabSize, e], INIT.wte);
  add('transformer.wpe.weight', [nPositions, e], INIT.wpe);
  // Residual-branch outputs shrink with depth, as in GPT-2's init, so deeper stacks stay stable.
  const depth = 1 / Math.sqrt(2 * nLayer);
  for (let i = 0; i < nLayer; i++) {
    const p = `transformer.h.${i}`;
    add(`${p}.ln_1.weight`, [e], INIT.lnGain, 1);
    add(`${p}.ln_1.bias`, [e], INIT.lnBias);
    add(`${p}.attn.c_attn.weight`, [e, 3 * e], INIT.attn);
    add(`${p}.attn.c_attn.bias`, [3 * e], INIT.bias);
    add(`${p}.attn.c_proj.weight`, [e, e], INIT.proj * depth);
    add(`${p}.attn.c_proj.bias`, [e], INIT.bias);
    add(`${p}.ln_2.weight`, [e], INIT.lnGain, 1);
    add(`${p}.ln_2.bias`, [e], INIT.lnBias);
    add(`${p}.mlp.c_fc.weight`, [e, 4 * e], INIT.fc);
    add(`${p}.mlp.c_fc.bias`, [4 * e], INIT.bias);
    add(`${p}.mlp.c_proj.weight`, [4 * e, e], INIT.mlpProj * depth);
    add(`${p}.mlp.c_proj.bias`, [e], INIT.bias);
  }
  add('transformer.ln_f.weight', [e], INIT.lnGain * INIT.lnfGain, INIT.lnfGain);
  add('transformer.ln_f.bias', [e], INIT.lnBias);
  return out;
}
