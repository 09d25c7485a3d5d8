// A verb's error turned into words on stderr and an exit code: a located pipeline error or a usage
// error is the user's to fix (exit 2), anything else a failure (exit 1).
import { PipelineError } from '../engine/diagnostics.js';
import { SelectionError } from '../engine/select.js';
import { EXIT, UsageError } from './options.js';

export function reportError(e: unknown, write: (text: string) => void = (t) => void process.stderr.write(t)): number {
  if (e instanceof PipelineError) {
    write(`${e.message}\n`);
    return EXIT.usage;
  }
  if (e instanceof UsageError || e instanceof SelectionError) {
    write(`error: ${e.message}\n`);
    return EXIT.usage;
  }
  write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  if (process.env['PIPELINE_DEBUG']) write(`${(e as Error).stack}\n`);
  return EXIT.failed;
}
