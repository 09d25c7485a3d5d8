// A reporter's standard output: the lines of one turn of the event loop go out in one write. A
// run of many small stages prints a line as one stage ends and another as the next starts, and
// each write to a pipe wakes its reader (a CI log, a test) — on a loaded machine, a time slice.

/** Every writer's flush, for process.exit() in the same turn (one listener for them all). */
const flushes = new Set<() => void>();
let hooked = false;

export function lineWriter(stream: NodeJS.WritableStream = process.stdout): (line: string) => void {
  let pending: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    stream.write(text);
  };
  flushes.add(flush);
  if (!hooked) {
    hooked = true;
    // What was said still goes out (stdout writes are synchronous for files, pipes and terminals on Linux).
    process.on('exit', () => flushes.forEach((f) => f()));
  }
  return (line) => {
    pending.push(line + '\n');
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
