// The disk benchmark's fake hub, in a process of its own: the bytes it sends are then not counted
// as the benchmark's writes (/proc/self/io counts socket writes in wchar). It lists every revision
// once before it prints its URL (the fake hub hashes each file when first listed: seconds per GB,
// which would otherwise pass the client's first-byte deadline), then serves until stdin closes.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeHub } from '../test/support/fake-hub.js';

const [id, dir] = process.argv.slice(2);
const hub = await startFakeHub({ repos: [{ id: id!, dir: dir! }], lfsThreshold: 100_000 });
for (const rev of readdirSync(join(dir!, 'revisions'))) {
  const res = await fetch(`${hub.url}/api/models/${id}/revision/${encodeURIComponent(rev)}?blobs=true`);
  if (!res.ok) throw new Error(`the fake hub could not list ${rev}: HTTP ${res.status}`);
  await res.arrayBuffer();
}
hub.requests.length = 0;
process.stdout.write(`${hub.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => void hub.close().then(() => process.exit(0)));
