// float32 → float16 rounding used for fp16 graphs: every half value maps to itself, midpoints
// between neighbouring halves round to the even one, overflow gives ±Inf, tiny values ±0.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { f32ToF16Bits } from '../../../src/convert/graph/onnx-builder.js';

function halfValue(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

test('every half round-trips; midpoints round to even; overflow and underflow', () => {
  const all = Float32Array.from({ length: 65536 }, (_, h) => halfValue(h));
  const bits = f32ToF16Bits(all);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(all[h]!)) assert.equal(bits[h]! & 0x7c00, 0x7c00, `NaN ${h}`);
    else if (h !== 0x8000) assert.equal(bits[h], h, `half ${h.toString(16)}`);
  }
  // Midpoints between h and h+1 (positive finite): ties go to the even mantissa.
  const mids: number[] = [];
  const want: number[] = [];
  for (let h = 0; h < 0x7bff; h += 37) {
    mids.push((halfValue(h) + halfValue(h + 1)) / 2);
    want.push(h % 2 === 0 ? h : h + 1);
  }
  assert.deepEqual([...f32ToF16Bits(Float32Array.from(mids))], want);
  assert.deepEqual([...f32ToF16Bits(Float32Array.from([70000, -70000, 1e-9, -1e-9, 65504, 1 + 2 ** -11 + 2 ** -20]))], [0x7c00, 0xfc00, 0, 0x8000, 0x7bff, 0x3c01]);
});
