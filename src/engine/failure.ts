// Failures as data: the union and its carrier are in src/util/failure.ts (below the engine, so
// that src/fetch's FetchError is a StageError too). Here: any thrown value as a Failure.
import { isFailure, type Failure } from '../util/failure.js';
import { fetchCause } from '../fetch/errors.js';

export { failureGroup, isFailure, StageError, type ExecuteCause, type Failure, type FailureReason, type FetchCause } from '../util/failure.js';

/**
 * A thrown value as a Failure; `where` says what was being done when it was thrown. A StageError
 * (FetchError included) carries its own; src/lm's ModelLoadError is recognised by name, never by
 * message (a plugin may bundle its own copy of either: checked by shape).
 */
export function toFailure(e: unknown, where: 'plan' | 'execute'): Failure {
  if (isFailure(e)) return e;
  const carried = e && typeof e === 'object' ? (e as { failure?: unknown }).failure : undefined;
  if (isFailure(carried)) return carried;
  const message = e instanceof Error ? e.message : String(e);
  // A FetchError of an older copy of src/fetch (bundled by a plugin) carries only its code.
  if (e && typeof e === 'object' && (e as { name?: unknown }).name === 'FetchError') {
    const code = (e as { reason?: unknown }).reason;
    const cause = typeof code === 'string' ? fetchCause(code, (e as { cause?: unknown }).cause) : undefined;
    if (cause) return { reason: 'fetch', cause, message };
  }
  if (e && typeof e === 'object' && (e as { name?: unknown }).name === 'ModelLoadError') return { reason: 'load', message };
  if (e && typeof e === 'object' && (e as { name?: unknown }).name === 'AbortError') return { reason: 'cancelled', message: 'interrupted' };
  return where === 'plan' ? { reason: 'plan', message } : { reason: 'execute', cause: 'stage-error', message };
}
