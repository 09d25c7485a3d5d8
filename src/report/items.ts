// The items behind a score stage, for the drill-down: each item's CSV row, its requests from
// requests.jsonl (prompts, continuations, summed and per-token log-probabilities, generations) and
// its value under each method from the domain's long table (so "the methods agree" is the
// analysis's own judgement, not re-derived here).
import { readFileSync } from 'node:fs';
import { parseCsv, type Table } from '../analysis/csv-io.js';
import type { Store } from '../engine/store/store.js';
import { itemColumn, type ReportDomain } from './domains.js';
import type { Decode } from './tokens.js';
import type { Item, ItemRequest, ItemSet } from './types.js';

export interface ItemSetSource {
  index: number;
  stage: string;
  task: string;
  condition: string;
  display: string;
  revision: string;
  domain: ReportDomain | undefined;
  csvDigest: string;
  requestsDigest?: string;
  /** The domain's long table for this stage's revision kind (size, or training time). */
  long?: Table;
  decode?: Decode;
}

type MethodValues = Item['methods'];

function str(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

/** Long-table rows of this model instance, by item id: method → value, response, label. */
function methodsByItem(src: ItemSetSource): Map<string, MethodValues> {
  const out = new Map<string, MethodValues>();
  const long = src.long;
  if (!long || !src.domain) return out;
  const idCol = itemColumn(src.task, long.columns);
  const hasRev = long.columns.includes('revision');
  const hasCond = long.columns.includes('condition');
  const hasSet = long.columns.includes('dataset');
  const logprob = src.domain.metric === 'logprob';
  for (const r of long.rows) {
    if (str(r['model']) !== src.display) continue;
    if (hasRev && str(r['revision']) !== src.revision) continue;
    if (hasCond && src.condition && str(r['condition']) !== src.condition) continue;
    if (hasSet && str(r['dataset']) !== src.task) continue;
    const id = str(r[idCol]);
    const m = out.get(id) ?? {};
    let value: number | null;
    if (logprob) {
      const x = Number(r['logprob']);
      value = str(r['logprob']) === '' || Number.isNaN(x) ? null : x;
    } else {
      const c = str(r['response_correct']);
      value = c === 'True' ? 1 : c === 'False' ? 0 : null;
    }
    const entry: MethodValues[string] = { value };
    if (r['response'] !== undefined) entry.response = str(r['response']);
    if (r['response_label'] !== undefined) entry.label = str(r['response_label']);
    m[str(r['eval_method'])] = entry;
    out.set(id, m);
  }
  return out;
}

function toRequest(r: Record<string, unknown>, decode: Decode | undefined): ItemRequest {
  const tokens = (): [string, number][] | undefined => {
    const ids = r['token_ids'];
    const lps = r['token_logprobs'];
    if (!Array.isArray(ids) || !Array.isArray(lps)) return undefined;
    return ids.map((id, i) => [decode ? decode(Number(id)) : `⟨${String(id)}⟩`, Number(lps[i])]);
  };
  const kind = str(r['kind']);
  switch (kind) {
    case 'conditional': {
      const t = tokens();
      return { kind, text: str(r['prefix']), continuation: str(r['continuation']), separator: str(r['separator']), reduction: str(r['reduction']), logprob: Number(r['logprob']), ...(t ? { tokens: t } : {}) };
    }
    case 'sequence': {
      const t = tokens();
      return { kind, text: str(r['text']), logprob: Number(r['logprob']), ...(t ? { tokens: t } : {}) };
    }
    case 'generate':
      return { kind, text: str(r['prompt']), generated: str(r['text']) };
    case 'next-token':
      return { kind, text: str(r['text']), generated: decode && typeof r['argmax'] === 'number' ? decode(r['argmax']) : `⟨${str(r['argmax'])}⟩` };
    default:
      return { kind, text: str(r['text'] ?? r['prompt'] ?? r['prefix']) };
  }
}

export function buildItemSet(store: Store, src: ItemSetSource): ItemSet {
  const csv = parseCsv(readFileSync(store.objectPath(src.csvDigest), 'utf8'), `${src.stage} csv`);
  const idCol = itemColumn(src.task, csv.columns);
  const requests = new Map<string, ItemRequest[]>();
  if (src.requestsDigest) {
    for (const line of readFileSync(store.objectPath(src.requestsDigest), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // a torn line: the CSV row still shows
      }
      const id = str(r['item']);
      requests.set(id, [...(requests.get(id) ?? []), toRequest(r, src.decode)]);
    }
  }
  const methods = methodsByItem(src);
  const items: Item[] = csv.rows.map((row) => {
    const id = str(row[idCol]);
    const m = methods.get(id) ?? {};
    const vals = Object.values(m).map((x) => x.value);
    const agree = src.domain?.metric === 'correct' && vals.length === 2 && vals.every((v) => v !== null) ? vals[0] === vals[1] : null;
    return {
      id, condition: str(row['condition'] ?? src.condition), methods: m, agree, requests: requests.get(id) ?? [],
      row: Object.fromEntries(Object.entries(row).map(([k, v]) => [k, str(v)])),
    };
  });
  return { index: src.index, stage: src.stage, columns: csv.columns, items };
}
