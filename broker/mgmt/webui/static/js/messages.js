// messages.js: a queue page's get and publish forms. Message bodies,
// headers and properties are shown as text only.
import { el, replace, facts, field, num, text, on } from './dom.js';
import { api, path } from './api.js';
import { action } from './ui.js';
import { argsTable } from './args.js';

// publishForm publishes to the queue through the default exchange
// (routing key = queue name).
export function publishForm(vhost, name) {
  const body = el('textarea', { id: 'publish-body', name: 'payload', rows: 4 });
  const mode = el('select', { id: 'publish-delivery-mode', name: 'delivery_mode' },
    el('option', { value: '1' }, '1 - non-persistent'), el('option', { value: '2' }, '2 - persistent'));
  const result = el('p', { id: 'publish-result', role: 'status' });
  const submit = el('button', { type: 'submit', id: 'publish-submit' }, 'Publish message');
  const form = el('form', { id: 'publish-form' },
    field('Payload', body), field('Delivery mode', mode), el('p', null, submit), result);
  on(form, 'submit', (ev) => {
    ev.preventDefault();
    action(submit, async () => {
      result.textContent = '';
      const r = await api(path('exchanges', vhost, 'amq.default', 'publish'), {
        method: 'POST',
        body: {
          properties: { delivery_mode: Number(mode.value) }, routing_key: name,
          payload: body.value, payload_encoding: 'string',
        },
      });
      result.textContent = r && r.routed ? 'Message published.' : 'Message published, but not routed to any queue.';
      result.setAttribute('data-routed', r && r.routed ? 'true' : 'false');
      return '';
    });
  });
  return el('section', { 'aria-labelledby': 'publish-title' },
    el('h2', { id: 'publish-title' }, 'Publish a message'),
    el('p', { class: 'muted' }, 'Sent to the default exchange with this queue\'s name as routing key.'), form);
}

// getForm gets messages (requeued or acknowledged) and shows them in
// #get-results.
export function getForm(vhost, name) {
  const count = el('input', { id: 'get-count', name: 'count', type: 'number', min: '1', max: '1000', value: '1', required: true });
  const ackmode = el('select', { id: 'get-ackmode', name: 'ackmode' },
    el('option', { value: 'ack_requeue_true' }, 'Nack, requeue: the messages stay in the queue'),
    el('option', { value: 'ack_requeue_false' }, 'Ack: the messages are removed'));
  const encoding = el('select', { id: 'get-encoding', name: 'encoding' },
    el('option', { value: 'auto' }, 'Automatic string/base64'), el('option', { value: 'base64' }, 'base64'));
  const results = el('div', { id: 'get-results', 'aria-live': 'polite' });
  const submit = el('button', { type: 'submit', id: 'get-submit' }, 'Get messages');
  const form = el('form', { id: 'get-form' },
    field('Messages', count), field('Ack mode', ackmode), field('Encoding', encoding), el('p', null, submit));
  on(form, 'submit', (ev) => {
    ev.preventDefault();
    action(submit, async () => {
      const msgs = await api(path('queues', vhost, name, 'get'), {
        method: 'POST',
        body: { count: Number(count.value) || 1, ackmode: ackmode.value, encoding: encoding.value, truncate: 50000 },
      });
      showMessages(results, msgs || []);
      return '';
    });
  });
  return el('section', { 'aria-labelledby': 'get-title' },
    el('h2', { id: 'get-title' }, 'Get messages'), form, results);
}

// showMessages lists the messages got.
function showMessages(box, msgs) {
  if (!msgs.length) {
    replace(box, el('p', { 'data-count': '0' }, 'Queue is empty.'));
    return;
  }
  replace(box, el('p', { 'data-count': msgs.length }, msgs.length === 1 ? '1 message' : msgs.length + ' messages'),
    msgs.map((m, i) => {
      const props = { ...(m.properties || {}) };
      const headers = props.headers;
      delete props.headers;
      return el('article', { class: 'message', 'data-index': i },
        el('h3', null, 'Message ' + (i + 1)),
        facts([
          ['Exchange', m.exchange === '' ? '(AMQP default)' : text(m.exchange)], ['Routing key', text(m.routing_key)],
          ['Redelivered', m.redelivered ? 'yes' : 'no'], ['Left in queue', num(m.message_count)],
          ['Payload', num(m.payload_bytes) + ' bytes, encoding ' + text(m.payload_encoding)],
        ]),
        el('h4', null, 'Properties'), argsTable('get-properties-' + i, props),
        el('h4', null, 'Headers'), argsTable('get-headers-' + i, headers),
        el('h4', null, 'Payload'), el('pre', { class: 'payload', 'data-test': 'payload' }, text(m.payload)));
    }));
}
