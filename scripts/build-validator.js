#!/usr/bin/env node
// Precompiles schema/pipeline.schema.json into dist/src/engine/schema-validator.cjs (ajv standalone
// code), so that `pipeline` does not compile the schema on every start. Run by `npm run build`.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

const root = join(import.meta.dirname, '..');
const text = readFileSync(join(root, 'schema', 'pipeline.schema.json'));
const ajv = new Ajv({ allErrors: true, strict: false, code: { source: true } });
const validate = ajv.compile(JSON.parse(text.toString()));
const code = standaloneCode.default ? standaloneCode.default(ajv, validate) : standaloneCode(ajv, validate);
const out = join(root, 'dist', 'src', 'engine');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'schema-validator.cjs'), `${code}\nmodule.exports.schemaDigest = ${JSON.stringify(createHash('sha256').update(text).digest('hex'))};\n`);
