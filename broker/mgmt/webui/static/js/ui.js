// ui.js: the page's shared messages: #error for failures, #status for
// what an action did.
import { $ } from './dom.js';

// showError writes msg (an Error or a string) to #error.
export function showError(msg) {
  const e = $('error');
  e.textContent = msg instanceof Error ? msg.message : String(msg);
  e.hidden = false;
}

// clearError empties #error.
export function clearError() {
  const e = $('error');
  e.textContent = '';
  e.hidden = true;
}

// status writes what an action did to #status.
export function status(msg) {
  $('status').textContent = msg;
}
