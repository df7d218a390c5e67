// exchange.js: the #/exchanges/VHOST/NAME page: the exchange and the
// bindings it is the source of.
import { el, replace, facts, text } from './dom.js';
import { api, path } from './api.js';
import { features } from './exchanges.js';
import { bindingsTable } from './bindings.js';
import { argsTable } from './args.js';

// mount builds the page for params [vhost, name] and returns its poll.
export function mount(view, params) {
  const [vhost, ...rest] = params;
  const name = rest.join('/');
  const details = el('div', { id: 'exchange-details' });
  const bindings = el('div', { id: 'bindings-box' });
  replace(view,
    el('p', null, el('a', { href: '#/exchanges' }, '← All exchanges')),
    el('h1', null, 'Exchange ', el('q', null, name === 'amq.default' ? '(AMQP default)' : name), ' in virtual host ', el('q', null, vhost)),
    details, el('h2', null, 'Bindings from this exchange'), bindings);

  async function poll() {
    let x;
    try {
      x = await api(path('exchanges', vhost, name));
    } catch (err) {
      if (err.status !== 404) throw err;
      replace(details, el('p', { id: 'exchange-missing', class: 'state-bad' }, 'Not found: this exchange does not exist (any more).'));
      replace(bindings);
      return;
    }
    replace(details, facts([
      ['Type', text(x.type)], ['Features', features(x)], ['Policy', text(x.policy)],
    ], { id: 'exchange-facts' }), el('h2', null, 'Arguments'), argsTable('exchange-arguments', x.arguments));
    let bs;
    try {
      bs = await api(path('exchanges', vhost, name, 'bindings', 'source'));
    } catch (err) {
      if (err.status !== 404) throw err;
      replace(bindings, el('p', { id: 'bindings-unavailable' }, 'Bindings not available: this broker answered 404 for them.'));
      return;
    }
    replace(bindings, bindingsTable('bindings', bs));
  }
  return { poll, interval: 5000 };
}
