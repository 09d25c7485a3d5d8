// Declared stage params: each kind names its params (type, bounds, default, one line of doc), so a
// typo or a bad value is a located error when the pipeline is expanded — before anything runs or a
// model loads — and the kind reads typed values instead of parsing strings itself.
//
// Values arrive as YAML scalars, `${var}` interpolations (typed when the whole value is one var) or
// `--param k=v` strings, so numbers and booleans are also accepted in their string spelling.
// An absent param, `null` or `""` takes the declared default.

import { didYouMean } from './diagnostics.js';

interface Doc {
  /** One line for `pipeline <kind> --help` and error messages. */
  doc: string;
}
export type ParamDecl =
  | (Doc & { type: 'integer'; default?: number; min?: number; max?: number })
  | (Doc & { type: 'number'; default?: number; min?: number })
  | (Doc & { type: 'boolean'; default?: boolean })
  /** `input`: the value is a path the kind reads (relative to the project folder); no `run:`
   * stage's outs may overlap it. */
  | (Doc & { type: 'string'; default?: string; choices?: readonly string[]; input?: boolean })
  | (Doc & { type: 'string-list'; default?: readonly string[]; choices?: readonly string[] });

export type ParamDecls = Readonly<Record<string, ParamDecl>>;

type ValueOf<P extends ParamDecl> = P['type'] extends 'integer' | 'number' ? number : P['type'] extends 'boolean' ? boolean : P['type'] extends 'string-list' ? string[] : string;

/** What a kind receives: declared params with defaults applied, typed. */
export type ParamValues<D extends ParamDecls> = {
  -readonly [K in keyof D]: D[K] extends { default: unknown } ? ValueOf<D[K]> : ValueOf<D[K]> | undefined;
};

export type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

const absent = (v: unknown): boolean => v === undefined || v === null || v === '';

/** A readable statement of what a declaration accepts: "a whole number ≥ 0". */
export function expectation(d: ParamDecl): string {
  switch (d.type) {
    case 'integer': {
      const bounds = [d.min !== undefined ? `≥ ${d.min}` : '', d.max !== undefined ? `≤ ${d.max}` : ''].filter(Boolean).join(' and ');
      return `a whole number${bounds ? ` ${bounds}` : ''}`;
    }
    case 'number':
      return `a number${d.min !== undefined ? ` ≥ ${d.min}` : ''}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      return d.choices ? `one of ${d.choices.join(', ')}` : 'a string';
    case 'string-list':
      return d.choices ? `a list of ${d.choices.join(', ')}` : 'a list of strings';
  }
}

/** The typed value of one param, or why it is refused. Absent values are not passed here. */
export function coerceParam(d: ParamDecl, raw: unknown): Coerced {
  const bad = (): Coerced => ({ ok: false, message: `must be ${expectation(d)}, got ${JSON.stringify(raw)}` });
  switch (d.type) {
    case 'integer':
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*-?\d+(\.\d+)?(e[+-]?\d+)?\s*$/i.test(raw) ? Number(raw) : NaN;
      if (!Number.isFinite(n) || (d.type === 'integer' && !Number.isInteger(n))) return bad();
      if (d.min !== undefined && n < d.min) return bad();
      if (d.type === 'integer' && d.max !== undefined && n > d.max) return bad();
      return { ok: true, value: n };
    }
    case 'boolean': {
      if (raw === true || raw === 'true' || raw === 'yes' || raw === 1 || raw === '1') return { ok: true, value: true };
      if (raw === false || raw === 'false' || raw === 'no' || raw === 0 || raw === '0') return { ok: true, value: false };
      return bad();
    }
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number') return bad();
      const s = String(raw);
      if (d.choices && !d.choices.includes(s)) return { ok: false, message: `must be ${expectation(d)}, got ${JSON.stringify(raw)}${didYouMean(s, d.choices)}` };
      return { ok: true, value: s };
    }
    case 'string-list': {
      const list = typeof raw === 'string' ? [raw] : raw;
      if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'string' && typeof x !== 'number')) return bad();
      const strs = list.map(String);
      const off = d.choices ? strs.find((s) => !d.choices!.includes(s)) : undefined;
      if (off !== undefined) return { ok: false, message: `must be ${expectation(d)}, got ${JSON.stringify(off)}${didYouMean(off, d.choices!)}` };
      return { ok: true, value: strs };
    }
  }
}

export interface ParamProblem {
  /** The param's name as written. */
  name: string;
  /** 'unknown': the kind declares no such param; 'value': the value is refused. */
  problem: 'unknown' | 'value';
  message: string;
  /** For a refused value: what it must be and what it got ("must be true or false, got 2"). */
  detail?: string;
}

/** Every problem of `params` against a kind's declarations (messages without the location). */
export function paramProblems(kind: string, decls: ParamDecls, params: Record<string, unknown>): ParamProblem[] {
  const out: ParamProblem[] = [];
  const names = Object.keys(decls);
  for (const [name, raw] of Object.entries(params)) {
    const d = decls[name];
    if (!d) {
      const list = names.length ? `its params: ${names.join(', ')}` : 'it takes no params';
      out.push({ name, problem: 'unknown', message: `kind ${kind} has no param "${name}"${didYouMean(name, names)}; ${list}` });
      continue;
    }
    if (absent(raw)) continue;
    const c = coerceParam(d, raw);
    if (!c.ok) out.push({ name, problem: 'value', message: `param ${name} of kind ${kind} ${c.message} (${d.doc})`, detail: c.message });
  }
  return out;
}

/** The declared params among `params`, typed (no defaults: these enter the stage's key as given). */
export function normalizeParams(decls: ParamDecls, params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(params)) {
    const d = decls[name];
    if (!d) continue;
    if (absent(raw)) {
      out[name] = raw;
      continue;
    }
    const c = coerceParam(d, raw);
    out[name] = c.ok ? c.value : raw;
  }
  return out;
}

/**
 * The typed values a kind works with: declared params, defaults applied. Expansion has checked
 * them already; a kind called directly (tests, a plugin host) gets the same check here.
 */
export function readParams<D extends ParamDecls>(kind: string, decls: D, params: Record<string, unknown>, where = `kind ${kind}`): ParamValues<D> {
  const problems = paramProblems(kind, decls, params).filter((p) => p.problem === 'value');
  if (problems.length) throw new Error(`${where}: ${problems.map((p) => `param "${p.name}" ${p.detail}`).join('; ')}`);
  const out: Record<string, unknown> = {};
  for (const [name, d] of Object.entries(decls)) {
    const raw = params[name];
    if (absent(raw)) {
      out[name] = Array.isArray(d.default) ? [...(d.default as string[])] : d.default;
      continue;
    }
    out[name] = (coerceParam(d, raw) as { value: unknown }).value;
  }
  return out as ParamValues<D>;
}

/** `--help` lines: name, type, default and doc of each param. */
export function describeParams(decls: ParamDecls): string[] {
  const rows = Object.entries(decls).map(([name, d]) => {
    const def = d.default === undefined ? '' : ` (default ${Array.isArray(d.default) ? d.default.join(',') : String(d.default)})`;
    return [`${name}=<${d.type}>`, `${d.doc}; ${expectation(d)}${def}`] as const;
  });
  const w = Math.max(0, ...rows.map(([n]) => n.length));
  return rows.map(([n, doc]) => `  ${n.padEnd(w)}  ${doc}`);
}

/** The param declarations of the kinds a pipeline uses (undefined for a kind that declares none). */
export type KindParams = (kind: string) => ParamDecls | undefined;

export async function kindParams(registry: { get(name: string): Promise<{ params?: ParamDecls }> }, kinds: Iterable<string>): Promise<KindParams> {
  const map = new Map<string, ParamDecls | undefined>();
  for (const k of new Set(kinds)) {
    try {
      map.set(k, (await registry.get(k)).params);
    } catch {
      // An unloadable kind is reported where it is used (kindDiagnostics, the plan).
      map.set(k, undefined);
    }
  }
  return (k) => map.get(k);
}
