// The report page: overview per domain (figures from plot-data's series, the table of every
// model × task × method), the items behind each number (loaded on demand, paginated, filtered),
// each stage's provenance and revision comparisons. Plain browser script, no build step; every
// string from the data goes through text nodes, never innerHTML.
/* global vegaEmbed */ // loaded on demand by ensureVega()
(function () {
  'use strict';
  const R = window.REPORT;
  const PAGE = 50;
  const main = document.getElementById('main');

  // ---- helpers ------------------------------------------------------------------------------
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids.flat()) if (k !== undefined && k !== null && k !== false) el.append(k instanceof Node ? k : String(k));
    return el;
  }
  const fmt = (x, d = 3) => (x === null || x === undefined || Number.isNaN(Number(x)) ? '—' : Number(x).toFixed(d));
  const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const short = (d) => (typeof d === 'string' && d.length > 16 ? d.slice(0, 12) + '…' : d || '—');
  const stageById = new Map(R.stages.map((s) => [s.id, s]));
  const stageLink = (id) => h('a', { href: '#/stage/' + encodeURIComponent(id) }, id);
  function badge(state) {
    return h('span', { class: 'badge ' + state, role: 'status' }, state === 'fresh' ? 'current' : state);
  }
  function setTitle(s) {
    return `${s.display}${s.revision ? ' @ ' + s.revision : ''} · ${s.task}${s.condition ? ' / ' + s.condition : ''}`;
  }

  // ---- scripts and item data, loaded on demand through <script> (works from file://) --------
  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const el = h('script', { src });
      el.onload = () => resolve();
      el.onerror = () => reject(new Error('could not load ' + src));
      document.body.append(el);
    });
  }
  let vegaLoading;
  // vega is needed by the figures only: the items pages open without parsing it.
  function ensureVega() {
    vegaLoading = vegaLoading || ['assets/vega.min.js', 'assets/vega-lite.min.js', 'assets/vega-embed.min.js'].reduce((p, src) => p.then(() => loadScript(src)), Promise.resolve());
    return vegaLoading;
  }

  // An item set arrives in chunks (data/items/<n>-<k>.js): `first` resolves with the set as soon as
  // chunk 0 is in (its items array grows as the others arrive), `done` when every chunk is.
  const sets = new Map();
  window.__reportItems = function (part) {
    const e = sets.get(part.index);
    if (!e) return;
    e.parts[part.chunk] = part.items;
    if (!e.set) {
      e.set = { index: part.index, stage: part.stage, columns: part.columns, items: [], complete: false };
    }
    if (part.chunk === 0) e.resolveFirst(e.set);
    if (e.parts.filter(Boolean).length === part.chunks) {
      e.set.items = e.parts.flat();
      e.set.complete = true;
      e.resolveDone(e.set);
    } else if (part.chunk === 0) e.set.items = part.items.slice();
  };
  function loadItems(i) {
    const meta = R.itemSets[i];
    if (!meta || !meta.file) return { first: Promise.reject(new Error('no fresh results for this stage')), done: Promise.reject(new Error('no fresh results')) };
    let e = sets.get(i);
    if (!e) {
      e = { parts: [], set: null };
      e.first = new Promise((res) => { e.resolveFirst = res; });
      e.done = new Promise((res) => { e.resolveDone = res; });
      sets.set(i, e);
      const fail = (err) => { e.error = err; };
      // Chunk 0 first (the first page), then the rest in order.
      loadScript(`data/items/${i}-0.js`).then(() => {
        let p = Promise.resolve();
        for (let k = 1; k < meta.chunks; k++) p = p.then(() => loadScript(`data/items/${i}-${k}.js`));
        return p;
      }).catch(fail);
    }
    return { first: e.first, done: e.done };
  }

  // ---- navigation ---------------------------------------------------------------------------
  function nav() {
    const n = document.getElementById('nav');
    n.replaceChildren(h('a', { href: '#/' }, 'Overview'), ...R.domains.map((d) => h('a', { href: '#/domain/' + d.name }, d.title)),
      h('a', { href: '#/stages' }, 'Stages'), ...(R.compare ? [h('a', { href: '#/compare' }, 'Compare ' + R.compare.revision)] : []));
  }

  function route() {
    const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
    const [path, query] = hash.split('?');
    const q = new URLSearchParams(query || '');
    const parts = path.split('/');
    main.replaceChildren();
    if (parts[0] === 'items') itemsView(Number(parts[1]), q);
    else if (parts[0] === 'stage') stageView(parts.slice(1).join('/'));
    else if (parts[0] === 'stages') stagesView();
    else if (parts[0] === 'compare') compareView();
    else overview(parts[0] === 'domain' ? parts[1] : undefined);
    main.focus({ preventScroll: true });
  }

  // ---- overview -----------------------------------------------------------------------------
  function summary() {
    const c = R.counts;
    const bad = R.stages.filter((s) => s.state !== 'fresh');
    const box = h('section', { class: 'summary', 'aria-label': 'Pipeline state' },
      h('p', {}, `${R.pipeline} · ${R.stages.length} stages: `, Object.entries(c).map(([k, v]) => h('span', { class: 'badge ' + k }, `${v} ${k}`)), ` · built ${R.generatedAt}`));
    if (bad.length) {
      box.classList.add('warn');
      box.append(h('p', { id: 'not-current' }, `${bad.length} stage${bad.length === 1 ? ' is' : 's are'} not current: numbers they would produce are not shown as results.`),
        h('ul', { class: 'problems' }, bad.slice(0, 30).map((s) => h('li', {}, badge(s.state), ' ', stageLink(s.id), ': ', s.reasons.join('; ')))),
        bad.length > 30 ? h('p', {}, h('a', { href: '#/stages' }, `and ${bad.length - 30} more`)) : null);
    }
    return box;
  }

  function overview(only) {
    main.append(summary());
    for (const d of R.domains) if (!only || d.name === only) main.append(domainSection(d));
  }

  function domainSection(d) {
    const sec = h('section', { class: 'domain', id: 'domain-' + d.name, 'aria-labelledby': 'h-' + d.name },
      h('h2', { id: 'h-' + d.name }, d.title), h('p', { class: 'muted' }, `tasks: ${d.tasks.join(', ')} · methods: ${d.methods.join(' (low demand), ')} (high demand)`));
    for (const p of d.problems) sec.append(h('p', { class: 'warn stage-problem' }, badge(p.state), ' ', stageLink(p.id), ': ', p.reasons.join('; '), ' — its figures and tables are not shown as current.'));
    const figs = h('div', { class: 'figures' });
    for (const f of d.figures) figs.append(figure(d, f));
    sec.append(figs, resultTable(d));
    return sec;
  }

  function tooltipFields(rows) {
    const want = [['model', 'model'], ['model_n_params', 'size (B params)'], ['revision', 'revision'], ['training_step', 'step'], ['pretty_eval_method', 'method'], ['mean', 'value'], ['gap', 'gap'], ['ci_low', 'CI low'], ['ci_high', 'CI high'], ['n', 'items']];
    const have = new Set(rows.flatMap((r) => Object.keys(r)));
    return want.filter(([f]) => have.has(f)).map(([f, t]) => (['mean', 'gap', 'ci_low', 'ci_high'].includes(f) ? { field: f, title: t, format: '.4f' } : { field: f, title: t }));
  }
  function withTooltips(spec, fields) {
    if (Array.isArray(spec)) return spec.map((s) => withTooltips(s, fields));
    if (!spec || typeof spec !== 'object') return spec;
    const out = {};
    for (const [k, v] of Object.entries(spec)) out[k] = k === 'data' ? v : withTooltips(v, fields);
    if (out.encoding && out.encoding.tooltip) out.encoding.tooltip = fields;
    return out;
  }
  function figure(d, f) {
    const box = h('figure', { class: 'fig', 'data-figure': d.name + '_' + f.name });
    const target = h('div', { class: 'vega' });
    box.append(target, h('figcaption', {}, `${f.name.replace(/_/g, ' ')} — series ${f.csv || ''} from `, stageLink(f.stage), '. Click a point or bar for its items; the table below has the same numbers for keyboard use.'));
    const spec = withTooltips(f.spec, tooltipFields(f.rows));
    if (matchMedia('(prefers-color-scheme: dark)').matches) spec.background = null;
    ensureVega().then(() => vegaEmbed(target, spec, { actions: false, renderer: 'svg', theme: matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : undefined })
      .then((res) => {
        res.view.addEventListener('click', (_ev, item) => {
          const dat = item && item.datum;
          if (!dat || !dat.model) return;
          const rev = dat.revision && dat.revision !== 'main' ? dat.revision : '';
          const set = R.itemSets.find((s) => s.domain === d.name && s.display === dat.model && s.revision === rev && s.file);
          if (set) location.hash = '#/items/' + set.index + (dat.eval_method ? '?method=' + encodeURIComponent(dat.eval_method) : '');
        });
        box.setAttribute('data-ready', '1');
      }))
      .catch((e) => target.append(h('p', { class: 'warn' }, 'figure failed to render: ' + e.message)));
    return box;
  }

  function resultTable(d) {
    const rows = d.table;
    if (!rows.length) return h('p', { class: 'muted' }, 'No current results for this domain.');
    const t = h('table', { class: 'results', 'data-domain': d.name },
      h('caption', {}, `${d.metric === 'logprob' ? 'Mean log-probability' : 'Proportion correct'} with 95% bootstrap CI and item count`),
      h('thead', {}, h('tr', {}, ['Model', 'Revision', 'Task', 'Method', d.metric === 'logprob' ? 'Mean log p' : 'Accuracy', '95% CI', 'Items', 'Made by'].map((c) => h('th', { scope: 'col' }, c)))));
    const tb = h('tbody');
    for (const r of rows) {
      const target = r.items.length ? '#/items/' + r.items[0] + '?method=' + encodeURIComponent(r.method) : null;
      tb.append(h('tr', { 'data-figure': r.figure, 'data-model': r.model, 'data-revision': r.revision, 'data-task': r.task, 'data-method': r.method, 'data-source': r.source },
        h('th', { scope: 'row' }, r.model), h('td', {}, r.revision || 'main'), h('td', {}, r.task), h('td', {}, r.methodLabel),
        h('td', { class: 'num mean', 'data-value': r.mean }, target ? h('a', { href: target, 'aria-label': `items behind ${r.model} ${r.revision} ${r.task} ${r.method}: ${fmt(r.mean)}` }, fmt(r.mean)) : fmt(r.mean)),
        h('td', { class: 'num ci', 'data-low': r.ciLow, 'data-high': r.ciHigh }, `[${fmt(r.ciLow)}, ${fmt(r.ciHigh)}]`),
        h('td', { class: 'num n', 'data-value': r.n }, String(r.n)),
        h('td', {}, stageLink(r.stage))));
    }
    t.append(tb);
    return h('div', { class: 'table-wrap' }, t);
  }

  // ---- items --------------------------------------------------------------------------------
  function lpColor(lp) {
    // −0 → light, −15 or below → saturated: a sequential scale; the value is also in text.
    const t = Math.max(0, Math.min(1, -lp / 15));
    return `hsl(${210 - 190 * t} 80% ${dark() ? 30 : 85 - 25 * t}%)`;
  }
  const dark = () => matchMedia('(prefers-color-scheme: dark)').matches;

  function tokensEl(tokens) {
    return h('span', { class: 'tokens' }, tokens.map(([t, lp], i) =>
      h('span', { class: 'tok', tabindex: 0, 'data-lp': lp, 'data-i': i, style: `background:${lpColor(lp)}`, title: `log p = ${lp}`, 'aria-label': `token ${JSON.stringify(t)}: log-probability ${lp}` },
        t.replace(/\n/g, '⏎'), h('span', { class: 'tip', 'aria-hidden': 'true' }, `log p = ${fmt(lp, 4)}`))));
  }

  function requestEl(r) {
    const box = h('div', { class: 'req ' + r.kind });
    if (r.kind === 'conditional') {
      box.append(h('div', { class: 'lbl' }, `continuation (${r.reduction}) log p = `, h('span', { class: 'sum', 'data-value': r.logprob }, fmt(r.logprob, 4))),
        h('pre', { class: 'prompt' }, r.text, h('span', { class: 'sep' }, r.separator || ''), r.tokens ? tokensEl(r.tokens) : h('b', {}, r.continuation)));
    } else if (r.kind === 'sequence') {
      box.append(h('div', { class: 'lbl' }, 'sentence log p = ', h('span', { class: 'sum', 'data-value': r.logprob }, fmt(r.logprob, 4)), ' (first token is context)'),
        h('pre', { class: 'prompt' }, r.tokens ? tokensEl(r.tokens) : r.text));
    } else if (r.kind === 'generate') {
      box.append(h('div', { class: 'lbl' }, 'prompt → generated'), h('pre', { class: 'prompt' }, r.text, h('mark', { class: 'gen' }, r.generated)));
    } else if (r.kind === 'next-token') {
      box.append(h('div', { class: 'lbl' }, 'next-word distribution: most likely next token ', h('code', {}, JSON.stringify(r.generated))));
    } else box.append(h('pre', {}, r.text));
    return box;
  }

  function methodCell(m, metric) {
    if (!m) return h('td', {}, '—');
    const v = metric === 'logprob' ? fmt(m.value, 4) : m.value === 1 ? '✓ correct' : m.value === 0 ? '✗ incorrect' : '—';
    return h('td', { class: 'mval ' + (m.value === 1 ? 'ok' : m.value === 0 ? 'bad' : ''), 'data-value': m.value }, v, m.label ? h('div', { class: 'muted' }, 'label: ' + m.label) : null,
      m.response !== undefined && m.response !== '' ? h('div', { class: 'resp' }, 'response: ' + m.response.slice(0, 120)) : null);
  }

  function itemsView(i, q) {
    const meta = R.itemSets[i];
    if (!meta) { main.append(h('p', { class: 'warn' }, 'No such item set.')); return; }
    const dom = R.domains.find((d) => d.name === meta.domain) || { methods: [], metric: 'correct' };
    const st = stageById.get(meta.stage);
    main.append(h('h2', {}, 'Items: ', setTitle(meta)), h('p', {}, badge(meta.state), ' made by ', stageLink(meta.stage), st && st.model ? lineageText(st.model) : ''));
    if (!meta.file) { main.append(h('p', { class: 'warn' }, 'This stage is not current: ', (st ? st.reasons.join('; ') : ''), '. Run the pipeline to see its items.')); return; }
    const siblings = R.itemSets.filter((s) => s.domain === meta.domain && s.task === meta.task);
    const f = {
      set: h('select', { id: 'f-set', on: { change: (e) => { location.hash = '#/items/' + e.target.value + '?' + params().toString(); } } },
        siblings.map((s) => h('option', { value: s.index, selected: s.index === i }, `${s.display} · ${s.revision || 'main'}${s.condition ? ' · ' + s.condition : ''}${s.file ? '' : ' (not current)'}`))),
      method: h('select', { id: 'f-method' }, h('option', { value: '' }, 'any'), dom.methods.map((m) => h('option', { value: m, selected: q.get('method') === m }, m))),
      correct: h('select', { id: 'f-correct' }, [['', 'any'], ['1', 'correct'], ['0', 'incorrect']].map(([v, t]) => h('option', { value: v, selected: q.get('correct') === v }, t))),
      disagree: h('input', { type: 'checkbox', id: 'f-disagree', checked: q.get('disagree') === '1' }),
      search: h('input', { type: 'search', id: 'f-search', value: q.get('q') || '', placeholder: 'text in prompt, response or any column' }),
    };
    function params() {
      const p = new URLSearchParams();
      if (f.method.value) p.set('method', f.method.value);
      if (f.correct.value) p.set('correct', f.correct.value);
      if (f.disagree.checked) p.set('disagree', '1');
      if (f.search.value) p.set('q', f.search.value);
      return p;
    }
    const lab = (id, text, el) => h('label', { for: id }, text, ' ', el);
    main.append(h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter items', on: { submit: (e) => e.preventDefault() } },
      lab('f-set', 'Model / revision / condition', f.set), lab('f-method', 'Method', f.method), lab('f-correct', 'Under that method', f.correct),
      lab('f-disagree', 'Methods disagree', f.disagree), lab('f-search', 'Search', f.search)));
    const status = h('p', { id: 'items-status', 'aria-live': 'polite' }, 'Loading items…');
    const list = h('div', { id: 'items' });
    const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
    main.append(status, list, pager);
    let page = Number(q.get('page') || 0);
    const loading = loadItems(i);
    loading.first.then((set) => {
      const render = () => {
        const needle = f.search.value.toLowerCase();
        const m = f.method.value;
        const rows = set.items.filter((it) => {
          if (f.disagree.checked && it.agree !== false) return false;
          if (f.correct.value !== '') {
            const vals = m ? [it.methods[m]] : Object.values(it.methods);
            if (!vals.some((v) => v && String(v.value) === f.correct.value)) return false;
          }
          if (needle) {
            const hay = (Object.values(it.row).join(' ') + ' ' + it.requests.map((r) => r.text + ' ' + (r.generated || '') + ' ' + (r.continuation || '')).join(' ')).toLowerCase();
            if (!hay.includes(needle)) return false;
          }
          return true;
        });
        const pages = Math.max(1, Math.ceil(rows.length / PAGE));
        page = Math.min(page, pages - 1);
        status.textContent = `${rows.length} of ${set.complete ? set.items.length : meta.count} items${set.complete ? '' : ` (${set.items.length} loaded so far)`} · page ${page + 1} of ${pages}`;
        list.replaceChildren(...rows.slice(page * PAGE, (page + 1) * PAGE).map((it) => itemEl(it, dom, set)));
        pager.replaceChildren(
          h('button', { type: 'button', disabled: page === 0, on: { click: () => { page--; render(); } } }, '← Previous'),
          h('button', { type: 'button', disabled: page >= pages - 1, on: { click: () => { page++; render(); } } }, 'Next →'));
      };
      for (const el of [f.method, f.correct, f.disagree]) el.addEventListener('change', () => { page = 0; render(); });
      f.search.addEventListener('input', () => { page = 0; render(); });
      render();
      main.setAttribute('data-items-ready', '1');
      if (!set.complete) loading.done.then(() => { render(); main.setAttribute('data-items-complete', '1'); });
      else main.setAttribute('data-items-complete', '1');
    }, (e) => { status.textContent = e.message; });
  }

  function itemEl(it, dom, set) {
    const details = h('details', { class: 'item', 'data-item': it.id },
      h('summary', {}, h('b', {}, `item ${it.id}`), it.condition ? ` · ${it.condition}` : '',
        it.agree === null ? '' : it.agree ? h('span', { class: 'badge fresh' }, 'methods agree') : h('span', { class: 'badge stale' }, 'methods disagree'),
        ' ', h('span', { class: 'muted' }, (it.requests[0] ? it.requests[0].text : '').replace(/\s+/g, ' ').slice(0, 100))));
    const methods = h('table', { class: 'methods' }, h('thead', {}, h('tr', {}, dom.methods.map((m) => h('th', { scope: 'col' }, m)))),
      h('tbody', {}, h('tr', {}, dom.methods.map((m) => methodCell(it.methods[m], dom.metric)))));
    details.append(methods, h('div', { class: 'reqs' }, it.requests.map(requestEl)),
      h('details', { class: 'row' }, h('summary', {}, 'CSV row'), h('table', {}, h('tbody', {}, set.columns.map((c) => h('tr', {}, h('th', { scope: 'row' }, c), h('td', {}, it.row[c])))))));
    return details;
  }

  // ---- provenance ---------------------------------------------------------------------------
  function lineageText(m) {
    return ` · model ${m.id || '?'} revision ${m.revision || 'main'}${m.commit ? ' commit ' + m.commit.slice(0, 12) : ''}${m.checkpoint ? ' · checkpoint ' + short(m.checkpoint) : ''}${m.converterCode ? ' · converter code ' + short(m.converterCode) : ''}`;
  }
  function kv(rows) {
    return h('dl', { class: 'kv' }, rows.filter(([, v]) => v !== undefined && v !== null && v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  }
  function stageView(id) {
    const s = stageById.get(id);
    if (!s) { main.append(h('p', { class: 'warn' }, 'No stage ' + id)); return; }
    main.append(h('h2', {}, s.id, ' ', badge(s.state)), h('p', {}, 'kind ', h('code', {}, s.kind)));
    if (s.state !== 'fresh') main.append(h('p', { class: 'warn' }, 'Not current: ', s.reasons.join('; ')));
    if (s.model) {
      const m = s.model;
      main.append(h('h3', {}, 'Model'), kv([['model id', m.id], ['revision', m.revision], ['resolved commit', m.commit === null ? 'none (local or built weights)' : m.commit],
        ['checkpoint digest', m.checkpoint], ['checkpoint stage', m.checkpointStage ? stageLink(m.checkpointStage) : undefined], ['converter code digest', m.converterCode], ['converted model digest', m.converted],
        ['convert stage', m.convertStage ? stageLink(m.convertStage) : undefined]]));
    }
    const r = s.run;
    if (!r) { main.append(h('p', {}, 'No successful run of this stage in the store.')); return; }
    main.append(h('h3', {}, r.current ? 'The run that made the current outputs' : 'Last successful run (NOT current: its outputs are out of date)'),
      kv([['key', r.key], ['started', r.startedAt], ['took', secs(r.durationMs)], ['where', `${r.host} (${r.executor})`], ['device', r.device], ['code digest', r.code],
        ['why it ran', r.why.join('; ')]]),
      h('h3', {}, 'Params'), h('pre', {}, JSON.stringify(r.params, null, 1)),
      h('h3', {}, 'Resolved at planning'), h('pre', {}, JSON.stringify(r.plan, null, 1).slice(0, 4000)),
      h('h3', {}, 'Inputs'), h('ul', {}, Object.entries(r.inputs).map(([up, outs]) => h('li', {}, stageLink(up), ' ', Object.entries(outs).map(([n, d]) => `${n} ${short(d)}`).join(', ')))),
      h('h3', {}, 'Outputs'), h('ul', {}, Object.entries(r.outputs).map(([n, o]) => h('li', {}, `${n} ${o.digest}`, o.materialize ? ' → ' + o.materialize : ''))),
      h('h3', {}, 'Recorded'), h('pre', {}, JSON.stringify(r.info, null, 1).slice(0, 4000)));
    const sets = R.itemSets.filter((x) => x.stage === s.id && x.file);
    if (sets.length) main.append(h('p', {}, h('a', { href: '#/items/' + sets[0].index }, 'Items of this stage')));
  }
  function stagesView() {
    main.append(summary(), h('h2', {}, 'Stages'));
    const t = h('table', { class: 'results' }, h('thead', {}, h('tr', {}, ['Stage', 'Kind', 'State', 'Ran', 'Took', 'Why'].map((c) => h('th', { scope: 'col' }, c)))));
    t.append(h('tbody', {}, R.stages.map((s) => h('tr', { 'data-state': s.state }, h('th', { scope: 'row' }, stageLink(s.id)), h('td', {}, s.kind), h('td', {}, badge(s.state)),
      h('td', {}, s.run ? s.run.startedAt : '—'), h('td', { class: 'num' }, s.run ? secs(s.run.durationMs) : '—'), h('td', {}, s.state === 'fresh' ? (s.run ? s.run.why.join('; ') : '') : s.reasons.join('; '))))));
    main.append(h('div', { class: 'table-wrap' }, t));
  }

  // ---- comparisons --------------------------------------------------------------------------
  function compareView() {
    const c = R.compare;
    if (!c) { main.append(h('p', {}, 'Build the report with --compare <revision> to compare a revision with the final weights.')); return; }
    main.append(h('h2', {}, `Revision ${c.revision} against the final weights`));
    for (const p of c.pairs) {
      const a = R.itemSets[p.base];
      const b = R.itemSets[p.other];
      const sec = h('section', { class: 'cmp', 'data-pair': `${p.base}-${p.other}` }, h('h3', {}, `${a.display} · ${a.task}${a.condition ? ' / ' + a.condition : ''}`));
      main.append(sec);
      if (!a.file || !b.file) { sec.append(h('p', { class: 'warn' }, 'One side is not current.')); continue; }
      Promise.all([loadItems(p.base).done, loadItems(p.other).done]).then(([x, y]) => {
        const dom = R.domains.find((d) => d.name === a.domain) || { methods: [], metric: 'correct' };
        const ys = new Map(y.items.map((it) => [it.id, it]));
        let changed = 0;
        const body = h('tbody');
        for (const it of x.items) {
          const o = ys.get(it.id);
          if (!o) continue;
          const cells = dom.methods.flatMap((m) => {
            const va = it.methods[m] ? it.methods[m].value : null;
            const vb = o.methods[m] ? o.methods[m].value : null;
            const diff = va !== vb;
            return [h('td', { class: 'num' + (diff ? ' diff' : '') }, fmt(va, dom.metric === 'logprob' ? 3 : 0)), h('td', { class: 'num' + (diff ? ' diff' : ''), 'aria-label': diff ? 'differs' : undefined }, fmt(vb, dom.metric === 'logprob' ? 3 : 0), diff ? ' ●' : '')];
          });
          if (dom.methods.some((m) => (it.methods[m] || {}).value !== (o.methods[m] || {}).value)) changed++;
          body.append(h('tr', {}, h('th', { scope: 'row' }, it.id), cells));
        }
        sec.append(h('p', {}, `${changed} of ${x.items.length} items differ (● marks a difference)`),
          h('table', { class: 'results' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'item'), dom.methods.flatMap((m) => [h('th', { scope: 'col' }, `${m} main`), h('th', { scope: 'col' }, `${m} ${c.revision}`)]))), body));
      });
    }
  }

  nav();
  window.addEventListener('hashchange', route);
  route();
  document.body.setAttribute('data-ready', '1');
})();
