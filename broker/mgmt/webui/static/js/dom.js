// dom.js: building the page from data without ever parsing data as HTML.
// Every value is set with textContent or setAttribute.

const SVGNS = 'http://www.w3.org/2000/svg';

// append adds children: strings and numbers as text nodes, nodes as they
// are, arrays flattened, null/undefined/false skipped.
function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else if (c instanceof Node) node.appendChild(c);
    else node.appendChild(document.createTextNode(String(c)));
  }
  return node;
}

// setAttrs sets attributes; null/undefined/false leave one out, true sets
// it empty. Event handlers are never attributes: use on().
function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (/^on|^style$/i.test(k)) throw new Error('dom: attribute ' + k + ' is not allowed (CSP)');
    if (v === null || v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? '' : String(v));
  }
  return node;
}

// el creates an HTML element: el('td', {class: 'num'}, 'text', child…).
export function el(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

// svg creates an SVG element the same way.
export function svg(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS(SVGNS, tag), attrs), children);
}

// on adds an event listener and returns the node.
export function on(node, event, f) {
  node.addEventListener(event, f);
  return node;
}

const FOCUSABLE = 'a[href], button, input, select, textarea';

// replace sets node's children. When the focus was inside node (a link in
// a table that a poll redraws), it moves to the element at the same place
// among the new ones, so keyboard users keep their place.
export function replace(node, ...children) {
  const active = document.activeElement;
  const at = active && active !== node && node.contains(active) ? [...node.querySelectorAll(FOCUSABLE)].indexOf(active) : -1;
  node.replaceChildren();
  append(node, children);
  if (at >= 0) {
    const again = node.querySelectorAll(FOCUSABLE)[at];
    if (again) again.focus({ preventScroll: true });
  }
  return node;
}

// $ finds an element by id.
export function $(id) {
  return document.getElementById(id);
}

// table builds a table: columns [{label, num}], rows of cells (a cell is a
// value or a node); the first cell of each row is a row header. rowAttrs(i)
// gives each <tr>'s attributes.
export function table(attrs, columns, rows, rowAttrs) {
  const head = el('tr', null, columns.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)));
  const body = rows.map((cells, i) =>
    el('tr', rowAttrs ? rowAttrs(i) : null, cells.map((v, j) =>
      el(j === 0 ? 'th' : 'td', { scope: j === 0 ? 'row' : null, class: columns[j] && columns[j].num ? 'num' : null }, v))));
  return el('div', { class: 'scroll' }, el('table', attrs, el('thead', null, head), el('tbody', null, body)));
}

// facts builds a definition list from [label, value] pairs.
export function facts(pairs, attrs) {
  return el('dl', { class: 'facts', ...(attrs || {}) }, pairs.map(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
}

// field is a labelled input, select or textarea inside a <p>.
export function field(label, control) {
  return el('p', null, el('label', { for: control.id }, label), ' ', control);
}

// text renders any JSON value as a string for a cell: strings as they are,
// null as "—", the rest as JSON.
export function text(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

// num formats a number with grouping; non-numbers as text().
export function num(v, digits = 0) {
  return typeof v === 'number' && isFinite(v)
    ? v.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
    : text(v);
}

// bytes formats a byte count (or a rate) in B, kB, MB, GB.
export function bytes(v) {
  if (typeof v !== 'number' || !isFinite(v)) return text(v);
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return num(v, i ? 1 : 0) + ' ' + units[i];
}

// duration formats milliseconds as "3d 4h", "2h 5m", "1m 30s" or "12s".
export function duration(ms) {
  if (typeof ms !== 'number') return text(ms);
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}
