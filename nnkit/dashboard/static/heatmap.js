// Depth × step heatmap: one row per layer (input at the top), one column per step or bin,
// the colour the log10 (or the value) of the chosen quantity; NaN/Inf cells red, cells of
// exact zeros black; the diagnosis' episodes outlined on the rows and steps they cover.

import {extent, html, label, powerLabel, svg, ticks, viridis} from './svg.js';

const LEFT = 170;
const RIGHT = 16;
const TOP = 8;
const AXIS = 40;

/** The rows a finding covers: its `layers`, a range "a..b", or every row. */
function findingRows(finding, layers) {
  const keys = (finding.layers && finding.layers.length) ? finding.layers : [finding.layer];
  let rows = keys.map((k) => layers.indexOf(k)).filter((i) => i >= 0);
  const range = String(finding.layer || '').split('..');
  if (range.length === 2) {
    const [a, b] = range.map((k) => layers.indexOf(k));
    if (a >= 0 && b >= 0) rows = [...Array(Math.abs(b - a) + 1).keys()].map((i) => Math.min(a, b) + i);
  }
  return rows.length ? rows : [...layers.keys()];
}

/** Columns [first, last] whose steps overlap [from, to], or null. */
function findingColumns(matrix, from, to) {
  const columns = matrix.first_steps.map((s, i) => i)
      .filter((i) => matrix.last_steps[i] >= from && matrix.first_steps[i] <= to);
  return columns.length ? [columns[0], columns[columns.length - 1]] : null;
}

export function drawHeatmap(parent, matrix, width) {
  parent.replaceChildren();
  const rows = matrix.layers.length;
  const columns = matrix.first_steps.length;
  if (!rows || !columns) {
    html('p', {class: 'empty'}, `no ${matrix.title} logged in this run yet`, parent);
    return;
  }
  const rowHeight = Math.max(10, Math.min(26, Math.floor(520 / rows)));
  const plotWidth = Math.max(200, width - LEFT - RIGHT);
  const cell = plotWidth / columns;
  const height = TOP + rows * rowHeight + AXIS;
  const chart = svg('svg', {width, height, class: 'heatmap', role: 'img',
                            'aria-label': `${matrix.title} per layer over steps`}, parent);
  const [low, high] = extent(matrix.values);
  const bad = new Set(matrix.nonfinite.map(([r, c]) => `${r},${c}`));
  const zero = new Set(matrix.zero.map(([r, c]) => `${r},${c}`));
  matrix.layers.forEach((key, r) => {
    const y = TOP + r * rowHeight;
    const group = svg('g', {'class': 'heatmap-row', 'data-layer': key}, chart);
    const text = svg('text', {x: LEFT - 6, y: y + rowHeight / 2, class: 'row-label',
                              'text-anchor': 'end', 'dominant-baseline': 'middle'}, group);
    text.textContent = key;
    matrix.values[r].forEach((v, c) => {
      const where = `${r},${c}`;
      const colour = bad.has(where) ? '#d62728' : zero.has(where) ? '#000' :
        v === null ? '#eee' : viridis((v - low) / (high - low));
      const rect = svg('rect', {x: LEFT + c * cell, y, width: Math.ceil(cell + 0.5),
                                height: rowHeight - 1, fill: colour}, group);
      const what = bad.has(where) ? 'NaN/Inf' : zero.has(where) ? '0' : label(v, matrix.log);
      const steps = matrix.first_steps[c] === matrix.last_steps[c] ?
        `step ${matrix.first_steps[c]}` : `steps ${matrix.first_steps[c]}–${matrix.last_steps[c]}`;
      svg('title', {}, rect).textContent = `${key}, ${steps}: ${what}`;
    });
  });
  for (const finding of matrix.findings || []) {
    const from = finding.first_step ?? finding.step;
    const span = findingColumns(matrix, from, finding.last_step ?? from);
    if (!span) continue;
    const covered = findingRows(finding, matrix.layers);
    const top = Math.min(...covered);
    const bottom = Math.max(...covered);
    const box = svg('rect', {x: LEFT + span[0] * cell, y: TOP + top * rowHeight,
                             width: Math.max(3, (span[1] - span[0] + 1) * cell),
                             height: (bottom - top + 1) * rowHeight - 1,
                             class: 'finding-box', 'data-kind': finding.kind}, chart);
    svg('title', {}, box).textContent = `${finding.kind} at ${finding.layer}: ${finding.message}`;
  }
  const axisY = TOP + rows * rowHeight + 14;
  const tickColumns = ticks(0, columns - 1, 6).filter((c) => Number.isInteger(c) && c < columns);
  for (const c of tickColumns) {
    const t = svg('text', {x: LEFT + (c + 0.5) * cell, y: axisY, class: 'tick',
                           'text-anchor': 'middle'}, chart);
    t.textContent = matrix.first_steps[c];
  }
  const name = svg('text', {x: LEFT + plotWidth / 2, y: axisY + 18, class: 'axis-label',
                            'text-anchor': 'middle'}, chart);
  name.textContent = 'step';
  drawColourBar(parent, low, high, matrix.log, matrix.title);
}

function drawColourBar(parent, low, high, log, title) {
  const bar = html('div', {class: 'colour-bar'}, '', parent);
  html('span', {}, log ? powerLabel(low) : label(low, false), bar);
  const gradient = html('span', {class: 'gradient'}, '', bar);
  const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => `${viridis(t)} ${t * 100}%`).join(', ');
  gradient.style.background = `linear-gradient(to right, ${stops})`;
  html('span', {}, log ? powerLabel(high) : label(high, false), bar);
  html('span', {class: 'note'}, `${title}${log ? ' (log scale)' : ''}; ` +
       'red: NaN/Inf, black: 0, orange outline: a finding', bar);
}
