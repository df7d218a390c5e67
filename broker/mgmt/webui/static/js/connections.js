// connections.js: the #/connections page: RabbitMQ's connection table plus
// beatmq's heartbeat telemetry, one row per connection (data-name).
import { el, replace, table, num, bytes, text } from './dom.js';
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

// mount builds the page and returns its poll.
export function mount(view) {
  const box = el('div', { id: 'connections-box' });
  const count = el('p', { id: 'connections-count' });
  const recv = new Counter(), send = new Counter();
  replace(view, el('h1', null, 'Connections'), count, box);

  const v = { interval: 2000 };
  v.poll = async () => {
    const conns = await api('/api/connections');
    // A long table is fetched less often: every 2 s up to 400 rows, then
    // 5 ms per row, at most every 10 s.
    v.interval = Math.min(10000, Math.max(2000, conns.length * 5));
    const t = now();
    recv.keep(conns.map((c) => c.name));
    send.keep(conns.map((c) => c.name));
    count.textContent = conns.length === 1 ? '1 connection' : conns.length + ' connections';
    const rows = conns.map((c) => {
      const rIn = recv.rate(c.name, t, c.recv_oct), rOut = send.rate(c.name, t, c.send_oct);
      return [
        [el('a', { href: connHref(c.name) }, c.name),
          c.user_provided_name ? [el('br'), el('span', { class: 'muted' }, c.user_provided_name)] : null],
        text(c.user), text(c.vhost), client(c), text(c.state), heartbeat(c), num(c.channels),
        rIn === null ? '…' : bytes(rIn) + '/s', rOut === null ? '…' : bytes(rOut) + '/s',
        seconds(c.beatmq_heartbeat_cadence_last_s), silence(c.beatmq_heartbeat_silence_in_max_t),
        num(c.beatmq_heartbeat_late_warnings),
        el('span', { class: c.beatmq_fault ? 'state-bad' : null }, fault(c)),
      ];
    });
    replace(box, table({ id: 'connections' }, COLUMNS, rows, (i) => ({
      'data-name': conns[i].name, 'data-fault-state': conns[i].beatmq_fault || 'none',
    })));
  };
  return v;
}
