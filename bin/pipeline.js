#!/usr/bin/env node
// The `pipeline` command. The TypeScript sources are compiled by `npm ci` (the prepare script).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('pipeline: the compiled sources are missing (dist/). Run `npm ci` or `npm run build` in the project folder.\n');
  process.exit(2);
}
const { main } = await import(pathToFileURL(entry).href);
await main(process.argv);
