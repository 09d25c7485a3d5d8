// Long tables: one row per wide row and evaluation method (minimal pairs: two per method), with
// the method's response in shared columns so that the methods can be compared and regressed. What
// each domain copies and fills comes from its DomainDef (src/tasks/task-def.ts).

import { parseBool, parseNum, type Row, type Table } from './csv-io.js';
import { domainDef, methodOrder, prettyMethod, type Domain } from './domains.js';
import type { Scope, WideTable } from './wide.js';

export function longColumns(domain: Domain, scope: Scope): string[] {
  const def = domainDef(domain);
  const model = scope === 'training_time'
    ? ['model', 'revision', 'model_family', 'training_step', 'model_n_params']
    : ['model', 'model_family', 'model_n_params'];
  return [...def.leadColumns, ...model, ...def.itemColumns, ...def.responseColumns, 'eval_method', 'pretty_eval_method'];
}

export function buildLong(domain: Domain, wide: WideTable, scope: Scope): Table {
  const def = domainDef(domain);
  const columns = longColumns(domain, scope);
  const rows: Row[] = [];
  wide.rows.forEach((w, i) => {
    const where = wide.sources[i] ?? `wide row ${i + 1}`;
    const read = {
      bool: (c: string): boolean | null => parseBool(w[c] ?? null, `${where} column ${c}`),
      num: (c: string): number | null => parseNum(w[c] ?? null, `${where} column ${c}`),
    };
    // Methods in alphabetical order, so the regression's reference level comes first.
    for (const method of methodOrder(def)) {
      for (const resp of def.responses(w, method, read)) {
        const row: Row = {};
        for (const c of columns) row[c] = w[c] ?? null;
        Object.assign(row, resp);
        row.eval_method = method;
        row.pretty_eval_method = prettyMethod(def, method);
        rows.push(row);
      }
    }
  });
  return { columns, rows };
}
