// gptune studio's page: the runs list (polled), and one uPlot chart per metric with a series per ticked
// run, fed by each run's /api/metrics event stream so curves grow while the run trains. Plain script,
// no build step; uPlot is the global the page loads before it.
'use strict';

const CHARTS = [
  { key: 'loss', title: 'Training loss', field: 'loss', smooth: true },
  { key: 'eval_loss', title: 'Eval loss', field: 'eval_loss' },
  { key: 'lr', title: 'Learning rate', field: 'lr' },
  { key: 'grad_norm', title: 'Gradient norm', field: 'grad_norm', smooth: true },
  { key: 'tokens_per_sec', title: 'Tokens/s', field: 'tokens_per_sec', smooth: true },
];
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

const state = {
  runs: [],
  /** id -> { rows, source, problems } for each ticked run, in the order ticked. */
  selected: new Map(),
  shown: null,
  smoothing: 0,
  charts: {},
  loaded: false,
};

/** A run keeps the colour it was first given, in the list and in every chart. */
const colors = new Map();
function colorOf(id) {
  if (!colors.has(id)) colors.set(id, PALETTE[colors.size % PALETTE.length]);
  return colors.get(id);
}

/** Axis numbers without float noise; learning rates (1e-4) in exponent form. */
function fmt(v) {
  if (v === 0 || v === null) return String(v);
  const a = Math.abs(v);
  return a < 1e-2 || a >= 1e6 ? v.toExponential(1) : String(Number(v.toPrecision(6)));
}
/** Steps are whole numbers: grid steps of 1, 2, 5, 10, 20, 50 ... */
const STEP_INCRS = Array.from({ length: 24 }, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

async function refreshRuns() {
  try {
    const res = await fetch('/api/runs');
    const body = await res.json();
    state.runs = body.runs;
    state.canLaunch = body.canLaunch;
    // Bound beyond loopback: the server refuses the data view and new runs, so the page does not offer them.
    for (const id of ['nr-start', 'dv-open']) {
      const b = document.getElementById(id);
      b.disabled = !body.canLaunch;
      b.title = body.canLaunch ? '' : 'offered only when the studio is bound to loopback (--host 127.0.0.1)';
    }
    document.getElementById('root').textContent = body.root;
  } catch (e) {
    return; // the studio was stopped or restarted: the next poll tries again
  }
  if (!state.loaded) {
    state.loaded = true;
    // First visit: show the runs still training, else the newest run.
    const running = state.runs.filter((r) => r.status === 'running');
    for (const r of running.length ? running : state.runs.slice(0, 1)) select(r.id);
    if (state.runs.length) state.shown = (running[0] ?? state.runs[0]).id;
  }
  renderRuns();
  renderDetails();
  // New checkpoints or runs that finished: the playground's choices change with them.
  const models = JSON.stringify(state.runs.map((r) => [r.id, r.status, r.checkpoints.map((c) => c.step)]));
  if (models !== state.modelsSeen) { state.modelsSeen = models; loadPlayground().catch(() => undefined); }
}

/** Updates the list in place (rows keyed by run id), so a click is never lost to a redraw. */
const rows = new Map();
function renderRuns() {
  const list = document.getElementById('runs');
  list.querySelector('.empty')?.remove();
  if (!state.runs.length) list.append(el('li', { class: 'empty' }, 'No runs yet: gptune train --out runs/NAME, or npm start'));
  const ids = new Set(state.runs.map((r) => r.id));
  for (const [id, row] of rows) if (!ids.has(id)) { row.li.remove(); rows.delete(id); }
  state.runs.forEach((r, i) => {
    let row = rows.get(r.id);
    if (!row) {
      const box = el('input', { type: 'checkbox', 'data-run': r.id, onchange: (ev) => (ev.target.checked ? select(r.id) : unselect(r.id)) });
      const steps = el('span', { class: 'muted' }), status = el('span', { class: 'status' });
      const li = el('li', { 'data-run': r.id, onclick: (ev) => {
        if (ev.target === box) return;
        state.shown = r.id;
        renderRuns();
        renderDetails();
      } }, box, el('span', { class: 'swatch', style: `background:${colorOf(r.id)}` }), el('span', { class: 'name', title: r.dir }, r.id), steps, status);
      row = { li, box, steps, status };
      rows.set(r.id, row);
    }
    if (list.children[i] !== row.li) list.insertBefore(row.li, list.children[i] ?? null);
    row.box.checked = state.selected.has(r.id);
    row.li.className = state.shown === r.id ? 'shown' : '';
    row.steps.textContent = stepsOf(r);
    row.status.textContent = r.status;
    row.status.className = `status ${r.status}`;
  });
}

/** "120/400" from the newest metrics row seen and the config's max_steps. */
function stepsOf(r) {
  const rows = state.selected.get(r.id)?.rows;
  const last = rows?.length ? rows[rows.length - 1].step : r.summary?.steps;
  const max = r.config?.maxSteps ?? r.config?.max_steps ?? r.summary?.maxSteps;
  return last === undefined ? '' : max ? `${last}/${max}` : String(last);
}

function renderDetails() {
  const box = document.getElementById('details');
  const r = state.runs.find((x) => x.id === state.shown);
  box.replaceChildren();
  if (!r) return;
  const table = el('table');
  const row = (k, v) => table.append(el('tr', {}, el('td', {}, k), el('td', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))));
  row('folder', r.dir);
  row('status', r.summary?.status ?? r.status);
  if (r.summary) for (const k of ['finalLoss', 'finalEvalLoss', 'bestEvalLoss', 'bestStep', 'tokens', 'elapsedS']) if (typeof r.summary[k] === 'number') row(k, Number.isInteger(r.summary[k]) ? r.summary[k] : Number(r.summary[k].toPrecision(5)));
  row('checkpoints', r.checkpoints.length ? r.checkpoints.map((c) => c.name).join(', ') : 'none');
  box.append(el('h2', {}, r.id), table);
  box.append(runActions(r));
  if (r.launched) {
    box.append(el('p', { class: 'muted' }, `started from this page, pid ${r.launched.pid}${r.launched.exit ? `, exited ${r.launched.exit.code ?? r.launched.exit.signal}` : ''}`));
    if (r.launched.logTail) box.append(el('pre', { class: 'log' }, r.launched.logTail));
  }
  if (r.config) {
    const cfg = el('table');
    for (const [k, v] of Object.entries(r.config)) cfg.append(el('tr', {}, el('td', {}, k), el('td', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))));
    box.append(el('h2', { style: 'margin-top:0.8em' }, 'Config'), cfg);
  } else {
    box.append(el('p', { class: 'muted' }, 'No config yet (written with the first checkpoint and at the end).'));
  }
  for (const p of [...r.problems, ...(state.selected.get(r.id)?.problems ?? [])]) box.append(el('p', { class: 'problem' }, p));
}

/** Stop (a run started here and training), Resume (a run with a checkpoint and no process), Inspect its data. */
function runActions(r) {
  const actions = el('div', { class: 'actions' });
  const act = (path, label) => el('button', { 'data-action': label.toLowerCase(), onclick: async (ev) => {
    ev.target.disabled = true;
    const res = await postJson(path, { run: r.id });
    if (!res.ok) actions.append(el('span', { class: 'error' }, Object.values(res.errors ?? { '': res.error }).join('; ')));
    await refreshRuns();
  } }, label);
  if (state.canLaunch && r.launched?.alive) actions.append(act('/api/runs/stop', 'Stop'));
  if (state.canLaunch && !r.launched?.alive && r.status !== 'running' && r.status !== 'finished' && r.checkpoints.length) actions.append(act('/api/runs/resume', 'Resume'));
  if (typeof r.config?.data === 'string') actions.append(el('button', { 'data-action': 'data', onclick: () => openRunData(r) }, 'Inspect its data'));
  return actions;
}

async function postJson(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return res.json();
}

function select(id) {
  if (state.selected.has(id)) return;
  const entry = { rows: [], problems: [], source: new EventSource(`/api/metrics?run=${encodeURIComponent(id)}`) };
  entry.source.addEventListener('rows', (ev) => { entry.rows.push(...JSON.parse(ev.data)); scheduleDraw(); });
  entry.source.addEventListener('reset', () => { entry.rows = []; scheduleDraw(); });
  entry.source.addEventListener('problem', (ev) => { entry.problems.push(JSON.parse(ev.data).message); renderDetails(); });
  state.selected.set(id, entry);
  scheduleDraw();
}

function unselect(id) {
  state.selected.get(id)?.source.close();
  state.selected.delete(id);
  scheduleDraw();
}

let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; draw(); renderRuns(); });
}

/** Exponential moving average with TensorBoard's debiasing, so the first points are not pulled to 0. */
function smooth(values, weight) {
  if (!weight) return values;
  let last = 0, n = 0;
  return values.map((v) => { last = last * weight + (1 - weight) * v; n++; return last / (1 - weight ** n); });
}

function seriesOf(entry, chart) {
  const pts = new Map();
  for (const r of entry.rows) if (typeof r[chart.field] === 'number' && Number.isFinite(r[chart.field])) pts.set(r.step, r[chart.field]);
  const steps = [...pts.keys()].sort((a, b) => a - b);
  const ys = steps.map((s) => pts.get(s));
  return { steps, ys: chart.smooth ? smooth(ys, state.smoothing) : ys };
}

function draw() {
  const host = document.getElementById('charts');
  const ids = [...state.selected.keys()];
  if (!ids.length) {
    for (const c of Object.values(state.charts)) c.u.destroy();
    state.charts = {};
    host.replaceChildren(el('div', { class: 'empty' }, 'Tick a run to see its curves.'));
    return;
  }
  host.querySelector('.empty')?.remove();
  for (const chart of CHARTS) {
    const per = ids.map((id) => seriesOf(state.selected.get(id), chart));
    const xs = [...new Set(per.flatMap((p) => p.steps))].sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    const data = [xs, ...per.map((p) => {
      const col = new Array(xs.length).fill(null);
      p.steps.forEach((s, i) => { col[at.get(s)] = p.ys[i]; });
      return col;
    })];
    const sig = ids.join('\n');
    let c = state.charts[chart.key];
    if (c && c.sig !== sig) { c.u.destroy(); c.box.remove(); c = undefined; }
    if (!c) {
      const box = el('div', { class: 'chart', 'data-chart': chart.key }, el('h3', {}, chart.title));
      host.append(box);
      const u = new uPlot({
        width: Math.max(300, box.clientWidth - 16), height: 230,
        scales: { x: { time: false } },
        series: [{ label: 'step' }, ...ids.map((id) => ({ label: id, stroke: colorOf(id), width: 1.5, spanGaps: true }))],
        axes: [{ label: 'step', incrs: STEP_INCRS }, { size: 60, values: (u, splits) => splits.map(fmt) }],
      }, data, box);
      c = state.charts[chart.key] = { u, sig, box };
    } else {
      c.u.setData(data);
    }
    // Points drawn per run, for tests and for the eye: "run-a:12 run-b:30".
    c.box.dataset.points = per.map((p, i) => `${ids[i]}:${p.steps.length}`).join(' ');
  }
}

window.addEventListener('resize', () => {
  for (const c of Object.values(state.charts)) c.u.setSize({ width: Math.max(300, c.box.clientWidth - 16), height: 230 });
});
document.getElementById('smoothing').addEventListener('input', (ev) => {
  state.smoothing = Number(ev.target.value);
  document.getElementById('smoothing-value').textContent = ev.target.value;
  draw();
});

// Forms drawn from the option declarations the CLI uses (/api/options): one field per option, with its
// flag, help and default; the server checks what is sent and answers with the problems by option name.
function buildForm(host, schema) {
  const fields = new Map();
  for (const f of schema) {
    let input;
    const hint = f.default !== undefined ? String(f.default) : f.defaultRule ?? '';
    if (f.choices) {
      input = el('select');
      if (f.default === undefined) input.append(el('option', { value: '' }, hint ? `(${hint})` : '(not set)'));
      for (const c of f.choices) { const o = el('option', { value: c }, c); o.selected = c === f.default; input.append(o); }
    } else if (f.kind === 'bool') {
      input = el('input', { type: 'checkbox' });
      input.checked = f.default === true;
    } else {
      // Text, not type=number: a value out of range reaches the server, which says what is wrong with it.
      input = el('input', { type: 'text', placeholder: hint, ...(f.kind === 'int' || f.kind === 'number' ? { inputmode: 'decimal' } : {}) });
    }
    input.dataset.option = f.name;
    input.title = f.help;
    const err = el('span', { class: 'error', 'data-error-for': f.name });
    const label = el('label', { class: 'field', 'data-field': f.name }, el('span', { class: 'flag' }, f.flag + (f.required ? ' *' : '')), input, el('small', {}, f.help), err);
    host.append(label);
    fields.set(f.name, { f, input, err, label });
  }
  return fields;
}

function formValues(fields) {
  const out = {};
  for (const [name, { f, input }] of fields) {
    if (f.kind === 'bool') { if (input.checked !== (f.default === true)) out[name] = input.checked; } else if (input.value.trim() !== '') out[name] = input.value.trim();
  }
  return out;
}

function setField(fields, name, value) {
  const x = fields.get(name);
  if (!x || value === undefined || value === null) return;
  if (x.f.kind === 'bool') x.input.checked = value === true; else x.input.value = String(value);
}

/** Marks each field the server found wrong; the rest of the errors (not tied to an option) go to message. */
function showErrors(fields, errors, message) {
  const rest = [];
  for (const { err, label } of fields.values()) { err.textContent = ''; label.classList.remove('invalid'); }
  for (const [name, text] of Object.entries(errors ?? {})) {
    const x = fields.get(name);
    if (x) { x.err.textContent = text; x.label.classList.add('invalid'); } else rest.push(text);
  }
  message.textContent = rest.join('; ');
  message.className = rest.length ? 'error' : 'muted';
}

async function loadForms() {
  const o = await (await fetch('/api/options')).json();
  const nr = document.getElementById('nr-form');
  state.trainForm = buildForm(nr, [{ name: o.nameField, flag: 'run name', kind: 'string', help: 'its folder under the runs folder (--out)', required: true }, ...o.train]);
  state.dataForm = buildForm(document.getElementById('dv-form'), o.data);
  state.dataForm.get('limit').input.placeholder = '50';
}

document.getElementById('nr-start').addEventListener('click', async () => {
  const message = document.getElementById('nr-message');
  const { name, ...options } = formValues(state.trainForm);
  const res = await postJson('/api/runs/start', { options: { ...options, name } });
  showErrors(state.trainForm, res.errors, message);
  if (!res.ok) return;
  message.textContent = `started: ${res.run.command.join(' ')}`;
  await refreshRuns();
  state.shown = res.run.name;
  select(res.run.name);
  renderRuns();
  renderDetails();
});

function openRunData(r) {
  for (const k of ['data', 'model', 'tokenizer', 'format', 'maxLength', 'truncation', 'packing']) {
    const v = r.config[k];
    // train's --format also names corpus formats data inspect does not take.
    if (k === 'format' && !state.dataForm.get('format')?.f.choices.includes(v)) continue;
    setField(state.dataForm, k, v);
  }
  document.getElementById('data').scrollIntoView();
  inspectData();
}

async function inspectData() {
  const message = document.getElementById('dv-message');
  const rowsBox = document.getElementById('dv-rows');
  const summary = document.getElementById('dv-summary');
  message.textContent = 'reading...';
  const res = await postJson('/api/data', formValues(state.dataForm));
  showErrors(state.dataForm, res.errors, message);
  if (!res.ok) { rowsBox.replaceChildren(); summary.textContent = ''; return; }
  const s = res.summary;
  const drops = Object.entries(s.droppedBy).map(([k, n]) => `${n} ${k.replace(/-/g, ' ')}`).join(', ');
  summary.textContent = `${s.rows} rows read at --max-length ${s.maxLength}: ${s.kept} kept, ${s.truncated} truncated${s.answersCut ? ` (${s.answersCut} answers cut, no EOS trained)` : ''}, ${s.dropped} dropped${drops ? ` (${drops})` : ''}${s.packedRows !== undefined ? `, ${s.packedRows} packed rows` : ''}`;
  rowsBox.replaceChildren(...res.rows.map((r) => dataRow(r, s.maxLength)));
}

function tokenSpan(t) {
  const text = t.text.replace(/\n/g, '\u21b5\n');
  return el('span', { class: `tok ${t.trained ? 'target' : 'masked'}`, title: `id ${t.id}${t.trained ? ', trained' : ', masked (label -100)'}` }, text);
}

function dataRow(r, maxLength) {
  const where = r.segments ? `packed row ${r.row} (rows ${r.rows.join(', ')})` : `row ${r.row} (${r.file ? r.file.split('/').pop() + ':' : 'line '}${r.line})`;
  if (r.dropped) return el('div', { class: 'data-row dropped', 'data-row': r.row }, el('h3', {}, `${where}: dropped, ${r.dropped.replace(/-/g, ' ')} (${r.length} tokens)`));
  const cut = r.truncated ? `, truncated ${r.truncated.policy}: ${r.truncated.tokens} tokens cut${r.truncated.answer_cut ? ', the answer\'s end (no EOS trained)' : ''}` : '';
  const box = el('div', { class: 'data-row', 'data-row': r.row }, el('h3', {}, `${where}: ${r.tokens.length} tokens, ${r.trained} trained${cut}`));
  if (r.segments) {
    // Packing layout: each example's share of the row, then the tokens example by example.
    box.append(el('div', { class: 'layout', title: `${r.tokens.length} of ${maxLength} positions` },
      ...r.segments.map(([a, b], k) => el('span', { style: `width:${(100 * (b - a)) / maxLength}%`, title: `row ${r.rows[k]}: ${b - a} tokens` }))));
    box.append(el('div', {}, ...r.segments.map(([a, b], k) => el('span', { class: 'segment', 'data-member': r.rows[k] }, ...r.tokens.slice(a, b).map(tokenSpan)))));
  } else {
    box.append(el('div', {}, ...r.tokens.map(tokenSpan)));
  }
  return box;
}
document.getElementById('dv-open').addEventListener('click', () => inspectData().catch((e) => { document.getElementById('dv-message').textContent = e.message; }));

// Playground: one question to the base model and each ticked adapter, streamed side by side
// through the studio's /v1 (gptune serve's OpenAI API, all in one batch).
async function loadPlayground() {
  const p = await (await fetch('/api/playground')).json();
  document.getElementById('pg-model').textContent = p.model
    ? `Base model: ${p.model}. Adapters: the LoRA runs trained from it.` : 'No base model: start the studio with --model DIR, or train a LoRA run.';
  const box = document.getElementById('pg-adapters');
  const was = new Set([...box.querySelectorAll('input:checked')].map((i) => i.value));
  box.replaceChildren(...p.adapters.map((name, i) => {
    const input = el('input', { type: 'checkbox', value: name, 'data-adapter': name });
    input.checked = box.dataset.loaded ? was.has(name) : i === 0;
    return el('label', {}, input, ' ', name);
  }), ...p.skipped.map((s) => el('p', { class: 'muted' }, s)));
  box.dataset.loaded = '1';
  const ck = document.getElementById('pg-checkpoints');
  const had = new Set([...ck.querySelectorAll('input:checked')].map((i) => i.value));
  ck.replaceChildren(...(p.checkpoints.length ? [el('span', { class: 'muted' }, 'Checkpoints: ')] : []), ...p.checkpoints.map((c) => {
    const input = el('input', { type: 'checkbox', value: c.name, 'data-checkpoint': c.name });
    input.checked = had.has(c.name);
    return el('label', { title: c.kind === 'lora' ? 'LoRA over the base model' : 'a full model' }, input, ' ', `${c.name} (${c.kind})`);
  }));
  document.getElementById('pg-ask').disabled = !p.model && !p.checkpoints.length;
  state.playground = p;
}

async function streamAnswer(model, content, pre, box) {
  const body = { model, messages: [{ role: 'user', content }], stream: true,
    max_tokens: Number(document.getElementById('pg-max').value), temperature: Number(document.getElementById('pg-temp').value) };
  const res = await fetch('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) { pre.textContent = (await res.json()).error?.message ?? `HTTP ${res.status}`; box.dataset.state = 'error'; return; }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const data = event.replace(/^data: /, '');
      if (data === '[DONE]') continue;
      const chunk = JSON.parse(data);
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) { pre.textContent += text; box.dataset.chunks = String(Number(box.dataset.chunks) + 1); }
      if (chunk.choices?.[0]?.finish_reason) box.dataset.finish = chunk.choices[0].finish_reason;
    }
  }
  box.dataset.state = 'done';
}

document.getElementById('pg-ask').addEventListener('click', async () => {
  const content = document.getElementById('pg-prompt').value;
  if (!content.trim() || !state.playground) return;
  const checked = (sel) => [...document.querySelectorAll(sel)].map((i) => i.value);
  const models = [...(state.playground.model ? [state.playground.base] : []), ...checked('#pg-adapters input:checked'), ...checked('#pg-checkpoints input:checked')];
  const answers = document.getElementById('pg-answers');
  answers.replaceChildren(el('p', { class: 'muted' }, 'loading the models...'));
  // Load every chosen model first: one rebuild of the base's server, not one per answer.
  await postJson('/api/playground/choose', { models }).catch(() => undefined);
  answers.replaceChildren();
  for (const m of models) {
    const pre = el('pre');
    const box = el('div', { class: 'answer', 'data-model': m, 'data-chunks': '0', 'data-state': 'streaming' }, el('h3', {}, m === state.playground.base ? 'base model' : m), pre);
    answers.append(box);
    streamAnswer(m, content, pre, box).catch((e) => { pre.textContent += `\n[${e.message}]`; box.dataset.state = 'error'; });
  }
});

// For tests and the console: the charts and the rows each ticked run has received.
window.studio = {
  state,
  points: (chart, id) => {
    const c = state.charts[chart];
    const col = c?.u.series.findIndex((s) => s.label === id);
    return c && col > 0 ? c.u.data[col].filter((v) => v !== null).length : 0;
  },
};

loadForms().catch((e) => { document.getElementById('dv-message').textContent = `cannot load the option forms: ${e.message}`; });
refreshRuns();
setInterval(refreshRuns, 3000);
const quietly = (f) => () => f().catch(() => undefined); // the studio restarting: try again at the next poll
quietly(loadPlayground)();
setInterval(quietly(loadPlayground), 10000);
draw();
