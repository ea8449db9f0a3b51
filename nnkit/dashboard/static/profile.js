// The gradient-flow profile: the quantity across depth (input at the left) at one step,
// for the chosen run and the runs it is compared with, aligned by layer key.

import {extent, html, label, powerLabel, svg, ticks} from './svg.js';

const MARGIN = {left: 64, right: 16, top: 10, bottom: 110};
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
                 '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939', '#8c6d31', '#843c39',
                 '#7b4173', '#3182bd', '#e6550d', '#31a354', '#756bb1', '#636363'];

export function drawProfile(parent, profile, width) {
  parent.replaceChildren();
  const keys = profile.layers;
  if (!keys.length) {
    html('p', {class: 'empty'}, 'nothing logged at this step', parent);
    return;
  }
  const height = 260 + MARGIN.bottom;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const [low, high] = extent(profile.runs.map((r) => r.values));
  const x = (i) => MARGIN.left + (keys.length > 1 ? i / (keys.length - 1) : 0.5) * plotWidth;
  const y = (v) => MARGIN.top + (1 - (v - low) / (high - low)) * plotHeight;
  const chart = svg('svg', {width, height, class: 'profile', role: 'img',
                            'aria-label': 'profile across depth'}, parent);
  for (const t of ticks(low, high, 5)) {
    svg('line', {x1: MARGIN.left, x2: width - MARGIN.right, y1: y(t), y2: y(t), class: 'grid'}, chart);
    const text = svg('text', {x: MARGIN.left - 6, y: y(t), class: 'tick', 'text-anchor': 'end',
                              'dominant-baseline': 'middle'}, chart);
    text.textContent = profile.log ? powerLabel(t) : label(t, false);
  }
  const every = Math.max(1, Math.ceil(keys.length / 40));
  keys.forEach((key, i) => {
    if (i % every) return;
    const text = svg('text', {x: x(i), y: height - MARGIN.bottom + 12, class: 'tick',
                              'text-anchor': 'end',
                              transform: `rotate(-45 ${x(i)} ${height - MARGIN.bottom + 12})`}, chart);
    text.textContent = key;
  });
  const legend = html('div', {class: 'legend'}, '', parent);
  profile.runs.forEach((run, n) => {
    const colour = COLOURS[n % COLOURS.length];
    let d = '';
    let pen = 'M';
    run.values.forEach((v, i) => {
      if (v === null) {
        pen = 'M';
        return;
      }
      d += `${pen}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = 'L';
      const dot = svg('circle', {cx: x(i), cy: y(v), r: 3, fill: colour}, chart);
      svg('title', {}, dot).textContent = `${run.name}, ${keys[i]}: ${label(v, profile.log)}`;
    });
    svg('path', {d, stroke: colour, class: 'series', 'data-run': run.run}, chart);
    const item = html('span', {class: 'legend-item'}, '', legend);
    html('span', {class: 'swatch'}, '', item).style.background = colour;
    html('span', {}, `${run.name} (step ${run.step})`, item);
  });
}
