// A model worker: a separate process that keeps its loaded model in processCache and executes every
// stage the scheduler hands it (a crash of the native runtime fails one stage, not the run).
import { executeInvocation } from './exec-stage.js';
import type { Invocation } from './executor.js';
import { toFailure } from './failure.js';
import { KindRegistry } from './registry.js';

interface ExecMessage {
  type: 'exec';
  inv: Invocation;
  gpus: string[];
  cpus: number;
}

const registry = new KindRegistry();
const processCache = new Map<string, unknown>();
const send = (m: unknown): void => {
  process.send?.(m);
};

process.on('disconnect', () => process.exit(0));
process.on('message', (m: ExecMessage) => {
  if (m.type !== 'exec') return;
  const ac = new AbortController();
  executeInvocation(m.inv, {
    registry,
    processCache,
    signal: ac.signal,
    onLog: (line) => send({ type: 'log', line }),
    onProgress: (progress) => send({ type: 'progress', progress }),
    executor: 'local-worker',
    gpus: m.gpus,
    cpus: m.cpus,
  }).then(
    (record) => send({ type: 'done', record }),
    (e: unknown) => send({ type: 'failed', failure: toFailure(e, 'execute') }), // the StageError's Failure, as plain data
  );
});
send({ type: 'ready' });
