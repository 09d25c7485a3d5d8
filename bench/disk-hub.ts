// The disk benchmark's fake hub, in a process of its own: the bytes it sends are then not counted
// as the benchmark's writes (/proc/self/io counts socket writes in wchar). Prints its URL, serves
// until stdin closes.
import { startFakeHub } from '../test/support/fake-hub.js';

const [id, dir] = process.argv.slice(2);
const hub = await startFakeHub({ repos: [{ id: id!, dir: dir! }], lfsThreshold: 100_000 });
process.stdout.write(`${hub.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => void hub.close().then(() => process.exit(0)));
