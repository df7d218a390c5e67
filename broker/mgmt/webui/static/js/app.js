// app.js: login, hash routing and the polling loop that keeps the current
// view live. Each view module exports mount(container, params) and returns
// {poll, interval}: poll() fetches and redraws, and runs again interval ms
// after it finished, until the route changes.
import { $, el, replace } from './dom.js';
import { api, login, logout, session, setTags, setUnauthorizedHandler } from './api.js';
import { showError, clearError, status, takeFlash, setPoller } from './ui.js';
import * as overview from './overview.js';
import * as connections from './connections.js';
import * as connection from './connection.js';
import * as queues from './queues.js';
import * as queue from './queue.js';
import * as exchanges from './exchanges.js';
import * as exchange from './exchange.js';
import * as admin from './admin.js';

// routes: first hash segment → [nav name, view for no more segments, view
// with more segments].
const routes = {
  '': ['overview', overview],
  connections: ['connections', connections, connection],
  queues: ['queues', queues, queue],
  exchanges: ['exchanges', exchanges, exchange],
  admin: ['admin', admin],
};

// generation counts route changes; a poll loop stops when it is stale.
let generation = 0;

// parseHash splits "#/queues/%2F/q1" into ['queues', '/', 'q1'].
function parseHash() {
  const h = location.hash.replace(/^#\/?/, '');
  if (!h) return [''];
  return h.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
}

// showLogin shows the login form (and why, if reason is given).
function showLogin(reason) {
  generation++;
  document.title = 'beatmq: log in';
  $('login').hidden = false;
  $('nav').hidden = true;
  $('session').hidden = true;
  replace($('view'));
  if (reason) showError(reason);
  $('login-user').focus();
}

// route mounts the view for the current hash and starts its poll loop.
async function route() {
  const gen = ++generation;
  status(takeFlash());
  clearError();
  if (!session()) {
    showLogin();
    return;
  }
  $('login').hidden = true;
  $('nav').hidden = false;
  $('session').hidden = false;
  const s = session();
  $('whoami').textContent = 'User: ' + s.user + (s.tags && s.tags.length ? ' (' + s.tags.join(', ') + ')' : '');
  const [first, ...rest] = parseHash();
  const r = routes[first];
  const view = $('view');
  replace(view);
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (r && a.dataset.nav === r[0]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const mod = r && (rest.length && r[2] ? r[2] : r[1]);
  if (!mod) {
    replace(view, el('h1', null, 'Not found'), el('p', null, 'No such page. ', el('a', { href: '#/' }, 'Overview')));
    document.title = 'beatmq: not found';
    return;
  }
  let v;
  try {
    v = mod.mount(view, rest);
  } catch (err) {
    showError(err);
    return;
  }
  const h1 = view.querySelector('h1');
  document.title = 'beatmq: ' + (h1 ? h1.textContent : 'management');
  if (!v || !v.poll) return;
  // One poll at a time: a refresh asked for during a poll runs right after
  // it. An action may pause the loop (see ui.js pausePolling): no poll
  // starts until it resumes, and the pause waits for one in flight.
  let timer = null, running = null, again = false, paused = false;
  const loop = async () => {
    if (gen !== generation || paused) return;
    timer = null;
    let done;
    running = new Promise((resolve) => { done = resolve; });
    try {
      await v.poll();
      if (gen === generation) clearError('poll');
    } catch (err) {
      if (gen === generation) showError(err, 'poll');
    }
    running = null;
    done();
    if (gen !== generation || paused) return;
    if (again) {
      again = false;
      loop();
      return;
    }
    timer = setTimeout(loop, v.interval || 5000);
  };
  setPoller({
    refresh() {
      if (gen !== generation || paused) return;
      if (running) {
        again = true;
        return;
      }
      clearTimeout(timer);
      loop();
    },
    async pause() {
      paused = true;
      again = false;
      clearTimeout(timer);
      timer = null;
      if (running) await running;
    },
    resume() {
      if (gen !== generation || !paused) return;
      paused = false;
      loop();
    },
  });
  loop();
}

// start wires the login form, logout and routing.
function start() {
  setUnauthorizedHandler((reason) => {
    logout();
    showLogin(reason);
  });
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = $('login-user').value;
    login(user, $('login-pass').value);
    try {
      const me = await api('/api/whoami');
      setTags(me && me.tags);
    } catch (err) {
      logout();
      showLogin(err.status === 401 ? 'Login failed' : err.message);
      return;
    }
    $('login-pass').value = '';
    route();
  });
  $('logout').addEventListener('click', () => {
    logout();
    showLogin();
    status('Logged out');
  });
  window.addEventListener('hashchange', route);
  route();
}

start();
