// args.js: a key/value table for arguments and policy definitions.
import { el, table, text } from './dom.js';

// argsTable shows an object's keys and values (values as JSON text), or
// "None" when it has none.
export function argsTable(id, obj) {
  const keys = Object.keys(obj || {}).sort();
  if (!keys.length) return el('p', { id }, 'None.');
  return table({ id }, [{ label: 'Key' }, { label: 'Value' }], keys.map((k) => [k, text(obj[k])]));
}
