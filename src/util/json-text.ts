// JSON read from a file that came from outside (an index, a safetensors header, config.json,
// tokenizer.json): bounded in size before it is read, and a parse error says where it failed but never quotes the
// text (V8's messages include an excerpt of the input, which may be any file's content).

import { readFileSync, statSync } from 'node:fs';

/** V8's JSON.parse message without its excerpt of the input: "not valid JSON (at position N)". */
export function jsonErrorSummary(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const pos = /position (\d+)/.exec(msg);
  if (/Unexpected end of JSON input/.test(msg)) return 'not valid JSON (it ends too early)';
  return pos ? `not valid JSON (error at position ${pos[1]})` : 'not valid JSON';
}

/** Parse `text`; on failure throw `fail(summary)` (a summary without any of the text). */
export function parseJsonText(text: string, fail: (summary: string) => Error): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw fail(jsonErrorSummary(err));
  }
}

/** Read and parse a JSON file of at most `maxBytes`; errors name the file, never its text. */
export function readJsonFile(file: string, maxBytes: number, fail: (detail: string) => Error): unknown {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw fail(`${file} cannot be read`);
  }
  if (size > maxBytes) throw fail(`${file} has ${size} bytes, more than the ${maxBytes} read`);
  return parseJsonText(readFileSync(file, 'utf8'), (why) => fail(`${file} is ${why}`));
}
