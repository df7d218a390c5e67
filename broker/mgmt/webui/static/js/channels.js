// channels.js: a connection's channels (GET /api/channels, filtered by name),
// or a note when the API has no such endpoint.
import { el, replace, table, num, text } from './dom.js';
import { api } from './api.js';

const COLUMNS = [
  { label: 'Channel' }, { label: 'Name' }, { label: 'State' }, { label: 'Prefetch', num: true },
  { label: 'Consumers', num: true }, { label: 'Unacknowledged', num: true }, { label: 'Mode' },
  { label: 'Published', num: true }, { label: 'Delivered / got', num: true }, { label: 'Acknowledged', num: true },
];

// mode is the channel's confirm or transactional mode in words.
function mode(ch) {
  if (ch.transactional) return 'transactional';
  if (ch.confirm) return 'confirm';
  return 'normal';
}

// stat is one of the channel's message counters, 0 when not reported.
function stat(ch, key) {
  return num((ch.message_stats || {})[key] || 0);
}

// loadChannels fetches the channels of connection name into box. It asks
// for GET /api/channels filtered by name (channel names are "CONNECTION
// (N)"), so that a connection closing meanwhile gives an empty list rather
// than an error answer (GET /api/connections/{name}/channels is a 500 then,
// as in RabbitMQ).
export async function loadChannels(box, name) {
  let chans;
  try {
    const q = new URLSearchParams({ page: '1', page_size: '500', name });
    const page = await api('/api/channels?' + q);
    chans = ((page && page.items) || []).filter((ch) => ch.connection_details && ch.connection_details.name === name);
  } catch (err) {
    if (err.status === 404) {
      replace(box, el('p', { id: 'channels-unavailable' }, 'Channel list not available: this broker answered 404 for its channels.'));
      return;
    }
    throw err;
  }
  chans = chans || [];
  replace(box, chans.length ? null : el('p', { id: 'channels-none' }, 'No channels open.'), table({ id: 'channels' }, COLUMNS, chans.map((ch) => [
    num(ch.number), text(ch.name), text(ch.state), num(ch.prefetch_count), num(ch.consumer_count),
    num(ch.messages_unacknowledged), mode(ch),
    stat(ch, 'publish'), stat(ch, 'deliver_get'), stat(ch, 'ack'),
  ]), (i) => ({ 'data-number': chans[i].number })));
}
