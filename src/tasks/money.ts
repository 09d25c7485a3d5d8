// Money text for crt1, as the paper's Python wrote it: `'${:,.2f}'.format(float(text))`.
// Two pieces of Python semantics matter and JavaScript has neither built in:
// - `float()` accepts surrounding whitespace (py-text.ts: Python's set less \x1c-\x1f), any Unicode decimal digit, `_` between digits, `1e98`, `.5`, `5.`, `inf`,
//   `infinity`, `nan` (any case, with a sign) — and nothing else (no hex, no `,`).
// - `'{:,.2f}'` prints the exact decimal expansion of the double, rounded half-even to cents
//   (0.125 → 0.12, 2.675 → 2.67 because the double is below 2.675), with thousands separators;
//   1e98 prints 99 digits, where `toFixed` would give `1e+98`. inf/nan print as `inf`/`-inf`/`nan`
//   (so the money text is `$inf`, `$-inf`, `$nan`), and a negative amount as `$-1,234.50`.

import { asciiDigits, pyFloatStrip } from './py-text.js';

const FLOAT_RE = /^[+-]?(?:(?:\d(?:_?\d)*)(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const SPECIAL_RE = /^([+-]?)(inf|infinity|nan)$/i;

/** Python's `float(text)`, or null where Python raises ValueError. */
export function parsePyFloat(text: string): number | null {
  const t = asciiDigits(pyFloatStrip(text));
  const special = SPECIAL_RE.exec(t);
  if (special) {
    if (special[2]!.toLowerCase() === 'nan') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (!FLOAT_RE.test(t)) return null;
  return Number(t.replace(/_/g, ''));
}

/** Exact value of a finite double as mantissa · 2^exponent (BigInt mantissa, sign separate). */
function decompose(x: number): { negative: boolean; mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const negative = hi >>> 31 === 1;
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exponent: number;
  if (biased === 0) exponent = -1074; // subnormal
  else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  return { negative, mantissa, exponent };
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Python's `'{:,.2f}'.format(x)`. */
export function formatFixed2(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const { negative, mantissa, exponent } = decompose(x);
  let cents: bigint;
  if (exponent >= 0) cents = mantissa * 100n * (1n << BigInt(exponent));
  else {
    const num = mantissa * 100n;
    const den = 1n << BigInt(-exponent);
    cents = num / den;
    const rem2 = (num - cents * den) * 2n;
    if (rem2 > den || (rem2 === den && cents % 2n === 1n)) cents += 1n;
  }
  const text = cents.toString().padStart(3, '0');
  const body = `${groupThousands(text.slice(0, -2))}.${text.slice(-2)}`;
  // Python keeps the sign of -0.0 and of negatives that round to zero ('-0.00').
  return negative ? `-${body}` : body;
}

/** `$` + the amount with two decimals and thousands separators; `text` may already carry a `$`. */
export function moneyText(value: string | number): string {
  if (typeof value === 'number') return `$${formatFixed2(value)}`;
  // As the paper: a leading `$` is dropped only at the very start (`num.startswith("$")`).
  const parsed = parsePyFloat(value.startsWith('$') ? value.slice(1) : value);
  if (parsed === null) throw new Error(`moneyText: "${value}" is not a number (as Python's float() reads it)`);
  return `$${formatFixed2(parsed)}`;
}

/** The `_alt` option text: the money text without a trailing `.00` (`$20.00` → `$20`, `$0.20` stays). */
export function moneyAlt(money: string): string {
  return money.endsWith('.00') ? money.slice(0, -3) : money;
}

/**
 * A cleaned response that is a number, optionally with one leading `$` (`$4.`, ` 12`, `1e98`),
 * rewritten as money; anything else is returned unchanged.
 */
export function responseAsMoney(cleaned: string): string {
  const parsed = parsePyFloat(cleaned.startsWith('$') ? cleaned.slice(1) : cleaned);
  return parsed === null ? cleaned : `$${formatFixed2(parsed)}`;
}
