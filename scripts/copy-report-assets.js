#!/usr/bin/env node
// Copies the report page's own files (src/report/assets: browser script and styles, not compiled
// by tsc) to dist/src/report/assets, where the compiled report module looks first. Run by `npm run build`.
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const to = join(root, 'dist', 'src', 'report', 'assets');
mkdirSync(to, { recursive: true });
cpSync(join(root, 'src', 'report', 'assets'), to, { recursive: true });
