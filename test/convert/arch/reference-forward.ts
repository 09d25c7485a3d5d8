// An independent forward pass for every architecture the converter supports, in plain float64
// loops, written from the Hugging Face modeling code (transformers v4.40) and allenai/OLMo v0.2.4
// directly: it reads checkpoint tensors by their hub names and shares nothing with
// src/convert/graph or src/convert/arch. One unpadded sequence, positions 0..n-1.

type W = (name: string) => Float32Array;
type Cfg = Record<string, unknown>;
type Vec = Float64Array<ArrayBufferLike>;

const num = (c: Cfg, k: string, d?: number): number => (c[k] ?? d) as number;

/** y = W x (+ b), W stored [out, in] (torch Linear). */
function linear(x: Vec, w: Float32Array, b: Float32Array | null, out: number): Vec {
  const n = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b ? b[o]! : 0;
    const row = o * n;
    for (let i = 0; i < n; i++) s += w[row + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

/** y = x W + b, W stored [in, out] (GPT-2 Conv1D). */
function conv1d(x: Vec, w: Float32Array, b: Float32Array): Vec {
  const out = b.length;
  const y = Float64Array.from(b);
  for (let i = 0; i < x.length; i++) for (let o = 0; o < out; o++) y[o] = y[o]! + x[i]! * w[i * out + o]!;
  return y;
}

function layerNorm(x: Vec, w: Float32Array | null, b: Float32Array | null, eps: number): Vec {
  const n = x.length;
  const mean = x.reduce((a, v) => a + v, 0) / n;
  const v = x.reduce((a, t) => a + (t - mean) ** 2, 0) / n;
  const inv = 1 / Math.sqrt(v + eps);
  return x.map((t, i) => (t - mean) * inv * (w ? w[i]! : 1) + (b ? b[i]! : 0));
}

function rmsNorm(x: Vec, w: Float32Array | null, eps: number, onePlus = false): Vec {
  const ms = x.reduce((a, t) => a + t * t, 0) / x.length;
  const inv = 1 / Math.sqrt(ms + eps);
  return x.map((t, i) => t * inv * (w ? (onePlus ? 1 + w[i]! : w[i]!) : 1));
}

const ACT: Record<string, (x: number) => number> = {
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  silu: (x) => x / (1 + Math.exp(-x)),
  relu: (x) => Math.max(0, x),
};

/** erf in float64: Taylor series below 2.5, the erfc continued fraction above. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = 0;
    let term = ax;
    for (let n = 0; n < 100; n++) {
      sum += term / (2 * n + 1);
      term *= (-ax * ax) / (n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let k = ax;
  for (let n = 80; n >= 1; n--) k = ax + n / 2 / k;
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / k);
}

/** Rotate the first `rot` dims of a head vector at `pos` (rotate_half: pairs i and i + rot/2). */
function rope(v: Vec, pos: number, rot: number, theta: number): Vec {
  const out = Float64Array.from(v);
  const half = rot / 2;
  for (let i = 0; i < half; i++) {
    const ang = pos / theta ** ((2 * i) / rot);
    const c = Math.cos(ang);
    const s = Math.sin(ang);
    out[i] = v[i]! * c - v[i + half]! * s;
    out[i + half] = v[i + half]! * c + v[i]! * s;
  }
  return out;
}

interface AttnArgs {
  q: Vec[][]; // [t][head] vectors
  k: Vec[][];
  v: Vec[][];
  scale: number;
  window: number | null;
}

/** Causal multi-head attention with grouped key/value heads → concatenated heads per position. */
function attend({ q, k, v, scale, window }: AttnArgs): Vec[] {
  const T = q.length;
  const H = q[0]!.length;
  const Hkv = k[0]!.length;
  const D = q[0]![0]!.length;
  return q.map((qt, t) => {
    const out = new Float64Array(H * D);
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / (H / Hkv));
      const scores: number[] = [];
      for (let s = 0; s < T; s++) {
        const visible = s <= t && (window === null || t - s <= window);
        let dot = 0;
        for (let d = 0; d < D; d++) dot += qt[h]![d]! * k[s]![kh]![d]!;
        scores.push(visible ? dot * scale : -Infinity);
      }
      const mx = Math.max(...scores);
      const ex = scores.map((x) => Math.exp(x - mx));
      const sum = ex.reduce((a, b) => a + b, 0);
      for (let s = 0; s < T; s++) for (let d = 0; d < D; d++) out[h * D + d] = out[h * D + d]! + (ex[s]! / sum) * v[s]![kh]![d]!;
    }
    return out;
  });
}

const heads = (x: Vec, n: number, D: number, offset = 0): Vec[] => Array.from({ length: n }, (_, h) => x.slice(offset + h * D, offset + (h + 1) * D));
const add = (a: Vec, b: Vec): Vec => a.map((x, i) => x + b[i]!);
const clip = (x: Vec, c: number | null): Vec => (c === null ? x : x.map((t) => Math.min(c, Math.max(-c, t))));

function head(x: Vec, w: Float32Array, rows: number): Vec {
  return linear(x, w, null, rows);
}

function gpt2(c: Cfg, w: W, ids: number[]): Vec[] {
  const E = num(c, 'n_embd'), H = num(c, 'n_head'), L = num(c, 'n_layer'), V = num(c, 'vocab_size'), D = E / H;
  const eps = num(c, 'layer_norm_epsilon', 1e-5);
  const act = ACT[c['activation_function'] === 'gelu' ? 'gelu' : 'gelu_tanh']!;
  const wte = w('transformer.wte.weight'), wpe = w('transformer.wpe.weight');
  let x: Vec[] = ids.map((id, t) => Float64Array.from({ length: E }, (_, e) => wte[id * E + e]! + wpe[t * E + e]!));
  for (let i = 0; i < L; i++) {
    const p = `transformer.h.${i}`;
    const qkv = x.map((h) => conv1d(layerNorm(h, w(`${p}.ln_1.weight`), w(`${p}.ln_1.bias`), eps), w(`${p}.attn.c_attn.weight`), w(`${p}.attn.c_attn.bias`)));
    const a = attend({ q: qkv.map((r) => heads(r, H, D)), k: qkv.map((r) => heads(r, H, D, E)), v: qkv.map((r) => heads(r, H, D, 2 * E)), scale: 1 / Math.sqrt(D), window: null });
    x = x.map((h, t) => add(h, conv1d(a[t]!, w(`${p}.attn.c_proj.weight`), w(`${p}.attn.c_proj.bias`))));
    x = x.map((h) => add(h, conv1d(conv1d(layerNorm(h, w(`${p}.ln_2.weight`), w(`${p}.ln_2.bias`), eps), w(`${p}.mlp.c_fc.weight`), w(`${p}.mlp.c_fc.bias`)).map(act), w(`${p}.mlp.c_proj.weight`), w(`${p}.mlp.c_proj.bias`))));
  }
  return x.map((h) => head(layerNorm(h, w('transformer.ln_f.weight'), w('transformer.ln_f.bias'), eps), wte, V));
}

function gptNeox(c: Cfg, w: W, ids: number[]): Vec[] {
  const E = num(c, 'hidden_size'), H = num(c, 'num_attention_heads'), L = num(c, 'num_hidden_layers'), V = num(c, 'vocab_size'), I = num(c, 'intermediate_size');
  const D = E / H, rot = Math.floor(D * num(c, 'rotary_pct', 0.25)), theta = num(c, 'rotary_emb_base', 10000), eps = num(c, 'layer_norm_eps', 1e-5);
  const act = ACT[c['hidden_act'] === 'gelu' || c['hidden_act'] === undefined ? 'gelu' : 'gelu_tanh']!;
  const parallel = c['use_parallel_residual'] !== false;
  const emb = w('gpt_neox.embed_in.weight');
  let x: Vec[] = ids.map((id) => Float64Array.from(emb.subarray(id * E, (id + 1) * E)));
  for (let i = 0; i < L; i++) {
    const p = `gpt_neox.layers.${i}`;
    const ln = (h: Vec, n: string) => layerNorm(h, w(`${p}.${n}.weight`), w(`${p}.${n}.bias`), eps);
    const attn = (xs: Vec[]): Vec[] => {
      const qkv = xs.map((h) => linear(ln(h, 'input_layernorm'), w(`${p}.attention.query_key_value.weight`), w(`${p}.attention.query_key_value.bias`), 3 * E));
      // view(..., heads, 3 * head_size): head h holds q, k, v consecutively.
      const part = (r: Vec, j: number, t: number) => Array.from({ length: H }, (_, h) => { const v = r.slice(h * 3 * D + j * D, h * 3 * D + (j + 1) * D); return j < 2 ? rope(v, t, rot, theta) : v; });
      const a = attend({ q: qkv.map((r, t) => part(r, 0, t)), k: qkv.map((r, t) => part(r, 1, t)), v: qkv.map((r, t) => part(r, 2, t)), scale: 1 / Math.sqrt(D), window: null });
      return a.map((r) => linear(r, w(`${p}.attention.dense.weight`), w(`${p}.attention.dense.bias`), E));
    };
    const mlp = (h: Vec): Vec => linear(linear(ln(h, 'post_attention_layernorm'), w(`${p}.mlp.dense_h_to_4h.weight`), w(`${p}.mlp.dense_h_to_4h.bias`), I).map(act), w(`${p}.mlp.dense_4h_to_h.weight`), w(`${p}.mlp.dense_4h_to_h.bias`), E);
    const a = attn(x);
    if (parallel) x = x.map((h, t) => add(add(h, a[t]!), mlp(h)));
    else x = x.map((h, t) => { const h2 = add(h, a[t]!); return add(h2, mlp(h2)); });
  }
  const out = c['tie_word_embeddings'] === true ? emb : w('embed_out.weight');
  return x.map((h) => head(layerNorm(h, w('gpt_neox.final_layer_norm.weight'), w('gpt_neox.final_layer_norm.bias'), eps), out, V));
}

/** llama, mistral, gemma and native olmo (transformers v4.40). */
function llamaLike(c: Cfg, w: W, ids: number[], has: (n: string) => boolean): Vec[] {
  const mt = c['model_type'] as string;
  const E = num(c, 'hidden_size'), H = num(c, 'num_attention_heads'), Hkv = num(c, 'num_key_value_heads', H), L = num(c, 'num_hidden_layers'), V = num(c, 'vocab_size'), I = num(c, 'intermediate_size');
  const D = mt === 'gemma' ? num(c, 'head_dim') : (c['head_dim'] as number | undefined) ?? E / H;
  const theta = num(c, 'rope_theta', 10000);
  const scaling = c['rope_scaling'] as { factor: number } | null | undefined;
  const posDiv = scaling ? scaling.factor : 1;
  const window = mt === 'mistral' ? ((c['sliding_window'] as number | null) ?? null) : null;
  const clipV = mt === 'olmo' ? ((c['clip_qkv'] as number | null) ?? null) : null;
  const bias = c['attention_bias'] === true;
  const actName = mt === 'gemma' ? ((c['hidden_activation'] as string | undefined) ?? 'gelu_pytorch_tanh') : ((c['hidden_act'] as string) ?? 'silu');
  const act = ACT[actName === 'gelu_pytorch_tanh' || actName === 'gelu_new' ? 'gelu_tanh' : actName]!;
  const eps = num(c, 'rms_norm_eps', 1e-6);
  const norm = (h: Vec, name: string): Vec =>
    mt === 'olmo' ? layerNorm(h, null, null, 1e-5) : rmsNorm(h, w(name), eps, mt === 'gemma');
  const emb = w('model.embed_tokens.weight');
  // Gemma: normalizer = torch.tensor(hidden_size ** 0.5, dtype=hidden_states.dtype) — float32 here.
  const scale = mt === 'gemma' ? Math.fround(Math.sqrt(E)) : 1;
  let x: Vec[] = ids.map((id) => Float64Array.from(emb.subarray(id * E, (id + 1) * E), (v) => v * scale));
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    const a = `${p}.self_attn`;
    const b = (n: string) => (bias ? w(`${a}.${n}.bias`) : null);
    const n1 = x.map((h) => norm(h, `${p}.input_layernorm.weight`));
    const q = n1.map((h, t) => heads(clip(linear(h, w(`${a}.q_proj.weight`), b('q_proj'), H * D), clipV), H, D).map((v) => rope(v, t / posDiv, D, theta)));
    const k = n1.map((h, t) => heads(clip(linear(h, w(`${a}.k_proj.weight`), b('k_proj'), Hkv * D), clipV), Hkv, D).map((v) => rope(v, t / posDiv, D, theta)));
    const v = n1.map((h) => heads(clip(linear(h, w(`${a}.v_proj.weight`), b('v_proj'), Hkv * D), clipV), Hkv, D));
    const att = attend({ q, k, v, scale: 1 / Math.sqrt(D), window });
    x = x.map((h, t) => add(h, linear(att[t]!, w(`${a}.o_proj.weight`), b('o_proj'), E)));
    x = x.map((h) => {
      const n2 = norm(h, `${p}.post_attention_layernorm.weight`);
      const g = linear(n2, w(`${p}.mlp.gate_proj.weight`), null, I);
      const u = linear(n2, w(`${p}.mlp.up_proj.weight`), null, I);
      return add(h, linear(g.map((t, j) => act(t) * u[j]!), w(`${p}.mlp.down_proj.weight`), null, E));
    });
  }
  const out = has('lm_head.weight') && c['tie_word_embeddings'] !== true ? w('lm_head.weight') : emb;
  return x.map((h) => head(norm(h, 'model.norm.weight'), out, V));
}

/** allenai/OLMo v0.2.4 OLMoForCausalLM (sequential blocks). */
function hfOlmo(c: Cfg, w: W, ids: number[]): Vec[] {
  const d = num(c, 'd_model'), H = num(c, 'n_heads'), L = num(c, 'n_layers'), D = d / H;
  const rows = (c['embedding_size'] as number | null) ?? num(c, 'vocab_size');
  const hidden = (c['mlp_hidden_size'] as number | null) ?? num(c, 'mlp_ratio', 4) * d;
  const half = hidden / 2;
  const Hkv = c['multi_query_attention'] === true ? 1 : H;
  const affine = c['layer_norm_with_affine'] !== false;
  const bias = c['include_bias'] === true;
  const normBias = affine && ((c['bias_for_layer_norm'] as boolean | null) ?? bias);
  const rms = c['layer_norm_type'] === 'rms';
  const clipV = (c['clip_qkv'] as number | null | undefined) ?? null;
  const t0 = 'model.transformer';
  const norm = (h: Vec, prefix: string): Vec => {
    const g = affine ? w(`${prefix}.weight`) : null;
    if (rms) return rmsNorm(h, g, 1e-5);
    return layerNorm(h, g, normBias ? w(`${prefix}.bias`) : null, 1e-5);
  };
  const wte = w(`${t0}.wte.weight`);
  let x: Vec[] = ids.map((id) => Float64Array.from(wte.subarray(id * d, (id + 1) * d)));
  for (let i = 0; i < L; i++) {
    const p = `${t0}.blocks.${i}`;
    const qkv = x.map((h) => clip(linear(norm(h, `${p}.attn_norm`), w(`${p}.att_proj.weight`), bias ? w(`${p}.att_proj.bias`) : null, d + 2 * Hkv * D), clipV));
    const att = attend({
      q: qkv.map((r, t) => heads(r, H, D).map((v) => rope(v, t, D, 10000))),
      k: qkv.map((r, t) => heads(r, Hkv, D, d).map((v) => rope(v, t, D, 10000))),
      v: qkv.map((r) => heads(r, Hkv, D, d + Hkv * D)),
      scale: 1 / Math.sqrt(D),
      window: null,
    });
    x = x.map((h, t) => add(h, linear(att[t]!, w(`${p}.attn_out.weight`), bias ? w(`${p}.attn_out.bias`) : null, d)));
    x = x.map((h) => {
      const f = linear(norm(h, `${p}.ff_norm`), w(`${p}.ff_proj.weight`), bias ? w(`${p}.ff_proj.bias`) : null, hidden);
      // SwiGLU: x, gate = f.chunk(2); silu(gate) * x
      const a = Float64Array.from({ length: half }, (_, j) => ACT['silu']!(f[half + j]!) * f[j]!);
      return add(h, linear(a, w(`${p}.ff_out.weight`), bias ? w(`${p}.ff_out.bias`) : null, d));
    });
  }
  const out = c['weight_tying'] === false ? w(`${t0}.ff_out.weight`) : wte;
  const s = c['scale_logits'] === true ? 1 / Math.sqrt(d) : 1;
  return x.map((h) => head(norm(h, `${t0}.ln_f`), out, rows).map((v) => v * s));
}

export type RefArch = 'gpt2' | 'gpt_neox' | 'llama' | 'mistral' | 'gemma' | 'olmo' | 'hf_olmo';

/** Logits [t][vocab] of one sequence. */
export function referenceLogits(arch: RefArch, config: Cfg, tensors: Map<string, Float32Array>, ids: number[]): Vec[] {
  const w: W = (name) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`reference forward (${arch}): no tensor ${name}`);
    return t;
  };
  const has = (n: string) => tensors.has(n);
  switch (arch) {
    case 'gpt2':
      return gpt2(config, w, ids);
    case 'gpt_neox':
      return gptNeox(config, w, ids);
    case 'hf_olmo':
      return hfOlmo(config, w, ids);
    default:
      return llamaLike(config, w, ids, has);
  }
}
