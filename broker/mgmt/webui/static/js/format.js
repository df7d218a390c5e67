// format.js: how connection fields read in tables and facts, shared by the
// connections list and a connection's page.
import { text, num } from './dom.js';

// client is "product version" from the client properties.
export function client(c) {
  const p = c.client_properties || {};
  const parts = [p.product, p.version].filter((v) => v !== undefined && v !== null).map(text);
  return parts.length ? parts.join(' ') : '—';
}

// heartbeat is the negotiated timeout, "60 s" or "off".
export function heartbeat(c) {
  return c.timeout ? c.timeout + ' s' : 'off (0)';
}

// fault names the injected fault, or "none".
export function fault(c) {
  return c.beatmq_fault ? 'FAULT: ' + c.beatmq_fault : 'none';
}

// silence is a silence in units of T, or "—" without heartbeats.
export function silence(v) {
  return typeof v === 'number' ? num(v, 3) + ' T' : '—';
}

// seconds is a number of seconds to the millisecond.
export function seconds(v) {
  return typeof v === 'number' ? num(v, 3) + ' s' : text(v);
}

// connHref is the hash of a connection's page.
export function connHref(name) {
  return '#/connections/' + encodeURIComponent(name);
}
