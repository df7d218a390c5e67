// overview.js: the #/ page: node, version, uptime, totals, alarms,
// listeners, and charts of queued messages and message rates.
import { el, replace, facts, table, num, bytes, duration, text } from './dom.js';
import { api } from './api.js';
import { timeChart, legend } from './chart.js';
import { History, SumRates, now } from './rates.js';

// WINDOW is how far back the charts go, in seconds.
const WINDOW = 600;
// hist survives route changes, so coming back keeps the charts.
const hist = new History(WINDOW + 30);

// COUNTERS are RabbitMQ's message_stats counters charted as rates: from
// the overview's message_stats when the API reports them there, otherwise
// summed over the channels' (GET /api/channels).
const COUNTERS = [['publish', 'Publish'], ['deliver_get', 'Deliver / get'], ['ack', 'Acknowledge']];
const channelRates = new SumRates(COUNTERS.map(([k]) => k));

// mount builds the page and returns its poll.
export function mount(view) {
  const about = el('div', { id: 'overview-node' });
  const totals = el('div', { id: 'totals' });
  const alarms = el('div', { id: 'alarms' });
  const listeners = el('div', { id: 'listeners' });
  const queued = el('div', { id: 'chart-queued-box' });
  const rates = el('div', { id: 'chart-rates-box' });
  replace(view,
    el('h1', null, 'Overview'), about,
    el('h2', null, 'Totals'), totals,
    el('h2', null, 'Alarms'), alarms,
    el('h2', null, 'Queued messages'), queued,
    el('h2', null, 'Message rates'), rates,
    el('h2', null, 'Listeners'), listeners);

  async function poll() {
    const [ov, nodes, conns, chans] = await Promise.all([
      api('/api/overview'), api('/api/nodes'), api('/api/connections').catch(() => null), api('/api/channels').catch(() => null)]);
    const node = (nodes || [])[0] || {};
    const t = now();
    const sample = { t, ready: ov.queue_totals.messages_ready, unacked: ov.queue_totals.messages_unacknowledged, stats: ov.message_stats || {} };
    if (chans) sample.chanRates = channelRates.update(t, chans);
    if (conns) {
      sample.recv = conns.reduce((a, c) => a + (c.recv_oct || 0), 0);
      sample.send = conns.reduce((a, c) => a + (c.send_oct || 0), 0);
    }
    hist.add(sample);

    replace(about, facts([
      ['Node', ov.node],
      ['Product', ov.product_name + ' ' + ov.product_version],
      ['RabbitMQ API version', ov.rabbitmq_version],
      ['Uptime', duration(node.uptime)],
      ['Memory used', bytes(node.mem_used) + ' of ' + bytes(node.mem_limit) + ' allowed'],
      ['Disk free', node.beatmq_disk_monitored === false
        ? 'not monitored: no data directory'
        : bytes(node.disk_free) + ' (limit ' + bytes(node.disk_free_limit) + ')'],
    ]));
    const ot = ov.object_totals, qt = ov.queue_totals;
    replace(totals, facts([
      ['Connections', num(ot.connections)], ['Channels', num(ot.channels)],
      ['Queues', num(ot.queues)], ['Exchanges', num(ot.exchanges)], ['Consumers', num(ot.consumers)],
      ['Messages ready', num(qt.messages_ready)], ['Messages unacknowledged', num(qt.messages_unacknowledged)],
    ], { id: 'totals-list' }));
    replace(alarms, ov.alarms && ov.alarms.length
      ? el('ul', { id: 'alarm-list' }, ov.alarms.map((a) => el('li', { class: 'state-bad' }, 'ALARM: ' + a.resource + ' on ' + a.node)))
      : el('p', { id: 'alarm-list' }, 'None: no resource alarm in effect.'));
    replace(listeners, table({ id: 'listener-table' }, [{ label: 'Protocol' }, { label: 'Address' }, { label: 'Port', num: true }],
      (ov.listeners || []).map((l) => [l.protocol, l.ip_address, l.port])));

    replace(queued, timeChart({
      id: 'chart-queued', title: 'Queued messages, last 10 minutes', now: t, window: WINDOW, integer: true,
      series: [{ label: 'Ready', points: hist.series((s) => s.ready) }, { label: 'Unacknowledged', points: hist.series((s) => s.unacked) }],
    }), legend(['Ready', 'Unacknowledged']));

    const have = COUNTERS.filter(([k]) => typeof sample.stats[k] === 'number');
    if (have.length) {
      drawRates('from the overview\'s message counters', have, (k) => hist.rate((s) => s.stats[k]));
    } else if (chans) {
      drawRates('summed over the channels\' message counters', COUNTERS,
        (k) => hist.series((s) => (s.chanRates ? s.chanRates[k] : undefined)));
    } else {
      replace(rates,
        el('p', null, 'The API reports no message counters (rates_mode: ' + text(ov.rates_mode) +
          '), so this chart shows the network traffic of all connections instead, from their octet counters.'),
        timeChart({
          id: 'chart-rates', title: 'Traffic in bytes per second, last 10 minutes', now: t, window: WINDOW, unit: 'B',
          series: [{ label: 'From clients', points: hist.rate((s) => s.recv) }, { label: 'To clients', points: hist.rate((s) => s.send) }],
        }), legend(['From clients (B/s)', 'To clients (B/s)']));
    }

    // drawRates charts the counters in `which` as rates per second.
    function drawRates(source, which, points) {
      replace(rates,
        el('p', { class: 'muted' }, 'Messages per second, computed by this page from successive polls, ' + source + '.'),
        timeChart({
          id: 'chart-rates', title: 'Message rates per second, last 10 minutes', now: t, window: WINDOW, unit: '/s',
          series: which.map(([k, label]) => ({ label, points: points(k) })),
        }), legend(which.map(([, l]) => l + ' /s')));
    }
  }
  return { poll, interval: 5000 };
}
