// Errors name the user's files, not the store's: a stage reads its inputs from objects
// (cache/objects/ab/…) and checked-out trees (cache/trees/<digest>/…), so a message a task writes
// about its stimuli or checkpoint would name those. Each such path is replaced by where the bytes
// came from — the file the fetch stage read (its recorded `resolved.from` / `resolved.path`) —
// or else the working-tree copy (external_stimuli/crt/stimuli.csv).
import type { StageInput } from '../kind.js';

function origin(info: Record<string, unknown>): string | undefined {
  const r = info['resolved'];
  if (typeof r !== 'object' || r === null) return undefined;
  const { from, path } = r as { from?: unknown; path?: unknown };
  return typeof from === 'string' ? from : typeof path === 'string' ? path : undefined;
}

export function userPaths(message: string, inputs: StageInput[]): string {
  let out = message;
  for (const inp of inputs) {
    const outputs = Object.values(inp.outputs);
    for (const o of outputs) {
      // A stage with one output recorded where it came from; otherwise name the working copy.
      const label = (outputs.length === 1 ? origin(inp.info) : undefined) ?? o.materialized;
      if (label && o.path) out = out.split(o.path).join(label);
    }
  }
  return out;
}
