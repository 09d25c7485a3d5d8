// The quickstart's report in a real browser (Debian's headless Chromium, driven by puppeteer-core):
// the numbers shown equal the figure CSVs, a figure point leads to its items, the per-token
// log-probabilities shown equal requests.jsonl, filters and keyboard work, stale stages are marked,
// the server rebuilds after a run, and screenshots are saved (docs/report.md shows them).
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { parseCsv, type Table } from '../../src/analysis/csv-io.js';
import { serveReport } from '../../src/report/server.js';
import { REPO, Rig } from '../engine/rig.js';

const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
/** Screenshots go here; with UPDATE_DOCS_SCREENSHOTS=1 they are also copied into docs/report/. */
const OUT = process.env['REPORT_TEST_OUT'] ?? join(REPO, 'dist', 'test-output', 'report');
const LIMIT = ['--set', 'limit=4'];

let rig: Rig;
let browser: Browser;
let site: string;

function csv(rel: string): Table {
  return parseCsv(rig.read(rel), rel);
}

async function shot(page: Page, name: string, full = false): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: full });
  if (process.env['UPDATE_DOCS_SCREENSHOTS'] === '1') {
    mkdirSync(join(REPO, 'docs', 'report'), { recursive: true });
    copyFileSync(join(OUT, `${name}.png`), join(REPO, 'docs', 'report', `${name}.png`));
  }
}

async function open(hash = ''): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  (page as unknown as { errors: string[] }).errors = errors;
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(pathToFileURL(join(site, 'index.html')).href + hash);
  await page.waitForSelector('body[data-ready]');
  return page;
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-chromium.sh (node scripts/run-tests.js report does)`);
  rig = new Rig();
  copyFileSync(join(REPO, 'examples', 'quickstart', 'pipeline.yaml'), join(rig.dir, 'pipeline.yaml'));
  const run = rig.cli(['run', ...LIMIT]);
  assert.equal(run.code, 0, run.stderr + run.stdout.slice(-2000));
  const rep = rig.cli(['report', ...LIMIT, '--compare', 'step100-demo']);
  assert.equal(rep.code, 0, rep.stderr);
  assert.match(rep.stdout, /report: report\/index\.html \(53 stages, 20 score stages, \d+ items/);
  site = join(rig.dir, 'report');
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--allow-file-access-from-files'] });
});

after(async () => {
  await browser?.close();
});

test('report: every number in the overview tables equals the figure CSVs', { timeout: 120_000 }, async () => {
  const page = await open();
  await page.waitForSelector('figure[data-figure="crt_by_method"][data-ready]');
  let checked = 0;
  for (const [domain, tasks] of [['digit_mat', 'digit_mat'], ['crt', 'crt'], ['lambada', 'lambada'], ['syntax', 'blimp+dgl']] as const) {
    for (const fig of ['by_method', 'training_time']) {
      const rel = `figures/${domain}_${fig}.csv`;
      if (!rig.exists(rel)) continue;
      for (const r of csv(rel).rows) {
        const rev = fig === 'training_time' ? String(r['revision']) : '';
        const sel = `table.results[data-domain="${domain}"] tr[data-figure="${fig}"][data-model="${String(r['model'])}"][data-revision="${rev}"][data-task="${tasks}"][data-method="${String(r['eval_method'])}"]`;
        const shown = await page.$eval(sel, (tr) => ({
          mean: tr.querySelector('td.mean')!.getAttribute('data-value'), text: tr.querySelector('td.mean')!.textContent,
          low: tr.querySelector('td.ci')!.getAttribute('data-low'), high: tr.querySelector('td.ci')!.getAttribute('data-high'), n: tr.querySelector('td.n')!.textContent,
        }));
        assert.equal(Number(shown.mean), Number(r['mean']), `${sel} mean`);
        assert.equal(shown.text, Number(r['mean']).toFixed(3), `${sel} shown`);
        assert.equal(Number(shown.low), Number(r['ci_low']), `${sel} ci_low`);
        assert.equal(Number(shown.high), Number(r['ci_high']), `${sel} ci_high`);
        assert.equal(shown.n, String(r['n']), `${sel} n`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 30, `only ${checked} rows checked`);
  await shot(page, 'overview');
  // Hovering a bar shows model, size, revision, method, value, CI and item count (vega-tooltip).
  // Off the bar's centre: the CI rule drawn over it carries no tooltip.
  const bars = await page.$$('figure[data-figure="crt_by_method"] .mark-rect.role-mark path');
  const boxes = await Promise.all(bars.map((b) => b.boundingBox()));
  const i = boxes.reduce((best, b, j) => ((b?.height ?? 0) > (boxes[best]?.height ?? 0) ? j : best), 0);
  assert.ok((boxes[i]?.height ?? 0) > 4, 'a crt bar with height');
  await bars[i]!.scrollIntoView();
  const tall = (await bars[i]!.boundingBox())!;
  await page.mouse.move(tall.x + tall.width * 0.25, tall.y + tall.height * 0.75);
  const vgTip = await page.waitForSelector('#vg-tooltip-element.visible');
  const tipText = await vgTip!.evaluate((e) => e.textContent ?? '');
  for (const k of ['model', 'Demo-GPT', 'size (B params)', 'revision', 'main', 'method', 'value', 'CI low', 'CI high', 'items']) assert.ok(tipText.includes(k), `tooltip lacks ${k}: ${tipText}`);
  assert.equal(await page.$('#not-current'), null, 'a fresh pipeline shows no stale warning');
  await shot(page, 'tooltip');
  assert.deepEqual((page as unknown as { errors: string[] }).errors, []);
  await page.close();
});

test('report: a figure point leads to its items, and the per-token log-probabilities equal requests.jsonl', { timeout: 120_000 }, async () => {
  const page = await open('#/domain/lambada');
  await page.waitForSelector('figure[data-figure="lambada_training_time"][data-ready]');
  // The first point of the training-time curve (a vega symbol mark): click it as a user would.
  const point = await page.waitForSelector('figure[data-figure="lambada_training_time"] .mark-symbol.role-mark path');
  await point!.click();
  await page.waitForSelector('main[data-items-ready]');
  const hash = await page.evaluate(() => location.hash);
  assert.match(hash, /^#\/items\/\d+\?method=(direct|meta)$/);
  const heading = await page.$eval('main h2', (e) => e.textContent ?? '');
  assert.match(heading, /Demo-GPT 4M @ step\d+-demo · lambada/);
  const stage = await page.$eval('main p a[href^="#/stage/"]', (a) => a.textContent ?? '');
  assert.match(stage, /^score\/lambada\/demo-gpt-large@step\d+-demo$/);

  // requests.jsonl of that stage, from the store (as `pipeline inspect` finds it).
  const insp = rig.cli(['inspect', stage, '--json', ...LIMIT]);
  assert.equal(insp.code, 0, insp.stderr);
  const reqPath = (JSON.parse(insp.stdout) as { outputPaths: Record<string, string> }).outputPaths['requests']!;
  const requests = readFileSync(reqPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

  const first = await page.$eval('details.item', (d) => d.getAttribute('data-item'));
  await page.click('details.item summary');
  const shown = await page.$$eval('details.item:first-of-type .req.conditional', (els) => els.map((e) => ({
    sum: Number(e.querySelector('.sum')!.getAttribute('data-value')),
    lps: [...e.querySelectorAll('.tok')].map((t) => Number(t.getAttribute('data-lp'))),
    text: [...e.querySelectorAll('.tok')].map((t) => t.firstChild!.textContent).join(''),
  })));
  const expected = requests.filter((r) => r['item'] === first && r['kind'] === 'conditional');
  assert.ok(expected.length > 0);
  assert.deepEqual(shown.map((s) => s.lps), expected.map((r) => r['token_logprobs']));
  assert.deepEqual(shown.map((s) => s.sum), expected.map((r) => r['logprob']));
  // Tokens are decoded with the model's tokenizer: together they spell separator + continuation.
  assert.deepEqual(shown.map((s) => s.text), expected.map((r) => `${String(r['separator'])}${String(r['continuation'])}`));

  // The value is not carried by colour alone: focusing a token (keyboard) shows it.
  await page.focus('details.item:first-of-type .tok');
  const tip = await page.$eval('details.item:first-of-type .tok .tip', (t) => ({ display: getComputedStyle(t).display, text: t.textContent }));
  assert.equal(tip.display, 'block');
  assert.equal(tip.text, `log p = ${(expected[0]!['token_logprobs'] as number[])[0]!.toFixed(4)}`);
  await shot(page, 'items');
  await page.close();
});

test('report: filters, labelled controls and keyboard navigation', { timeout: 120_000 }, async () => {
  const page = await open('#/domain/crt');
  // Keyboard: focus the first accuracy link of the crt table and press Enter.
  await page.focus('table.results[data-domain="crt"] td.mean a');
  await page.keyboard.press('Enter');
  await page.waitForSelector('main[data-items-ready]');
  const unlabelled = await page.$$eval('main select, main input', (els) => els.filter((e) => (e as HTMLInputElement).labels?.length === 0).map((e) => e.id));
  assert.deepEqual(unlabelled, []);
  // "Methods disagree": the count equals the items whose two methods differ in the long table.
  const title = await page.$eval('main h2', (e) => e.textContent ?? '');
  const m = /Items: (.+) · crt \/ (crt\d)/.exec(title);
  assert.ok(m, title);
  const byItem = new Map<string, Set<string>>();
  for (const r of csv('processed_data/crt_long_size.csv').rows) {
    if (r['model'] !== m[1] || r['condition'] !== m[2]) continue;
    byItem.set(String(r['item_id']), (byItem.get(String(r['item_id'])) ?? new Set()).add(String(r['response_correct'])));
  }
  const disagree = [...byItem.values()].filter((s) => s.size > 1).length;
  await page.select('#f-method', '');
  await page.click('#f-disagree');
  const status = await page.$eval('#items-status', (e) => e.textContent ?? '');
  assert.match(status, new RegExp(`^${disagree} of ${byItem.size} items`));
  // Search narrows to items whose text contains the word.
  await page.click('#f-disagree');
  await page.type('#f-search', 'kettle');
  const found = await page.$$eval('details.item', (d) => d.length);
  assert.equal(found, 1);
  await page.close();
});

test('report: provenance, dark theme and the revision comparison', { timeout: 120_000 }, async () => {
  const page = await open('#/stage/score/lambada/demo-gpt-large');
  const text = await page.$eval('main', (e) => e.textContent ?? '');
  for (const s of ['The run that made the current outputs', 'model id', 'demo/demo-gpt-large', 'checkpoint digest', 'code digest', 'why it ran', 'first run of this stage', 'limit']) assert.ok(text.includes(s), s);
  await shot(page, 'provenance');
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
  await page.goto(pathToFileURL(join(site, 'index.html')).href + '#/domain/crt');
  await page.waitForSelector('figure[data-figure="crt_by_method"][data-ready]');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(22, 24, 28)');
  await shot(page, 'overview-dark');
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  await page.goto(pathToFileURL(join(site, 'index.html')).href + '#/compare');
  await page.waitForFunction(() => document.querySelectorAll('section.cmp table').length === 2);
  const diffs = await page.$$eval('section.cmp td.diff', (d) => d.length);
  assert.ok(diffs > 0, 'lambada log-probabilities differ between checkpoints');
  await shot(page, 'compare');
  await page.close();
});

test('report: stale stages are marked and not shown as results; a missing store is a clear error', { timeout: 120_000 }, async () => {
  // Another limit makes every score stage stale: the report says so and shows no table.
  const stale = rig.cli(['report', '--set', 'limit=3', '-o', 'report-stale']);
  assert.equal(stale.code, 0, stale.stderr);
  const page = await browser.newPage();
  await page.goto(pathToFileURL(join(rig.dir, 'report-stale', 'index.html')).href);
  await page.waitForSelector('body[data-ready]');
  const warn = await page.$eval('#not-current', (e) => e.textContent ?? '');
  assert.match(warn, /^\d+ stages are not current/);
  assert.equal(await page.$('td.mean'), null);
  const listed = await page.$eval('ul.problems', (e) => e.textContent ?? '');
  assert.match(listed, /stale.*param limit: 4 → 3/);
  await shot(page, 'stale');
  await page.close();

  const empty = new Rig();
  copyFileSync(join(REPO, 'examples', 'quickstart', 'pipeline.yaml'), join(empty.dir, 'pipeline.yaml'));
  const usage = empty.cli(['report', '--port', '8080']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--port goes with --serve/);
  const r = empty.cli(['report']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no results to report: the store .*cache has no run records \(missing or empty\); run `npx pipeline run -f pipeline.yaml` first/);
});

test('report --serve: serves on 127.0.0.1 and rebuilds when a run finishes', { timeout: 180_000 }, async () => {
  const srv = await serveReport({ engine: { file: join(rig.dir, 'pipeline.yaml'), overrides: { limit: '4' } }, out: join(rig.dir, 'report-served'), port: 0, log: () => {} });
  try {
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await fetch(srv.url);
    assert.equal(index.status, 200);
    assert.match(await index.text(), /Experiment report/);
    assert.equal((await fetch(new URL('../../etc/passwd', srv.url))).status, 404);
    const before = (await (await fetch(new URL('data/report.js', srv.url))).text()).match(/"generatedAt":"([^"]+)"/)![1];
    const rebuilt = srv.nextBuild();
    const run = await rig.cliAsync(['run', ...LIMIT, '--force', 'plot-data/crt']);
    assert.equal(run.code, 0, run.stderr);
    await rebuilt;
    const after = (await (await fetch(new URL('data/report.js', srv.url))).text()).match(/"generatedAt":"([^"]+)"/)![1];
    assert.notEqual(after, before);
  } finally {
    srv.close();
  }
});

test('report stage: a pipeline produces the site as its last stage', { timeout: 180_000 }, async () => {
  rig.write('pipeline.yaml', `${rig.read('pipeline.yaml')}
  report:
    uses: report
    needs: [plot-data]
    params: { out: site-from-stage }
`);
  const r = rig.cli(['run', ...LIMIT, '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
  assert.deepEqual(Rig.ran(r), ['report']);
  const page = await browser.newPage();
  await page.goto(pathToFileURL(join(rig.dir, 'site-from-stage', 'index.html')).href + '#/domain/crt');
  await page.waitForSelector('body[data-ready]');
  const row = csv('figures/crt_by_method.csv').rows[0]!;
  const shown = await page.$eval(`tr[data-figure="by_method"][data-model="${String(row['model'])}"][data-method="${String(row['eval_method'])}"] td.mean`, (td) => td.getAttribute('data-value'));
  assert.equal(Number(shown), Number(row['mean']));
  assert.equal(await page.$('#not-current'), null);
  await page.close();
});

test('report: a failed stage is shown as failed, with its message, on the page', { timeout: 120_000 }, async () => {
  const small = new Rig(`stages:
  ok:
    run: echo ok > out.txt
    outs: [out.txt]
  bad:
    run: echo broken >&2; exit 3
    outs: [bad.txt]
`);
  const run = small.cli(['run', '--keep-going']);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const rep = small.cli(['report']);
  assert.equal(rep.code, 0, rep.stderr);
  const page = await browser.newPage();
  await page.goto(pathToFileURL(join(small.dir, 'report', 'index.html')).href + '#/stages');
  await page.waitForSelector('body[data-ready]');
  const states = await page.$$eval('tr[data-state]', (trs) => trs.map((tr) => [tr.querySelector('th')!.textContent, tr.getAttribute('data-state'), tr.lastElementChild!.textContent]));
  assert.deepEqual(states.map((s) => s.slice(0, 2)), [['ok', 'fresh'], ['bad', 'failed']]);
  assert.match(String(states[1]![2]), /failed last time: .*exit/);
  assert.match(await page.$eval('#not-current', (e) => e.textContent ?? ''), /^1 stage is not current/);
  // Why a stage last ran: its fingerprint against the run before it, as `status` words it.
  assert.match(await page.$eval('tr[data-state="fresh"] td:last-child', (e) => e.textContent ?? ''), /^first run of this stage in this store$/);
  small.write('pipeline.yaml', small.read('pipeline.yaml').replace('echo ok > out.txt', 'echo ok again > out.txt'));
  assert.equal(small.cli(['run', '--keep-going']).code, 1);
  assert.equal(small.cli(['report']).code, 0);
  await page.goto(pathToFileURL(join(small.dir, 'report', 'index.html')).href + '?rebuilt#/stage/ok');
  await page.waitForSelector('body[data-ready]');
  const why = await page.$$eval('dl.kv dt', (dts) => dts.find((d) => d.textContent === 'why it ran')?.nextElementSibling?.textContent ?? '');
  assert.match(why, /echo ok > out\.txt.*→.*echo ok again > out\.txt/);
  await page.close();
});
