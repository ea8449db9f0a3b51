// Small helpers shared by the charts: SVG elements, the colour scale, axis ticks.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes, appended to `parent` when given. */
export function svg(tag, attributes = {}, parent = null) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (parent) parent.appendChild(element);
  return element;
}

/** An HTML element with attributes and text, appended to `parent` when given. */
export function html(tag, attributes = {}, text = '', parent = null) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text) element.textContent = text;
  if (parent) parent.appendChild(element);
  return element;
}

// viridis at nine stops (matplotlib's), interpolated linearly
const VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80',
                 '#5ec962', '#addc30', '#fde725'];

function rgb(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/** The colour of `t` in [0, 1] on viridis. */
export function viridis(t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const [a, b] = [rgb(VIRIDIS[i]), rgb(VIRIDIS[i + 1])];
  const mix = a.map((v, k) => Math.round(v + (b[k] - v) * (x - i)));
  return `rgb(${mix.join(',')})`;
}

/** [min, max] of the non-null numbers in rows of values (a flat range is widened). */
export function extent(rows) {
  let low = Infinity;
  let high = -Infinity;
  for (const row of rows) {
    for (const v of row) {
      if (v !== null && Number.isFinite(v)) {
        low = Math.min(low, v);
        high = Math.max(high, v);
      }
    }
  }
  if (!Number.isFinite(low)) return [0, 1];
  if (high - low < 1e-9) return [low - 0.5, high + 0.5];
  return [low, high];
}

/** About `count` round ticks between `low` and `high`. */
export function ticks(low, high, count = 5) {
  const span = high - low || 1;
  const raw = span / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(low / step) * step; v <= high + 1e-9; v += step) out.push(v);
  return out;
}

/** A value as shown: 10^x for log quantities, else the number. */
export function label(value, log) {
  if (value === null || value === undefined) return 'none';
  const shown = log ? Math.pow(10, value) : value;
  return Math.abs(shown) >= 1e4 || (Math.abs(shown) < 1e-3 && shown !== 0) ?
    shown.toExponential(2) : shown.toPrecision(3);
}

/** A log10 tick as text: 1e-3, 1, 10. */
export function powerLabel(exponent) {
  const e = Math.round(exponent * 100) / 100;
  if (e === 0) return '1';
  if (e === 1) return '10';
  return Number.isInteger(e) ? `1e${e}` : Math.pow(10, e).toExponential(1);
}
