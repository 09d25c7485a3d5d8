// --json: one JSON object per event, one per line, for tools.
import type { EngineEvent, Reporter } from '../../engine/events.js';

export function jsonReporter(out: (line: string) => void): Reporter {
  return (e: EngineEvent) => out(JSON.stringify({ ...e, time: new Date().toISOString() }));
}
