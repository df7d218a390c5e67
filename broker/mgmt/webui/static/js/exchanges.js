// exchanges.js: the #/exchanges page, one row per exchange (data-vhost,
// data-name; the default exchange's name is "").
import { el, replace, table, text } from './dom.js';
import { api } from './api.js';

const COLUMNS = [{ label: 'Name' }, { label: 'Virtual host' }, { label: 'Type' }, { label: 'Features' }, { label: 'Policy' }];

// urlName is the exchange's name in URLs: the default exchange is
// "amq.default", as in RabbitMQ's API.
export function urlName(name) {
  return name === '' ? 'amq.default' : name;
}

// exchangeHref is the hash of an exchange's page.
export function exchangeHref(vhost, name) {
  return '#/exchanges/' + encodeURIComponent(vhost) + '/' + encodeURIComponent(urlName(name));
}

// features writes an exchange's flags in words.
export function features(x) {
  const f = [];
  if (x.durable) f.push('durable');
  if (x.auto_delete) f.push('auto-delete');
  if (x.internal) f.push('internal');
  const args = Object.keys(x.arguments || {});
  if (args.length) f.push('args: ' + args.join(', '));
  return f.join('; ') || '—';
}

// mount builds the page and returns its poll.
export function mount(view) {
  const box = el('div', { id: 'exchanges-box' });
  replace(view, el('h1', null, 'Exchanges'), box);
  async function poll() {
    const xs = await api('/api/exchanges');
    replace(box, table({ id: 'exchanges' }, COLUMNS, xs.map((x) => [
      el('a', { href: exchangeHref(x.vhost, x.name) }, x.name === '' ? '(AMQP default)' : x.name),
      text(x.vhost), text(x.type), features(x), text(x.policy),
    ]), (i) => ({ 'data-vhost': xs[i].vhost, 'data-name': xs[i].name })));
  }
  return { poll, interval: 5000 };
}
