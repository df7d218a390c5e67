// queues.js: placeholder until the view is written.
import { el, replace } from './dom.js';

export function mount(view) {
  replace(view, el('h1', null, 'queues'));
  return null;
}
