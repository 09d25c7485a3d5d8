// The installed version of an npm package (found by walking up from its resolved entry point to its
// own package.json), for keys: the libraries whose versions change a kind's numbers.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const req = createRequire(import.meta.url);

/** The version, or 'missing' when the package is not installed (which keys apart too). */
export function installedVersion(lib: string): string {
  try {
    let dir = dirname(req.resolve(lib));
    for (let i = 0; i < 6; i++, dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === lib && pkg.version) return pkg.version;
      } catch {
        /* no package.json here: keep walking up */
      }
    }
  } catch {
    /* not installed */
  }
  return 'missing';
}
