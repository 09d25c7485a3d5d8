// Token ids → the text of each token, from the model's own tokenizer.json (in the checkpoint the
// score stage read), so per-token log-probabilities can be shown on the tokens they belong to.
import { readFileSync } from 'node:fs';
import type { Store } from '../engine/store/store.js';

export type Decode = (id: number) => string;

/** GPT-2's byte ↔ printable-character table (byte-level BPE vocabularies are written in it). */
function byteDecoder(): Map<string, number> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [String.fromCharCode(cs[i]!), b]));
}

export function decoderFromTokenizerJson(text: string): Decode | undefined {
  let tj: Record<string, unknown>;
  try {
    tj = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const model = (tj['model'] ?? {}) as Record<string, unknown>;
  const pieces = new Map<number, string>();
  const vocab = model['vocab'];
  if (Array.isArray(vocab)) vocab.forEach((e, i) => pieces.set(i, String(Array.isArray(e) ? e[0] : e)));
  else if (vocab && typeof vocab === 'object') for (const [p, id] of Object.entries(vocab as Record<string, number>)) pieces.set(Number(id), p);
  for (const a of (tj['added_tokens'] ?? []) as { id: number; content: string }[]) pieces.set(a.id, a.content);
  const byteLevel = JSON.stringify(tj['decoder'] ?? tj['pre_tokenizer'] ?? '').includes('ByteLevel');
  const bytes = byteLevel ? byteDecoder() : undefined;
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  return (id) => {
    const p = pieces.get(id);
    if (p === undefined) return `⟨${id}⟩`;
    if (bytes) {
      const arr = [...p].map((c) => bytes.get(c));
      if (arr.every((b) => b !== undefined)) return utf8.decode(Uint8Array.from(arr as number[]));
      return p;
    }
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(p);
    if (m) return String.fromCharCode(parseInt(m[1]!, 16));
    return p.replace(/▁/g, ' ');
  };
}

/** The decoder of a model folder in the store (its tokenizer.json), cached per folder digest. */
export class TokenDecoders {
  private cache = new Map<string, Decode | undefined>();
  constructor(private readonly store: Store) {}

  async forTree(digest: string | undefined): Promise<Decode | undefined> {
    if (!digest) return undefined;
    if (this.cache.has(digest)) return this.cache.get(digest);
    let d: Decode | undefined;
    try {
      const entry = (await this.store.readManifest(digest)).find((e) => e.path === 'tokenizer.json' || e.path.endsWith('/tokenizer.json'));
      if (entry) d = decoderFromTokenizerJson(readFileSync(this.store.objectPath(entry.digest), 'utf8'));
    } catch {
      d = undefined;
    }
    this.cache.set(digest, d);
    return d;
  }
}
