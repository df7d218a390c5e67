// queues.js: the #/queues page, one row per queue (data-vhost, data-name).
import { el, replace, table, num, text } from './dom.js';
import { api } from './api.js';

const COLUMNS = [
  { label: 'Name' }, { label: 'Virtual host' }, { label: 'Type' }, { label: 'Features' }, { label: 'State' },
  { label: 'Ready', num: true }, { label: 'Unacknowledged', num: true }, { label: 'Total', num: true },
  { label: 'Consumers', num: true }, { label: 'Policy' },
];

// queueHref is the hash of a queue's page.
export function queueHref(vhost, name) {
  return '#/queues/' + encodeURIComponent(vhost) + '/' + encodeURIComponent(name);
}

// features writes a queue's flags in words, as RabbitMQ's UI abbreviates them.
function features(q) {
  const f = [];
  if (q.durable) f.push('durable');
  if (q.auto_delete) f.push('auto-delete');
  if (q.exclusive) f.push('exclusive');
  const args = Object.keys(q.arguments || {});
  if (args.length) f.push('args: ' + args.join(', '));
  return f.join('; ') || '—';
}

// mount builds the page and returns its poll.
export function mount(view) {
  const box = el('div', { id: 'queues-box' });
  const count = el('p', { id: 'queues-count' });
  replace(view, el('h1', null, 'Queues'), count, box);
  async function poll() {
    const qs = await api('/api/queues');
    count.textContent = qs.length === 1 ? '1 queue' : qs.length + ' queues';
    replace(box, table({ id: 'queues' }, COLUMNS, qs.map((q) => [
      el('a', { href: queueHref(q.vhost, q.name) }, q.name), text(q.vhost), text(q.type), features(q), text(q.state),
      num(q.messages_ready), num(q.messages_unacknowledged), num(q.messages), num(q.consumers), text(q.policy),
    ]), (i) => ({ 'data-vhost': qs[i].vhost, 'data-name': qs[i].name })));
  }
  return { poll, interval: 3000 };
}
