// JSON read from a checkpoint file (an index, a safetensors header, config.json, tokenizer.json):
// bounded in size before it is read, and a parse error says where it failed but never quotes the
// text (V8's messages include an excerpt of the input, which may be any file's content).

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
