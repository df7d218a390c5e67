// queue.js: the #/queues/VHOST/NAME page: the queue, its arguments and
// effective policy, message counts over time, and get, publish, purge and
// delete.
import { el, replace, facts, num, text, on } from './dom.js';
import { api, path } from './api.js';
import { timeChart, legend } from './chart.js';
import { History, now } from './rates.js';
import { argsTable } from './args.js';
import { bindingsTable } from './bindings.js';
import { publishForm, getForm } from './messages.js';
import { action, flash, pausePolling, resumePolling } from './ui.js';

const WINDOW = 300;

// mount builds the page for params [vhost, name] and returns its poll.
export function mount(view, params) {
  const [vhost, ...rest] = params;
  const name = rest.join('/');
  const hist = new History(WINDOW + 10);
  const details = el('div', { id: 'queue-details' });
  const args = el('div', { id: 'queue-arguments-box' });
  const policy = el('div', { id: 'queue-policy-box' });
  const chart = el('div', { id: 'queue-chart-box' });
  const bindings = el('div', { id: 'queue-bindings-box' });
  replace(view,
    el('p', null, el('a', { href: '#/queues' }, '← All queues')),
    el('h1', null, 'Queue ', el('q', null, name), ' in virtual host ', el('q', null, vhost)),
    details,
    el('h2', null, 'Messages over time'), chart,
    el('h2', null, 'Arguments'), args,
    el('h2', null, 'Effective policy definition'), policy,
    el('h2', null, 'Bindings to this queue'), bindings,
    getForm(vhost, name), publishForm(vhost, name), dangerForm(vhost, name));

  async function poll() {
    let q;
    try {
      q = await api(path('queues', vhost, name));
    } catch (err) {
      if (err.status !== 404) throw err;
      replace(details, el('p', { id: 'queue-missing', class: 'state-bad' }, 'Not found: this queue does not exist (any more).'));
      return;
    }
    const t = now();
    hist.add({ t, ready: q.messages_ready, unacked: q.messages_unacknowledged });
    replace(details, facts([
      ['Type', text(q.type)], ['State', text(q.state)],
      ['Durable', q.durable ? 'yes' : 'no'], ['Auto-delete', q.auto_delete ? 'yes' : 'no'], ['Exclusive', q.exclusive ? 'yes' : 'no'],
      ['Messages ready', num(q.messages_ready)], ['Messages unacknowledged', num(q.messages_unacknowledged)],
      ['Messages total', num(q.messages)], ['Consumers', num(q.consumers)], ['Policy', text(q.policy)],
    ], { id: 'queue-facts' }));
    replace(args, argsTable('queue-arguments', q.arguments));
    replace(policy, argsTable('queue-effective-policy', q.effective_policy_definition));
    try {
      replace(bindings, bindingsTable('queue-bindings', await api(path('queues', vhost, name, 'bindings'))));
    } catch (err) {
      if (err.status !== 404) throw err;
      replace(bindings, el('p', { id: 'queue-bindings-unavailable' }, 'Bindings not available: this broker answered 404 for them.'));
    }
    replace(chart, timeChart({
      id: 'queue-chart', title: 'Messages in the queue, last 5 minutes', now: t, window: WINDOW, integer: true,
      series: [{ label: 'Ready', points: hist.series((s) => s.ready) }, { label: 'Unacknowledged', points: hist.series((s) => s.unacked) }],
    }), legend(['Ready', 'Unacknowledged']));
  }
  return { poll, interval: 2000 };
}

// dangerForm purges or deletes the queue.
function dangerForm(vhost, name) {
  const purge = el('button', { type: 'button', id: 'purge', class: 'danger' }, 'Purge messages');
  const del = el('button', { type: 'button', id: 'delete', class: 'danger' }, 'Delete queue');
  on(purge, 'click', () => action(purge, async () => {
    await api(path('queues', vhost, name, 'contents'), { method: 'DELETE' });
    return 'Queue purged.';
  }));
  on(del, 'click', () => action(del, async () => {
    // No poll of the queue once it is deleted: it would answer 404.
    await pausePolling();
    try {
      await api(path('queues', vhost, name), { method: 'DELETE' });
    } catch (err) {
      resumePolling();
      throw err;
    }
    flash('Queue ' + name + ' deleted.');
    location.hash = '#/queues';
    return '';
  }));
  return el('section', { 'aria-labelledby': 'danger-title' },
    el('h2', { id: 'danger-title' }, 'Purge or delete'),
    el('p', { class: 'muted' }, 'Both take effect at once, without a second question.'),
    el('div', { class: 'buttons' }, purge, del));
}
