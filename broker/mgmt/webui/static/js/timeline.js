// timeline.js: a connection's heartbeat timeline: the age of the last
// inbound and outbound octet over the last minute, against T, 2T and 3T
// (RabbitMQ sends a heartbeat after T/2 without output and closes after 2T
// without input), with late warnings and fault changes as events.
import { el, replace } from './dom.js';
import { timeChart, legend } from './chart.js';

// WINDOW is the time shown, in seconds.
export const WINDOW = 60;
const MAX_EVENTS = 100;

// Timeline gathers samples and events from successive connection polls.
export class Timeline {
  constructor() {
    this.samples = [];
    this.events = [];
    this.prev = null;
    this.timeout = 0;
  }

  // add records one poll's connection c at t (seconds).
  add(t, c) {
    this.timeout = c.timeout || 0;
    this.samples.push({ t, recv: c.beatmq_heartbeat_recv_age_s, send: c.beatmq_heartbeat_send_age_s });
    while (this.samples.length && this.samples[0].t < t - WINDOW - 5) this.samples.shift();
    const p = this.prev;
    const late = c.beatmq_heartbeat_late_warnings || 0;
    if (p && late > (p.beatmq_heartbeat_late_warnings || 0)) {
      this.event(t, 'late', 'late heartbeat warning (' + late + ' so far)');
    }
    const was = p ? p.beatmq_fault || null : null, is = c.beatmq_fault || null;
    if (is && is !== was) this.event(t, 'fault', (p ? 'fault set: ' : 'fault in force: ') + is);
    if (!is && was) this.event(t, 'clear', 'fault cleared: ' + was);
    this.prev = c;
  }

  // closed records that the connection is gone.
  closed(t) {
    if (!this.events.some((e) => e.kind === 'closed')) this.event(t, 'closed', 'connection no longer open');
  }

  // event records an event.
  event(t, kind, label) {
    this.events.push({ t, kind, label });
    if (this.events.length > MAX_EVENTS) this.events.shift();
  }

  // draw renders the chart, its legend and the event list into box at now.
  draw(box, now) {
    const T = this.timeout;
    const levels = T ? [{ value: T, label: 'T = ' + T + ' s' }, { value: 2 * T, label: '2T' }, { value: 3 * T, label: '3T' }] : [];
    const short = { late: 'late', fault: 'fault', clear: 'cleared', closed: 'closed' };
    const chart = timeChart({
      id: 'hb-timeline', now, window: WINDOW, unit: 's', yMax: T ? 3.3 * T : 0,
      title: 'Heartbeat timeline: age of the last octet received and sent, last ' + WINDOW + ' seconds',
      desc: this.describe(),
      levels,
      events: this.events.map((e) => ({ t: e.t, kind: e.kind, label: short[e.kind] })),
      series: [
        { label: 'Since last octet received', points: this.samples.map((s) => [s.t, s.recv]).filter(([, v]) => typeof v === 'number') },
        { label: 'Since last octet sent', points: this.samples.map((s) => [s.t, s.send]).filter(([, v]) => typeof v === 'number') },
      ],
    });
    const list = el('ol', { id: 'hb-events', class: 'events', 'aria-label': 'Heartbeat events' },
      this.events.slice().reverse().map((e) => el('li', { 'data-event': e.kind }, clock(e.t) + ' — ' + e.label)));
    replace(box, chart,
      legend(['Age of the last octet received', 'Age of the last octet sent']),
      el('p', { class: 'muted' }, T
        ? 'Dashed horizontal lines: T, 2T and 3T. The broker sends a heartbeat after T/2 without output and closes the connection between 2T and 3T after the last octet received (it checks every T and closes at the second check that finds nothing new).'
        : 'Heartbeats are off on this connection (timeout 0), so there are no T lines.'),
      el('h3', null, 'Events'),
      this.events.length ? null : el('p', { id: 'hb-events-none' }, 'No events yet.'),
      list);
  }

  // describe sums up the last sample in words.
  describe() {
    const s = this.samples[this.samples.length - 1];
    if (!s) return 'No samples yet.';
    return `Last octet received ${s.recv} s ago, sent ${s.send} s ago; timeout T ${this.timeout} s; ${this.events.length} events.`;
  }
}

// clock writes t (seconds) as local hh:mm:ss.mmm.
function clock(t) {
  const d = new Date(t * 1000);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
