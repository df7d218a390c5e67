// connections.js: the #/connections page: RabbitMQ's connection table plus
// beatmq's heartbeat telemetry, one row per connection (data-name).
//
// The table is built once and then updated in place on each refresh, keyed
// by connection name: rows of new connections are added, rows of closed
// ones removed, and in the others only the cells whose text changed are
// rewritten (a long table would otherwise be rebuilt, laid out and styled
// from scratch every time). Rows, links and the focus stay where they are.
import { el, replace, num, bytes, text } from './dom.js';
import { api } from './api.js';
import { Counter, now } from './rates.js';
import { client, heartbeat, fault, silence, seconds, connHref } from './format.js';

const COLUMNS = [
  { label: 'Name' }, { label: 'User' }, { label: 'Virtual host' }, { label: 'Client' }, { label: 'State' },
  { label: 'Heartbeat (timeout)' }, { label: 'Channels', num: true },
  { label: 'From client /s', num: true }, { label: 'To client /s', num: true },
  { label: 'Last heartbeat interval', num: true }, { label: 'Longest inbound silence', num: true },
  { label: 'Late warnings', num: true }, { label: 'Fault' },
];

// cells is the text of every cell of c's row after the first (the name).
function cells(c, rIn, rOut) {
  return [
    text(c.user), text(c.vhost), client(c), text(c.state), heartbeat(c), num(c.channels),
    rIn === null ? '…' : bytes(rIn) + '/s', rOut === null ? '…' : bytes(rOut) + '/s',
    seconds(c.beatmq_heartbeat_cadence_last_s), silence(c.beatmq_heartbeat_silence_in_max_t),
    num(c.beatmq_heartbeat_late_warnings), fault(c),
  ];
}

// Row is one connection's <tr>, with its cells' text nodes and what they
// show, so that a refresh touches only what changed.
class Row {
  constructor(c, values) {
    this.fault = c.beatmq_fault || 'none';
    this.values = values;
    this.texts = values.map((v) => document.createTextNode(v));
    const n = values.length;
    this.faultSpan = el('span', { class: c.beatmq_fault ? 'state-bad' : null }, this.texts[n - 1]);
    this.tr = el('tr', { 'data-name': c.name, 'data-fault-state': this.fault },
      el('th', { scope: 'row' }, el('a', { href: connHref(c.name) }, c.name),
        c.user_provided_name ? [el('br'), el('span', { class: 'muted' }, c.user_provided_name)] : null),
      this.texts.map((t, j) => el('td', { class: COLUMNS[j + 1].num ? 'num' : null }, j === n - 1 ? this.faultSpan : t)));
  }

  // update shows c (with values, its cells' text).
  update(c, values) {
    for (let j = 0; j < values.length; j++) {
      if (values[j] !== this.values[j]) this.texts[j].data = values[j];
    }
    this.values = values;
    const f = c.beatmq_fault || 'none';
    if (f !== this.fault) {
      this.fault = f;
      this.tr.setAttribute('data-fault-state', f);
      if (c.beatmq_fault) this.faultSpan.setAttribute('class', 'state-bad');
      else this.faultSpan.removeAttribute('class');
    }
  }
}

// mount builds the page and returns its poll.
export function mount(view) {
  const box = el('div', { id: 'connections-box' });
  const count = el('p', { id: 'connections-count' });
  const recv = new Counter(), send = new Counter();
  const rows = new Map(); // name → Row
  const tbody = el('tbody');
  const tableBox = el('div', { class: 'scroll' }, el('table', { id: 'connections' },
    el('thead', null, el('tr', null, COLUMNS.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
    tbody));
  replace(view, el('h1', null, 'Connections'), count, box);

  const v = { interval: 2000 };
  v.poll = async () => {
    const conns = await api('/api/connections');
    // A long table is fetched less often: every 2 s up to 400 rows, then
    // 5 ms per row, at most every 10 s.
    v.interval = Math.min(10000, Math.max(2000, conns.length * 5));
    const t = now();
    const names = conns.map((c) => c.name);
    recv.keep(names);
    send.keep(names);
    const label = conns.length === 1 ? '1 connection' : conns.length + ' connections';
    if (count.textContent !== label) count.textContent = label;

    const seen = new Set(names);
    for (const [name, row] of rows) {
      if (!seen.has(name)) {
        row.tr.remove();
        rows.delete(name);
      }
    }
    // Rows in the API's order (vhost, then name): existing rows are moved
    // only when out of place, new ones inserted where they belong.
    let next = tbody.firstChild;
    for (const c of conns) {
      const values = cells(c, recv.rate(c.name, t, c.recv_oct), send.rate(c.name, t, c.send_oct));
      let row = rows.get(c.name);
      if (row) row.update(c, values);
      else rows.set(c.name, (row = new Row(c, values)));
      if (row.tr === next) next = next.nextSibling;
      else tbody.insertBefore(row.tr, next);
    }
    if (!tableBox.isConnected) replace(box, tableBox);
  };
  return v;
}
