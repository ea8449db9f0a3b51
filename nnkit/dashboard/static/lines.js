// Every layer's series in one chart on a log axis (the matrix's log10 values), coloured by
// depth (input dark, output light); hovering names the nearest layer, its value and step.

import {extent, html, label, powerLabel, svg, ticks, viridis} from './svg.js';

const MARGIN = {left: 64, right: 16, top: 10, bottom: 40};

export function drawLines(parent, matrix, width) {
  parent.replaceChildren();
  const rows = matrix.layers.length;
  const steps = matrix.first_steps;
  if (!rows || !steps.length) {
    html('p', {class: 'empty'}, `no ${matrix.title} logged in this run yet`, parent);
    return;
  }
  const height = 300;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const [low, high] = extent(matrix.values);
  const [first, last] = [steps[0], steps[steps.length - 1]];
  const x = (step) => MARGIN.left + (last > first ? (step - first) / (last - first) : 0.5) * plotWidth;
  const y = (v) => MARGIN.top + (1 - (v - low) / (high - low)) * plotHeight;
  const chart = svg('svg', {width, height, class: 'lines', role: 'img',
                            'aria-label': `${matrix.title} of every layer`}, parent);
  for (const t of ticks(low, high, 5)) {
    svg('line', {x1: MARGIN.left, x2: width - MARGIN.right, y1: y(t), y2: y(t), class: 'grid'}, chart);
    const text = svg('text', {x: MARGIN.left - 6, y: y(t), class: 'tick', 'text-anchor': 'end',
                              'dominant-baseline': 'middle'}, chart);
    text.textContent = matrix.log ? powerLabel(t) : label(t, false);
  }
  for (const t of ticks(first, last, 6)) {
    const text = svg('text', {x: x(t), y: height - MARGIN.bottom + 16, class: 'tick',
                              'text-anchor': 'middle'}, chart);
    text.textContent = Math.round(t);
  }
  const xName = svg('text', {x: MARGIN.left + plotWidth / 2, y: height - 4, class: 'axis-label',
                             'text-anchor': 'middle'}, chart);
  xName.textContent = 'step';
  const paths = matrix.layers.map((key, r) => {
    let d = '';
    let pen = 'M';
    matrix.values[r].forEach((v, c) => {
      if (v === null) {
        pen = 'M';
        return;
      }
      d += `${pen}${x(steps[c]).toFixed(1)},${y(v).toFixed(1)}`;
      pen = 'L';
    });
    const colour = viridis(rows > 1 ? 0.9 * r / (rows - 1) : 0);
    return svg('path', {d, stroke: colour, class: 'series', 'data-layer': key}, chart);
  });
  const tip = html('div', {class: 'tooltip', hidden: ''}, '', parent);
  chart.addEventListener('mousemove', (event) => {
    const box = chart.getBoundingClientRect();
    const px = event.clientX - box.left;
    const py = event.clientY - box.top;
    let column = 0;
    steps.forEach((s, c) => {
      if (Math.abs(x(s) - px) < Math.abs(x(steps[column]) - px)) column = c;
    });
    let nearest = -1;
    matrix.values.forEach((row, r) => {
      const v = row[column];
      if (v !== null && (nearest < 0 || Math.abs(y(v) - py) < Math.abs(y(matrix.values[nearest][column]) - py))) nearest = r;
    });
    paths.forEach((p, r) => p.classList.toggle('highlight', r === nearest));
    if (nearest < 0) return;
    tip.hidden = false;
    tip.textContent = `${matrix.layers[nearest]}: ${label(matrix.values[nearest][column], matrix.log)} at step ${steps[column]}`;
    tip.style.left = `${px + 12}px`;
    tip.style.top = `${py + 12}px`;
  });
  chart.addEventListener('mouseleave', () => {
    tip.hidden = true;
    paths.forEach((p) => p.classList.remove('highlight'));
  });
  const legend = html('div', {class: 'legend'}, '', parent);
  matrix.layers.forEach((key, r) => {
    const item = html('span', {class: 'legend-item'}, '', legend);
    html('span', {class: 'swatch'}, '', item).style.background = viridis(rows > 1 ? 0.9 * r / (rows - 1) : 0);
    html('span', {}, key, item);
  });
}
