// The nnkit tab: TensorBoard imports this module into the tab's frame and calls render().
// Fetches are relative to the frame's base, /data/plugin/nnkit/.

import {drawHeatmap} from './heatmap.js';
import {drawLines} from './lines.js';
import {drawProfile} from './profile.js';
import {html} from './svg.js';

const REFRESH_MS = 30000;
const QUANTITY_NAMES = {
  grad_norm: 'gradient norm', update_ratio: 'update ratio', weight_norm: 'weight norm',
  activation_std: 'activation std', activation_mean: 'activation mean',
  dead_fraction: 'dead fraction', saturated_fraction: 'saturated fraction',
  gsnr: 'gradient signal-to-noise ratio',
};

const state = {runs: [], run: null, quantity: 'grad_norm', compare: new Set(), column: null,
               gradients: null};

async function getJSON(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of params) search.append(key, value);
  return search.toString();
}

function width(element) {
  return Math.max(480, Math.min(1400, element.clientWidth || document.body.clientWidth - 32));
}

function section(parent, title) {
  const box = html('section', {}, '', parent);
  html('h2', {}, title, box);
  return box;
}

function layout() {
  const root = html('div', {class: 'nnkit'}, '', document.body);
  const link = html('link', {rel: 'stylesheet', href: './static/style.css'});
  document.head.appendChild(link);
  const controls = html('div', {class: 'controls'}, '', root);
  const runLabel = html('label', {}, 'run ', controls);
  const runs = html('select', {id: 'run'}, '', runLabel);
  const quantityLabel = html('label', {}, 'heatmap of ', controls);
  const quantity = html('select', {id: 'quantity'}, '', quantityLabel);
  const status = html('span', {id: 'status', class: 'status'}, '', controls);
  const heat = section(root, 'Depth × step');
  const heatmap = html('div', {id: 'heatmap'}, '', heat);
  const lineBox = section(root, 'Gradient norm of every layer');
  const lines = html('div', {id: 'lines', class: 'chart'}, '', lineBox);
  const profileBox = section(root, 'Gradient flow across depth');
  const profileControls = html('div', {class: 'controls'}, '', profileBox);
  const sliderLabel = html('label', {}, 'step ', profileControls);
  const slider = html('input', {id: 'step', type: 'range', min: 0, max: 0, value: 0}, '', sliderLabel);
  const stepText = html('span', {id: 'step-text'}, '', profileControls);
  const compare = html('details', {class: 'compare'}, '', profileControls);
  html('summary', {}, 'compare with other runs', compare);
  const compareList = html('div', {id: 'compare'}, '', compare);
  const profile = html('div', {id: 'profile'}, '', profileBox);
  const dynamicsBox = section(root, 'Dynamics (logging.dynamics)');
  const dynamics = html('div', {id: 'dynamics'}, '', dynamicsBox);
  const timeBox = section(root, 'Through time (recurrent layers): ‖∂L/∂hₜ‖, time × step');
  const throughTime = html('div', {id: 'through-time'}, '', timeBox);
  const findingsBox = section(root, 'Findings');
  const findings = html('div', {id: 'findings'}, '', findingsBox);
  return {root, runs, quantity, status, heatmap, lines, slider, stepText, compareList, profile,
          dynamics, throughTime, findings};
}

function fillRuns(view) {
  view.runs.replaceChildren();
  for (const run of state.runs) {
    const text = `${run.name} (${run.layers} layers, ${run.status}${run.findings ? `, ${run.findings} findings` : ''})`;
    const option = html('option', {value: run.run}, text, view.runs);
    option.selected = run.run === state.run;
  }
  const current = state.runs.find((r) => r.run === state.run);
  view.quantity.replaceChildren();
  for (const q of (current ? current.quantities : ['grad_norm'])) {
    const option = html('option', {value: q}, QUANTITY_NAMES[q] || q, view.quantity);
    option.selected = q === state.quantity;
  }
  view.compareList.replaceChildren();
  for (const run of state.runs) {
    if (run.run === state.run) continue;
    const item = html('label', {class: 'compare-item'}, '', view.compareList);
    const box = html('input', {type: 'checkbox', value: run.run}, '', item);
    box.checked = state.compare.has(run.run);
    box.addEventListener('change', () => {
      if (box.checked) state.compare.add(run.run); else state.compare.delete(run.run);
      drawProfileAt(view);
    });
    item.append(` ${run.name}`);
  }
}

function drawFindings(view, findings) {
  view.findings.replaceChildren();
  if (!findings.length) {
    html('p', {class: 'empty'}, 'no findings (or the run has not been diagnosed yet)', view.findings);
    return;
  }
  const list = html('ul', {}, '', view.findings);
  for (const f of findings) {
    const first = f.first_step ?? f.step;
    const last = f.last_step ?? first;
    const steps = first === last ? `step ${first}` : `steps ${first}–${last}`;
    const item = html('li', {class: 'finding', 'data-kind': f.kind}, '', list);
    html('strong', {}, f.kind, item);
    item.append(` at ${f.layer}, ${steps}${f.recovered ? ' (recovered)' : ''}: ${f.message}. `);
    html('em', {}, `Try: ${f.remedy}`, item);
  }
}

async function drawProfileAt(view) {
  if (!state.gradients || !state.gradients.first_steps.length) {
    view.profile.replaceChildren();
    return;
  }
  const columns = state.gradients.first_steps.length;
  view.slider.max = columns - 1;
  if (state.column === null || state.column >= columns) state.column = columns - 1;
  view.slider.value = state.column;
  const step = state.gradients.first_steps[state.column];
  view.stepText.textContent = `${step} of ${state.gradients.last_steps[columns - 1]}`;
  const runs = [state.run, ...state.compare].map((r) => ['run', r]);
  const profile = await getJSON(`./profile?${query([...runs, ['quantity', 'grad_norm'], ['step', step]])}`);
  drawProfile(view.profile, profile, width(view.profile));
}

async function drawDynamics(view) {
  const {charts} = await getJSON(`./dynamics?${query([['run', state.run]])}`);
  view.dynamics.replaceChildren();
  if (!charts.length) {
    html('p', {class: 'empty'}, 'not measured in this run: logging.dynamics (tiers economy, business, full) logs the sharpness against its stability limit, the gradient noise scale, the Hessian trace and the effective rank', view.dynamics);
    return;
  }
  for (const chart of charts) {
    const box = html('div', {class: 'chart', 'data-chart': chart.quantity}, '', view.dynamics);
    html('h3', {}, chart.title, box);
    drawLines(html('div', {}, '', box), chart, width(view.dynamics));
  }
}

async function drawThroughTime(view) {
  const {charts} = await getJSON(`./through_time?${query([['run', state.run]])}`);
  view.throughTime.replaceChildren();
  if (!charts.length) {
    html('p', {class: 'empty'}, 'no recurrent layers of nnkit in this run (architecture: rnn, or nnkit.layers.SimpleRNN/LSTM/GRU/RNN in your model)', view.throughTime);
    return;
  }
  for (const chart of charts) {
    const box = html('div', {class: 'chart', 'data-chart': `through_time/${chart.layer}`}, '', view.throughTime);
    html('h3', {}, chart.title, box);
    drawHeatmap(html('div', {}, '', box), chart, width(view.throughTime));
  }
}

async function drawRun(view) {
  if (!state.run) return;
  const ask = (quantity) => getJSON(`./matrix?${query([['run', state.run], ['quantity', quantity]])}`);
  const gradients = await ask('grad_norm');
  const heat = state.quantity === 'grad_norm' ? gradients : await ask(state.quantity);
  state.gradients = gradients;
  drawHeatmap(view.heatmap, heat, width(view.heatmap));
  drawLines(view.lines, gradients, width(view.lines));
  drawFindings(view, gradients.findings);
  await drawProfileAt(view);
  await drawDynamics(view);
  await drawThroughTime(view);
  view.status.textContent = `${gradients.name}: ${gradients.status}, ${gradients.layers.length} layers, ` +
    `${gradients.first_steps.length} columns`;
}

async function refresh(view) {
  const listing = await getJSON('./runs');
  state.runs = listing.runs;
  if (!state.runs.some((r) => r.run === state.run)) state.run = state.runs.length ? state.runs[0].run : null;
  fillRuns(view);
  if (!state.run) {
    view.heatmap.replaceChildren();
    html('p', {class: 'empty'}, 'No nnkit runs under this log folder yet: nnkit run CONFIG, or nnkit.watch(model, log_dir) in your own Keras code.', view.heatmap);
    return;
  }
  await drawRun(view);
}

function guarded(view, work) {
  return work().then(() => {
    document.body.dataset.ready = 'true';
  }).catch((error) => {
    view.status.textContent = `error: ${error.message}`;
    document.body.dataset.ready = 'error';
  });
}

export async function render() {
  const view = layout();
  view.runs.addEventListener('change', () => {
    state.run = view.runs.value;
    state.compare.delete(state.run);
    fillRuns(view);
    guarded(view, () => drawRun(view));
  });
  view.quantity.addEventListener('change', () => {
    state.quantity = view.quantity.value;
    guarded(view, () => drawRun(view));
  });
  view.slider.addEventListener('input', () => {
    state.column = Number(view.slider.value);
    guarded(view, () => drawProfileAt(view));
  });
  await guarded(view, () => refresh(view));
  setInterval(() => {
    if (!document.hidden) guarded(view, () => refresh(view));
  }, REFRESH_MS);
}
