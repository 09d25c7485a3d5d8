// Code keys follow what a kind really runs (issue 12 item 3): its module's import closure inside
// the project, hashed without comments (tokens from acorn's lexer). Counted with a calls log, as in incremental.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stripComments } from '../../src/engine/code-digest.js';
import { KindRegistry } from '../../src/engine/registry.js';
import { Rig } from './rig.js';

test('comments go, strings, templates and regular expressions stay as written', () => {
  const a = stripComments(`// header
import { x } from './a.js'; /* block
   over lines */ const u = "http://not-a-comment"; // trailing
const re = /\\/\\/[/*]x/g, t = \`a \${ '//' + \`\${1 /* in code */}\` } // kept\`;
export * from "./b.js";
const lazy = () => import('./c.js');
const w = new URL('./worker.js', import.meta.url);
const d = 4 / 2 / 1;`);
  assert.deepEqual(a.specifiers, ['./a.js', './b.js', './c.js', './worker.js']);
  assert.ok(a.code.includes('"http://not-a-comment"'));
  assert.ok(a.code.includes('/\\/\\/[/*]x/g'));
  assert.ok(a.code.includes('// kept`'));
  assert.ok(!a.code.includes('header') && !a.code.includes('trailing') && !a.code.includes('over lines') && !a.code.includes('in code'));
  assert.ok(a.code.includes('4 / 2 / 1'));
  // Layout and comments do not matter; a character in a string does.
  const base = stripComments('const a = 1;\nconst b = "x";\n').code;
  assert.equal(stripComments('/** doc */\nconst a = 1; // one\n\n\n  const b = "x";').code.trim(), base.trim());
  assert.notEqual(stripComments('const a = 1;\nconst b = "y";\n').code, base);
});

test('the lexer, not a guess, tells a regex from a division: quotes and // in regexes, ${} in templates, / after )', () => {
  const same = (withComments: string, without: string): void => assert.equal(stripComments(withComments).code, stripComments(without).code, withComments);
  // A regular expression holding a quote, or `//`, is not a string or a comment.
  same('const q = /"[^"]*"/g; // a comment', 'const q = /"[^"]*"/g;');
  same("const s = /'/; /* one */ const t = 1;", "const s = /'/; const t = 1;");
  same('const u = /https?:\\/\\/x/; // c', 'const u = /https?:\\/\\/x/;');
  assert.ok(stripComments('const u = /https?:\\/\\/x/; // c').code.includes('/https?:\\/\\/x/'));
  // After the ) of an if, a / starts a regular expression; after the ) of an expression, a division.
  same('if (ok) /"/.test(s) && f(); // c', 'if (ok) /"/.test(s) && f();');
  same('const x = (a) / 2 / (b); // half of it', 'const x = (a) / 2 / (b);');
  same('const y = f(a) / g(b) /* per */ / h;', 'const y = f(a) / g(b) / h;');
  // A template literal's ${} may hold braces, strings with `}` and `//`, nested templates.
  const t = 'const t = `a ${ { k: "}" }.k } // not a comment ${`${"//"}`}`; // a comment';
  assert.equal(stripComments(t).code, 'const t = `a ${ { k: "}" }.k } // not a comment ${`${"//"}`}`;');
  // Specifiers are read from string tokens only: one in a comment or a template names nothing.
  assert.deepEqual(stripComments("// import x from './no.js'\nconst s = `import('./no2.js')`;\nimport y from './yes.js';").specifiers, ['./yes.js']);
});

test('built-in kinds are keyed by their import closure: import reaches csv-io, score does not reach demo-stimuli', async () => {
  const r = new KindRegistry();
  const rel = (fs: string[]): string[] => fs.map((f) => f.replace(/^.*\/dist\//, ''));
  const imp = rel(await r.codeFiles('import'));
  assert.ok(imp.includes('src/analysis/csv-io.js'), imp.join(' '));
  const score = rel(await r.codeFiles('score'));
  // Behind a dynamic import: the model loader is part of score's key.
  assert.ok(score.includes('src/lm/load.js'), score.join(' '));
  assert.ok(!score.includes('src/tasks/demo-stimuli.js'), score.join(' '));
  // No folder stands for "everything in it" any more.
  assert.ok(score.every((f) => f.endsWith('.js')), score.join(' '));
});

// Two plugin kinds with their own import graph: alpha → lib/shared + lib/a; beta → lib/shared and,
// behind a dynamic import, lib/b.
const kind = (name: string, body: string): string => `// kind ${name}: writes its result and logs that it ran
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base } from './lib/shared.mjs';
${body}
export default {
  name: '${name}',
  description: 'test kind',
  isolation: 'inline',
  outputs: () => [{ name: 'out', type: 'file', materialize: '${name}.txt' }],
  async execute(ctx) {
    appendFileSync(join(ctx.spec.projectDir, 'calls.log'), '${name}\\n');
    writeFileSync(join(ctx.outDir, 'out'), String(base + (await value())));
  },
};
`;

function rig(): Rig {
  const r = new Rig(`plugins: [./alpha.mjs, ./beta.mjs]
stages:
  a:
    uses: alpha
  b:
    uses: beta
`);
  r.write('alpha.mjs', kind('alpha', `import { a } from './lib/a.mjs';\nconst value = async () => a;`));
  r.write('beta.mjs', kind('beta', `const value = async () => (await import('./lib/b.mjs')).b;`));
  r.write('lib/shared.mjs', '// shared by both kinds\nexport const base = 100;\n');
  r.write('lib/a.mjs', 'export const a = 1;\n');
  r.write('lib/b.mjs', '/* b */ export const b = 2;\n');
  r.write('lib/unused.mjs', 'export const u = 3;\n');
  return r;
}

function ran(r: Rig): string[] {
  r.resetCalls();
  const res = r.cli(['run']);
  assert.equal(res.code, 0, res.stderr + res.stdout);
  return r.calls().sort();
}

test('a comment edit re-runs nothing; an edited import re-runs exactly the kinds that reach it', () => {
  const r = rig();
  assert.deepEqual(ran(r), ['alpha', 'beta']);
  // Comments in the kind module and in a shared library; a file nobody imports.
  r.write('alpha.mjs', r.read('alpha.mjs').replace('// kind alpha: writes', '/* a new block */\n// kind alpha (edited comment): writes'));
  r.write('lib/shared.mjs', '// shared by both kinds — reworded\n\nexport const base = 100; // the base\n');
  r.write('lib/unused.mjs', 'export const u = 4;\n');
  assert.deepEqual(ran(r), []);
  // lib/b.mjs is reached only by beta, and only through a dynamic import.
  r.write('lib/b.mjs', '/* b */ export const b = 20;\n');
  const st = JSON.parse(r.cli(['status', '--json']).stdout) as { id: string; state: string; reasons: string[] }[];
  assert.deepEqual(st.map((s) => `${s.id}:${s.state}`), ['a:fresh', 'b:stale']);
  assert.match(st[1]!.reasons.join(), /code of kind beta changed/);
  assert.deepEqual(ran(r), ['beta']);
  assert.equal(r.read('beta.txt'), '120');
  // The shared library is reached by both.
  r.write('lib/shared.mjs', 'export const base = 1000;\n');
  assert.deepEqual(ran(r), ['alpha', 'beta']);
  assert.equal(r.read('alpha.txt'), '1001');
});
