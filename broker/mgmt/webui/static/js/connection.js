// connection.js: the #/connections/NAME page: the connection's details, a
// live heartbeat timeline (polled four times a second), its channels, fault
// injection and force-close. It polls the connection list filtered by name
// (findConnection), never the connection's own URL, so that its closing is
// an empty answer rather than a 404; once closed, it asks no more.
import { el, replace, facts, field, num, text, bytes, on } from './dom.js';
import { api, path, isAdmin } from './api.js';
import { action } from './ui.js';
import { now } from './rates.js';
import { Timeline } from './timeline.js';
import { loadChannels } from './channels.js';
import { client, heartbeat, fault, silence, seconds } from './format.js';

// FAULTS are the kinds PUT /api/beatmq/connections/{name}/fault knows.
export const FAULTS = [
  ['mute-heartbeats', 'Mute heartbeats'], ['slow-heartbeats', 'Slow heartbeats'],
  ['freeze-out', 'Freeze output'], ['freeze-in', 'Freeze input'], ['half-open', 'Half-open'],
  ['latency', 'Latency'], ['reset', 'Reset'],
];

const POLL_MS = 250;
const CHANNELS_EVERY = 8; // polls between channel list refreshes

// mount builds the page for connection params[0] and returns its poll.
export function mount(view, params) {
  const name = params.join('/');
  const state = el('p', { id: 'conn-state' }, 'Loading…');
  const details = el('div', { id: 'conn-details' });
  const timelineBox = el('div', { id: 'hb-timeline-box' });
  const channelsBox = el('div', { id: 'channels-box' }, el('p', null, 'Loading…'));
  const tl = new Timeline();
  let polls = 0, gone = false;

  replace(view,
    el('p', null, el('a', { href: '#/connections' }, '← All connections')),
    el('h1', { id: 'conn-name' }, 'Connection ', el('q', null, name)), state,
    el('h2', null, 'Heartbeat timeline'), timelineBox,
    el('h2', null, 'Details'), details,
    el('h2', null, 'Channels'), channelsBox,
    faultForm(name), closeForm(name));

  const v = { interval: POLL_MS };
  v.poll = async () => {
    const t = now();
    if (gone) {
      // Closed for good (a name is not reused): only the chart moves on.
      tl.draw(timelineBox, t);
      return;
    }
    const c = await findConnection(name);
    if (!c) {
      gone = true;
      tl.closed(t);
      state.textContent = 'Closed: this connection is no longer open.';
      state.setAttribute('class', 'state-bad');
      state.setAttribute('data-state', 'closed');
      v.interval = 1000;
      tl.draw(timelineBox, t);
      return;
    }
    tl.add(t, c);
    tl.draw(timelineBox, t);
    state.textContent = 'State: ' + text(c.state) + (c.beatmq_fault ? '; FAULT injected: ' + c.beatmq_fault : '');
    state.setAttribute('class', c.beatmq_fault ? 'state-bad' : '');
    state.setAttribute('data-state', text(c.state));
    if (polls % 4 === 0) replace(details, facts(detailPairs(c), { id: 'conn-facts' }));
    if (polls % CHANNELS_EVERY === 0) await loadChannels(channelsBox, name);
    polls++;
  };
  return v;
}

// findConnection returns the open connection called name, or null when
// there is none. It asks for a page of the connection list filtered by
// name (GET /api/connections?page=1&name=…, as RabbitMQ paginates) rather
// than for GET /api/connections/{name}: the page is one connection long,
// and a closed connection is an empty page, not a 404 (which the browser
// would log as an error in its console).
export async function findConnection(name) {
  const q = new URLSearchParams({ page: '1', page_size: '500', name });
  const page = await api('/api/connections?' + q);
  return ((page && page.items) || []).find((c) => c.name === name) || null;
}

// detailPairs lists what the API says about c.
function detailPairs(c) {
  const p = c.client_properties || {};
  return [
    ['User', text(c.user)], ['Virtual host', text(c.vhost)],
    ['Client', client(c)], ['Client platform', text(p.platform)],
    ['Client-provided name', text(c.user_provided_name)],
    ['Peer', text(c.peer_host) + ':' + text(c.peer_port)], ['Protocol', text(c.protocol)],
    ['TLS', c.ssl ? 'yes (' + text(c.ssl_protocol) + ')' : 'no'],
    ['Connected at', c.connected_at ? new Date(c.connected_at).toISOString() : '—'],
    ['Heartbeat (timeout)', heartbeat(c)], ['Channels', num(c.channels)],
    ['Channel max', num(c.channel_max)], ['Frame max', num(c.frame_max)],
    ['Received', bytes(c.recv_oct) + (c.recv_cnt ? ' in ' + num(c.recv_cnt) + ' packets' : '')],
    ['Sent', bytes(c.send_oct) + (c.send_cnt ? ' in ' + num(c.send_cnt) + ' packets' : '')],
    ['Heartbeats received / sent', num(c.beatmq_heartbeat_received) + ' / ' + num(c.beatmq_heartbeat_sent)],
    ['Interval between heartbeats received (last, median)',
      seconds(c.beatmq_heartbeat_cadence_last_s) + ', ' + seconds(c.beatmq_heartbeat_cadence_median_s)],
    ['Longest silence in, out', silence(c.beatmq_heartbeat_silence_in_max_t) + ', ' + silence(c.beatmq_heartbeat_silence_out_max_t)],
    ['Last octet received, sent', seconds(c.beatmq_heartbeat_recv_age_s) + ' ago, ' + seconds(c.beatmq_heartbeat_send_age_s) + ' ago'],
    ['Late heartbeat warnings', num(c.beatmq_heartbeat_late_warnings)],
    ['Fault', fault(c)],
  ];
}

// faultForm has a button per fault kind and one to clear the fault
// (administrators only: the API refuses others).
function faultForm(name) {
  const forIn = el('input', { id: 'fault-for', name: 'for', placeholder: 'e.g. 30s; empty: until cleared', size: 24 });
  const factorIn = el('input', { id: 'fault-factor', name: 'factor', type: 'number', min: '0', step: 'any', value: '3' });
  const latencyIn = el('input', { id: 'fault-latency', name: 'latency', value: '250ms', size: 10 });
  const buttons = FAULTS.map(([kind, label]) => {
    const b = el('button', { type: 'button', 'data-fault': kind }, label);
    return on(b, 'click', () => action(b, async () => {
      const body = { kind };
      if (forIn.value.trim()) body.for = forIn.value.trim();
      if (kind === 'slow-heartbeats' && factorIn.value) body.factor = Number(factorIn.value);
      if (kind === 'latency' && latencyIn.value.trim()) body.latency = latencyIn.value.trim();
      await api(path('beatmq', 'connections', name, 'fault'), { method: 'PUT', body });
      return 'Fault ' + kind + ' injected.';
    }));
  });
  const clear = el('button', { type: 'button', id: 'fault-clear' }, 'Clear fault');
  on(clear, 'click', () => action(clear, async () => {
    await api(path('beatmq', 'connections', name, 'fault'), { method: 'DELETE' });
    return 'Fault cleared.';
  }));
  return el('section', { 'aria-labelledby': 'fault-title' },
    el('h2', { id: 'fault-title' }, 'Inject a fault'),
    el('p', { class: 'muted' }, 'Administrators only. A fault changes how the broker treats this connection until it is cleared or its time runs out.'),
    isAdmin() ? null : el('p', { id: 'fault-not-admin' }, 'Your user is not an administrator: the API will refuse these.'),
    field('For', forIn), field('Factor (slow heartbeats)', factorIn), field('Latency (latency)', latencyIn),
    el('div', { class: 'buttons' }, buttons, clear));
}

// closeForm force-closes the connection (320 CONNECTION_FORCED with the
// reason given).
function closeForm(name) {
  const reason = el('input', { id: 'close-reason', name: 'reason', placeholder: 'Closed via management plugin', size: 40 });
  const b = el('button', { type: 'button', id: 'close-conn', class: 'danger' }, 'Force close');
  on(b, 'click', () => action(b, async () => {
    const headers = {};
    if (reason.value.trim()) headers['X-Reason'] = reason.value.trim();
    await api(path('connections', name), { method: 'DELETE', headers });
    return 'Connection closed (320 CONNECTION_FORCED).';
  }));
  return el('section', { 'aria-labelledby': 'close-title' },
    el('h2', { id: 'close-title' }, 'Close this connection'),
    field('Reason', reason), el('div', { class: 'buttons' }, b));
}
