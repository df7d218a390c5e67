// ui.js: the page's shared messages: #error for failures, #status for
// what an action did. An error remembers where it came from, so a poll that
// succeeds again clears its own error but not an action's.
import { $ } from './dom.js';

let errorSource = null;
let refresher = () => {};

// setRefresher sets what refresh() does: poll the current view now (the
// app sets it for each view).
export function setRefresher(f) {
  refresher = f;
}

// refresh polls the current view now, so an action's effect shows at once.
export function refresh() {
  refresher();
}

// showError writes msg (an Error or a string) to #error; source is 'poll'
// for the polling loop, 'action' (the default) for what a user did.
export function showError(msg, source = 'action') {
  const e = $('error');
  e.textContent = msg instanceof Error ? msg.message : String(msg);
  e.hidden = false;
  errorSource = source;
}

// clearError empties #error, or only when the error came from source.
export function clearError(source) {
  if (source && source !== errorSource) return;
  const e = $('error');
  e.textContent = '';
  e.hidden = true;
  errorSource = null;
}

// status writes what an action did to #status.
export function status(msg) {
  $('status').textContent = msg;
}

// action runs f for a button or form: clears the messages, reports f's
// result text to #status or its failure to #error, and keeps the button
// disabled meanwhile.
export async function action(button, f) {
  clearError();
  status('');
  if (button) button.disabled = true;
  try {
    const msg = await f();
    if (msg) status(msg);
    refresh();
  } catch (err) {
    showError(err);
  } finally {
    if (button) button.disabled = false;
  }
}

let flashed = '';

// flash keeps msg for #status after the next route change (which clears
// it otherwise): what an action that leaves the page did.
export function flash(msg) {
  flashed = msg;
}

// takeFlash returns the flashed message once.
export function takeFlash() {
  const m = flashed;
  flashed = '';
  return m;
}
