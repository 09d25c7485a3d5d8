// The benchmarks rewrite their own section of docs/bench-lm.md and nothing else: a section in the
// middle keeps what follows it (score-bench once dropped the end-to-end section below its own).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { writeSection } from '../../bench/score-bench.js';

test('writeSection replaces one section and keeps the ones before and after it', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-sections-'));
  try {
    const file = path.join(dir, 'bench.md');
    writeFileSync(file, '# Title\n\nintro\n\n## Scoring graph\n\nold\n\n### sub\n\nold sub\n\n## End to end\n\nkept\n');
    writeSection(file, '## Scoring graph', '## Scoring graph\n\nnew\n');
    assert.equal(readFileSync(file, 'utf8'), '# Title\n\nintro\n\n## Scoring graph\n\nnew\n\n## End to end\n\nkept\n');
    // The last section: nothing after it to keep; a missing one is appended.
    writeSection(file, '## End to end', '## End to end\n\nnewer\n');
    assert.equal(readFileSync(file, 'utf8'), '# Title\n\nintro\n\n## Scoring graph\n\nnew\n\n## End to end\n\nnewer\n');
    writeSection(file, '## Disk', '## Disk\n\nd\n');
    assert.match(readFileSync(file, 'utf8'), /newer\n\n## Disk\n\nd\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
