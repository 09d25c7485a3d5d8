// One forward pass over a right-padded batch, optionally continuing from per-row past key/values.
//
// Each row is (past of its own length k_b, new tokens n_b). The batch past is [B, ..., Pmax, ...]
// with row b's past in positions 0..k_b-1 and zeros + attention mask 0 after it; the new tokens
// follow at Pmax.., right-padded. Position ids are given explicitly: k_b + j for row b's j-th new
// token, so every sequence starts at position 0 whatever the padding (transformers.js would
// compute cumsum(mask)-1 for real tokens too, and 1 for pads; pads are never read here).

import type { Runtime, SessionLike, TensorLike } from './runtime.js';

/** Stats the forward runner updates (a superset of ScoringStats). */
export interface LmStats {
  forwardTokens: number;
  forwardCalls: number;
  zeroTokenContinuations: number;
  /** Tokens including padding (B × S per call): what the hardware computed. */
  paddedForwardTokens: number;
  /** Rows through the output layer: B × S per call here; K + L per row with the scoring graph. */
  outputRows: number;
}

// Typed arrays of any element type (float32 pasts, or uint16-stored float16 pasts).
type Typed = Float32Array | Uint16Array | Float64Array | Int32Array;
type TypedCtor = new (n: number) => Typed;

/** Key/value cache of one sequence (batch dimension 1). */
export interface PastKV {
  length: number;
  tensors: Map<string, { type: string; dims: number[]; data: Typed }>;
}

export interface ForwardRow {
  ids: readonly number[];
  past?: PastKV | undefined;
}

export class ForwardBatch {
  constructor(
    readonly logits: Float32Array,
    readonly seqLen: number,
    readonly vocab: number,
    /** Longest past in the batch: where the new tokens start in the present tensors. */
    readonly pastLen: number,
    private readonly rows: readonly ForwardRow[],
    private readonly present: Map<string, TensorLike> | null,
    private readonly seqAxis: Map<string, number>,
  ) {}

  /** Logits of row b at its j-th new token (a view; copy it to keep it past the next call). */
  row(b: number, j: number): Float32Array {
    const off = (b * this.seqLen + j) * this.vocab;
    return this.logits.subarray(off, off + this.vocab);
  }

  /**
   * The cache of row b after this pass: its own past (positions 0..k-1 of the batch past) followed
   * by its new tokens (which sit after the batch's longest past, at pastLen..).
   */
  pastOf(b: number): PastKV {
    const row = this.rows[b];
    if (!this.present || !row) throw new Error('internal: pastOf needs keepPresent and a valid row');
    const k = row.past?.length ?? 0;
    const n = row.ids.length;
    const len = k + n;
    const tensors: PastKV['tensors'] = new Map();
    for (const [name, t] of this.present) {
      const axis = this.seqAxis.get(name) ?? t.dims.length - 2;
      const dims = t.dims;
      const total = dims[axis]!;
      const outer = dims.slice(1, axis).reduce((a, x) => a * x, 1);
      const inner = dims.slice(axis + 1).reduce((a, x) => a * x, 1);
      const src = t.data as Typed;
      const Ctor = src.constructor as TypedCtor;
      const out = new Ctor(outer * len * inner);
      for (let o = 0; o < outer; o++) {
        const base = (b * outer + o) * total * inner;
        const dst = o * len * inner;
        if (k > 0) out.set(src.subarray(base, base + k * inner) as never, dst);
        const from = base + this.pastLen * inner;
        out.set(src.subarray(from, from + n * inner) as never, dst + k * inner);
      }
      const outDims = dims.slice();
      outDims[0] = 1;
      outDims[axis] = len;
      tensors.set(name, { type: t.type, dims: outDims, data: out });
    }
    return { length: len, tensors };
  }
}

export class ForwardRunner {
  private readonly session: SessionLike;
  private readonly pastNames: string[];
  private readonly seqAxis = new Map<string, number>();
  private readonly hasPositionIds: boolean;
  /** transformers.js feeds 1-based positions to these exports (decoder_forward); do the same. */
  private readonly firstPosition: number;
  /** Whether rows may carry a past: a plain key/value cache with names we know how to map. */
  readonly supportsPast: boolean;

  constructor(
    private readonly rt: Runtime,
    readonly stats: LmStats,
  ) {
    const session = rt.model.sessions['model'] ?? rt.model.sessions['decoder_model_merged'];
    if (!session) throw new Error(`the model has no decoder session (has: ${Object.keys(rt.model.sessions).join(', ')})`);
    this.session = session;
    this.hasPositionIds = session.inputNames.includes('position_ids');
    this.firstPosition = ['paligemma', 'gemma3_text', 'gemma3'].includes(String(rt.model.config['model_type'])) ? 1 : 0;
    this.pastNames = session.inputNames.filter((n) => n.startsWith('past_key_values.'));
    const otherState = session.inputNames.some((n) => n.startsWith('past_') && !n.startsWith('past_key_values.'));
    this.supportsPast = this.pastNames.length > 0 && !otherState && Object.keys(rt.model.sessions).length === 1;
    for (const meta of session.inputMetadata) {
      if (!meta.name.startsWith('past_key_values.')) continue;
      const shape = meta.shape ?? [];
      let axis = shape.findIndex((d) => typeof d === 'string' && /sequence|past/.test(d));
      if (axis < 1) axis = Math.max(1, shape.length - 2);
      this.seqAxis.set(meta.name, axis);
    }
  }

  async run(rows: readonly ForwardRow[], keepPresent = false): Promise<ForwardBatch> {
    const { Tensor, padId, model } = this.rt;
    const B = rows.length;
    if (B === 0) throw new Error('internal: empty forward batch');
    const S = Math.max(...rows.map((r) => r.ids.length));
    if (S === 0) throw new Error('internal: forward row without tokens');
    const P = Math.max(0, ...rows.map((r) => r.past?.length ?? 0));
    if (P > 0 && !this.supportsPast) throw new Error('internal: this model does not take past key/values');

    const ids = new BigInt64Array(B * S).fill(BigInt(padId));
    const pos = new BigInt64Array(B * S).fill(1n);
    const mask = new BigInt64Array(B * (P + S));
    let real = 0;
    rows.forEach((r, b) => {
      const k = r.past?.length ?? 0;
      for (let j = 0; j < k; j++) mask[b * (P + S) + j] = 1n;
      r.ids.forEach((id, j) => {
        ids[b * S + j] = BigInt(id);
        pos[b * S + j] = BigInt(this.firstPosition + k + j);
        mask[b * (P + S) + P + j] = 1n;
      });
      real += r.ids.length;
    });

    const inputs: Record<string, unknown> = {
      input_ids: new Tensor('int64', ids, [B, S]),
      attention_mask: new Tensor('int64', mask, [B, P + S]),
    };
    if (this.hasPositionIds) inputs['position_ids'] = new Tensor('int64', pos, [B, S]);
    if (P > 0) inputs['past_key_values'] = this.batchPast(rows, P);

    const out = await model(inputs);
    this.stats.forwardCalls += 1;
    this.stats.forwardTokens += real;
    this.stats.paddedForwardTokens += B * S;
    this.stats.outputRows += B * S;

    let logits = out['logits'];
    if (!logits) throw new Error('the model returned no "logits" output');
    if (logits.type !== 'float32') logits = logits.to('float32');
    const vocab = logits.dims[logits.dims.length - 1]!;
    let present: Map<string, TensorLike> | null = null;
    if (keepPresent) {
      present = new Map();
      for (const [name, t] of Object.entries(out)) {
        if (name.startsWith('present.')) present.set(name.replace(/^present\./, 'past_key_values.'), t);
      }
    }
    return new ForwardBatch(logits.data as Float32Array, S, vocab, P, rows, present, this.seqAxis);
  }

  /** Stack the rows' caches into one [B, ..., P, ...] tensor per name, zeros after each row's end. */
  private batchPast(rows: readonly ForwardRow[], P: number): Record<string, TensorLike> {
    const { Tensor } = this.rt;
    const first = rows.find((r) => r.past)?.past;
    if (!first) throw new Error('internal: no past in batch');
    const result: Record<string, TensorLike> = {};
    for (const name of this.pastNames) {
      const proto = first.tensors.get(name);
      if (!proto) throw new Error(`internal: cache has no tensor "${name}"`);
      const axis = this.seqAxis.get(name) ?? proto.dims.length - 2;
      const outer = proto.dims.slice(1, axis).reduce((a, x) => a * x, 1);
      const inner = proto.dims.slice(axis + 1).reduce((a, x) => a * x, 1);
      const Ctor = proto.data.constructor as TypedCtor;
      const data = new Ctor(rows.length * outer * P * inner);
      rows.forEach((r, b) => {
        const t = r.past?.tensors.get(name);
        if (!t || !r.past) return;
        const len = r.past.length;
        for (let o = 0; o < outer; o++) {
          const src = t.data.subarray(o * len * inner, (o + 1) * len * inner);
          data.set(src as never, ((b * outer + o) * P) * inner);
        }
      });
      const dims = proto.dims.slice();
      dims[0] = rows.length;
      dims[axis] = P;
      result[name] = new Tensor(proto.type, data, dims);
    }
    return result;
  }
}
