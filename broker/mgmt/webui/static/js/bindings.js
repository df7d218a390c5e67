// bindings.js: a table of bindings, as GET .../bindings answers them.
import { el, table, text } from './dom.js';
import { queueHref } from './queues.js';
import { exchangeHref } from './exchanges.js';

const COLUMNS = [{ label: 'From' }, { label: 'To' }, { label: 'Routing key' }, { label: 'Arguments' }];

// link names a binding's end, linked to its page.
function link(vhost, kind, name) {
  if (kind === 'queue') return el('a', { href: queueHref(vhost, name) }, 'queue ' + name);
  return el('a', { href: exchangeHref(vhost, name) }, name === '' ? 'exchange (AMQP default)' : 'exchange ' + name);
}

// bindingsTable shows bindings in table #id (rows data-source and
// data-destination), or "None." when there are none.
export function bindingsTable(id, bs) {
  if (!bs || !bs.length) return el('p', { id }, 'None.');
  return table({ id }, COLUMNS, bs.map((b) => [
    link(b.vhost, 'exchange', b.source), link(b.vhost, b.destination_type, b.destination), text(b.routing_key),
    text(b.arguments && Object.keys(b.arguments).length ? b.arguments : null),
  ]), (i) => ({ 'data-source': bs[i].source, 'data-destination': bs[i].destination }));
}
