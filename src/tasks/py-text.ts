// Python's whitespace, exactly, for every place the paper's code called str.strip(), str.split()
// (no separator), str.isspace() or float() on generated text. JavaScript's \s and trim() differ:
// they miss \x1c-\x1f and \x85 and add \ufeff, so a generation ending in \x1e would keep it here
// where Python removed it.

/** Every code point for which Python's str.isspace() is true (also what strip() and split() remove). */
export const PY_WHITESPACE: readonly number[] = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];

const SPACE_SET = new Set(PY_WHITESPACE);

// float() maps non-ASCII whitespace to ' ' and then skips C's isspace (\t\n\v\f\r and space) at
// both ends, so \x1c-\x1f — whitespace to str.isspace() — make float() fail.
const FLOAT_SPACE_SET = new Set(PY_WHITESPACE.filter((c) => c < 0x1c || c > 0x1f));

/** Python's `ch.isspace()` for one code point (a one-character string). */
export function pyIsSpace(ch: string): boolean {
  return ch.length > 0 && SPACE_SET.has(ch.codePointAt(0)!) && String.fromCodePoint(ch.codePointAt(0)!) === ch;
}

function stripWith(text: string, set: ReadonlySet<number>): string {
  let start = 0;
  let end = text.length;
  // Every code point in these sets is in the BMP, so UTF-16 units suffice.
  while (start < end && set.has(text.charCodeAt(start))) start++;
  while (end > start && set.has(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/** Python's `text.strip()`. */
export function pyStrip(text: string): string {
  return stripWith(text, SPACE_SET);
}

/** The whitespace float() ignores around a number (Python's str.strip() less \x1c-\x1f). */
export function pyFloatStrip(text: string): string {
  return stripWith(text, FLOAT_SPACE_SET);
}

/** Python's `text.split()`: runs of whitespace separate, none at either end, no empty pieces. */
export function pySplit(text: string): string[] {
  const pieces: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (SPACE_SET.has(text.charCodeAt(i))) {
      if (current !== '') pieces.push(current);
      current = '';
    } else current += text[i];
  }
  if (current !== '') pieces.push(current);
  return pieces;
}

const ND = /\p{Nd}/u;

/**
 * float() reads any Unicode decimal digit as its ASCII digit ('٣' is 3). Decimal digits come in
 * runs of ten starting at zero, so a digit's value is its offset in its run, modulo 10.
 */
export function asciiDigits(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80 || !ND.test(ch)) {
      out += ch;
      continue;
    }
    let start = cp;
    while (ND.test(String.fromCodePoint(start - 1))) start--;
    out += String((cp - start) % 10);
  }
  return out;
}
