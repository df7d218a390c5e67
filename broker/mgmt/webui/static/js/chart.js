// chart.js: a hand-drawn SVG time chart. Series differ by dash pattern and
// marker shape as well as colour, events are labelled with text, and the
// chart carries a text title and description for screen readers.
import { svg, el } from './dom.js';

const W = 640, H = 220, L = 56, R = 12, T = 22, B = 28;
const SHAPES = ['circle', 'square', 'triangle'];

// marker draws series i's shape centred on (x, y).
function marker(i, x, y) {
  const cls = 'm' + (i % 3);
  switch (SHAPES[i % 3]) {
    case 'square':
      return svg('rect', { class: cls, x: x - 3.5, y: y - 3.5, width: 7, height: 7 });
    case 'triangle':
      return svg('polygon', { class: cls, points: `${x},${y - 4.5} ${x + 4.5},${y + 4} ${x - 4.5},${y + 4}` });
    default:
      return svg('circle', { class: cls, cx: x, cy: y, r: 3.5 });
  }
}

// round keeps coordinates short.
const round = (v) => Math.round(v * 10) / 10;

// niceMax rounds v up to a number whose quarters are round too (1, 1.2,
// 1.6, 2, 2.4, 3, 4, 5, 6 or 8 times a power of ten), for the four grid
// lines.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10]) if (v <= m * p * 1.0000001) return m * p;
  return 10 * p;
}

// timeChart draws series over the last `window` seconds up to `now` (both
// in seconds).
//
// opts: {id, title, desc, now, window, series: [{label, points: [[t, v]]}],
// levels: [{value, label}] (horizontal lines), events: [{t, label, kind}]
// (vertical lines, kind "late", "fault", "clear" or "closed"), yMax
// (optional), unit (y axis suffix), integer (counts: grid lines on whole
// numbers)}. The svg's data-points counts the
// samples plotted (the most points of any series).
export function timeChart(opts) {
  const { now, window: span } = opts;
  const t0 = now - span;
  const series = opts.series || [];
  const levels = opts.levels || [];
  const events = (opts.events || []).filter((e) => e.t >= t0);
  let top = opts.yMax || 0;
  for (const s of series) for (const [t, v] of s.points) if (t >= t0 && v > top) top = v;
  for (const l of levels) if (l.value * 1.15 > top) top = l.value * 1.15;
  top = niceMax(top);
  if (opts.integer) top = Math.max(4, Math.ceil(top / 4) * 4);
  const x = (t) => round(L + ((t - t0) / span) * (W - L - R));
  const y = (v) => round(H - B - (Math.min(v, top) / top) * (H - T - B));
  const titleId = opts.id + '-title', descId = opts.id + '-desc';
  const g = [];
  let plotted = 0;

  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    g.push(svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    g.push(svg('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v) + (opts.unit || '')));
  }
  for (let i = 0; i <= 6; i++) {
    const t = t0 + (span * i) / 6;
    // The last tick's label ("now") ends at the right edge: centred on
    // its tick it would run past it.
    g.push(i === 6
      ? svg('text', { x: W - 2, y: H - 8, 'text-anchor': 'end' }, 'now')
      : svg('text', { x: x(t), y: H - 8, 'text-anchor': 'middle' }, '-' + fmt(span - (span * i) / 6) + 's'));
  }
  g.push(svg('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }));
  g.push(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
  for (const l of levels) {
    g.push(svg('line', { class: 'level', x1: L, x2: W - R, y1: y(l.value), y2: y(l.value), 'data-level': l.label }));
    g.push(svg('text', { x: W - R - 2, y: y(l.value) - 3, 'text-anchor': 'end' }, l.label));
  }
  events.forEach((e, i) => {
    const ex = x(e.t);
    g.push(svg('line', { class: 'event event-' + e.kind, x1: ex, x2: ex, y1: T, y2: H - B, 'data-event': e.kind }));
    const sym = e.kind === 'late' ? '▲ ' : e.kind === 'fault' ? '■ ' : e.kind === 'clear' ? '○ ' : '';
    // A label that would run past the right edge (an event of the last
    // seconds) ends at its line instead of starting there (about 8 px a
    // character at 13 px).
    const label = sym + e.label, ey = T - 8 + (i % 2) * 10;
    const atEnd = ex + 2 + label.length * 8 > W - 2;
    g.push(svg('text', { x: atEnd ? ex - 2 : ex + 2, y: ey, 'text-anchor': atEnd ? 'end' : null }, label));
  });
  series.forEach((s, i) => {
    const pts = s.points.filter(([t]) => t >= t0);
    plotted = Math.max(plotted, pts.length);
    if (!pts.length) return;
    g.push(svg('polyline', { class: 's' + (i % 3), points: pts.map(([t, v]) => x(t) + ',' + y(v)).join(' ') }));
    const [lt, lv] = pts[pts.length - 1];
    g.push(marker(i, x(lt), y(lv)));
  });
  const chart = svg('svg', {
    id: opts.id, class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-labelledby': titleId, 'aria-describedby': descId, 'data-points': plotted,
  }, svg('title', { id: titleId }, opts.title), svg('desc', { id: descId }, opts.desc || describe(series)), g);
  return chart;
}

// legend names each series with its line style and marker shape in words.
export function legend(labels) {
  const styles = ['solid line, circle', 'dashed line, square', 'dotted line, triangle'];
  return el('ul', { class: 'legend' }, labels.map((l, i) => el('li', null, l + ' (' + styles[i % 3] + ')')));
}

// describe says each series' latest value, for screen readers.
function describe(series) {
  return series.map((s) => {
    const last = s.points[s.points.length - 1];
    return s.label + ': ' + (last ? fmt(last[1]) : 'no data');
  }).join('; ');
}

// fmt writes an axis number briefly.
function fmt(v) {
  if (v >= 1e6) return round(v / 1e6) + 'M';
  if (v >= 1e4) return round(v / 1e3) + 'k';
  return String(Math.round(v * 100) / 100);
}
