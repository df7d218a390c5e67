// ui.js: the page's shared messages: #error for failures, #status for
// what an action did. An error remembers where it came from, so a poll that
// succeeds again clears its own error but not an action's.
import { $ } from './dom.js';

let errorSource = null;
let poller = { refresh() {}, async pause() {}, resume() {} };

// setPoller sets the current view's poll loop: refresh() polls now,
// pause() stops it (resolving once a poll in flight has finished),
// resume() starts it again. The app sets it for each view.
export function setPoller(p) {
  poller = p;
}

// refresh polls the current view now, so an action's effect shows at once.
export function refresh() {
  poller.refresh();
}

// pausePolling stops the current view's polling and waits for a poll in
// flight: an action that deletes what the view polls (a queue) calls it
// first, so that no poll asks for the object after it is gone (which would
// answer 404 and put an error in the browser's console). resumePolling
// undoes it (when the action failed); a route change ends it too.
export function pausePolling() {
  return poller.pause();
}

// resumePolling restarts polling after pausePolling.
export function resumePolling() {
  poller.resume();
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
