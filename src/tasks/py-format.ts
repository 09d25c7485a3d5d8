// Cell formatting that reproduces how the paper's Python code (pandas `to_csv`, `str(list)`,
// `str(np.array)`) wrote values, so that our CSVs can be compared with the paper's byte for byte
// and read by its pandas/R analysis scripts unchanged.

/** A formatted cell: the exact text, or null for an empty cell (pandas writes None/NaN as ''). */
export type Cell = string | null;

/**
 * Python's `repr(float)`: the shortest string that round-trips (JavaScript finds the same digits),
 * laid out as Python does — positional for decimal exponents -4..15, scientific otherwise with a
 * signed, at least two-digit exponent, and `.0` on integral values.
 */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mant, expText] = Math.abs(x).toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const digits = mant.replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intLen = exp + 1;
  if (digits.length <= intLen) return `${sign}${digits}${'0'.repeat(intLen - digits.length)}.0`;
  return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}

/** A float cell: pandas writes NaN as an empty cell, everything else as repr. */
export function floatCell(x: number | null | undefined): Cell {
  if (x === null || x === undefined || Number.isNaN(x)) return null;
  return pyFloat(x);
}

export function intCell(x: number | null | undefined): Cell {
  if (x === null || x === undefined) return null;
  if (!Number.isInteger(x)) throw new Error(`intCell: ${x} is not an integer`);
  return String(x);
}

/** Python booleans as pandas writes them (R compares `== "True"`). */
export function boolCell(x: boolean | null | undefined): Cell {
  if (x === null || x === undefined) return null;
  return x ? 'True' : 'False';
}

/** Python's `repr(str)`: single quotes unless the text has a single quote and no double quote. */
export function pyStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** `str(list_of_floats)`: `[-1.5, 0.0, nan]`. */
export function pyFloatList(xs: readonly number[]): string {
  return `[${xs.map(pyFloat).join(', ')}]`;
}

/** `str(list_of_ints)`: `[6, 9]`. */
export function pyIntList(xs: readonly number[]): string {
  return `[${xs.map((x) => String(x)).join(', ')}]`;
}

/** `str(list_of_str)`: `['correct', 'intuitive']`. */
export function pyStrList(xs: readonly string[]): string {
  return `[${xs.map(pyStr).join(', ')}]`;
}

/** `str(np.array(ints))` for the short arrays of digit matrices: `[6 4 1]`, `[]`. */
export function npIntArray(xs: readonly number[]): string {
  // numpy pads every element to the widest one (`[ 1 10]`); digits are one wide except -1.
  const texts = xs.map((x) => String(x));
  const width = Math.max(0, ...texts.map((t) => t.length));
  return `[${texts.map((t) => t.padStart(width, ' ')).join(' ')}]`;
}
