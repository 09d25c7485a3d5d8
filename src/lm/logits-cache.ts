// A byte-bounded LRU of last-position logits rows keyed by token ids. The fast path fills it while
// scoring cond(prefix, ...) when the prefix's tokens agree with the joined tokens, so lambada's
// next-word distribution of the same prefix costs no second forward pass. Call conditional and
// then nextTokenLogits on the same chunk of items; rows older than the budget are dropped.

export class LogitsCache {
  private readonly map = new Map<string, Float32Array>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): Float32Array | undefined {
    const v = this.map.get(key);
    if (v) {
      // Refresh recency.
      this.map.delete(key);
      this.map.set(key, v);
      this.hits++;
    } else {
      this.misses++;
    }
    return v;
  }

  set(key: string, row: Float32Array): void {
    if (row.byteLength > this.maxBytes) return;
    const old = this.map.get(key);
    if (old) {
      this.map.delete(key);
      this.bytes -= old.byteLength;
    }
    this.map.set(key, row);
    this.bytes += row.byteLength;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.byteLength;
    }
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
