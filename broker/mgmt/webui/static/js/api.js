// api.js: the management API over fetch, with the credentials kept in
// sessionStorage and sent as an Authorization header. No cookie carries
// authority, and credentials: 'omit' keeps the browser from adding any it
// remembers (or from showing its own login dialog on a 401).

const KEY = 'beatmq.auth';

// ApiError is a non-2xx answer: status and RabbitMQ's error reason.
export class ApiError extends Error {
  constructor(status, reason) {
    super(reason ? `${reason} (HTTP ${status})` : `HTTP ${status}`);
    this.status = status;
    this.reason = reason;
  }
}

// b64 encodes a string's UTF-8 bytes in base64.
function b64(s) {
  let bin = '';
  for (const byte of new TextEncoder().encode(s)) bin += String.fromCharCode(byte);
  return btoa(bin);
}

// login keeps user:pass for this tab.
export function login(user, pass) {
  sessionStorage.setItem(KEY, JSON.stringify({ user, auth: 'Basic ' + b64(user + ':' + pass) }));
}

// setTags remembers the user's tags (from /api/whoami), for display only:
// the API decides what the user may do.
export function setTags(tags) {
  const s = session();
  if (!s) return;
  s.tags = Array.isArray(tags) ? tags : [];
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

// isAdmin tells whether the logged-in user has the administrator tag.
export function isAdmin() {
  const s = session();
  return !!(s && s.tags && s.tags.includes('administrator'));
}

// logout forgets them.
export function logout() {
  sessionStorage.removeItem(KEY);
}

// session is {user, auth} or null.
export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

// Called on a 401 for missing or wrong credentials (set by the app).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(f) {
  onUnauthorized = f;
}

// path joins segments into an API path, each one encoded on its own (the
// vhost "/" becomes %2F): path('queues', '/', 'q 1') → /api/queues/%2F/q%201.
// A name that is "." or ".." (or empty) cannot be sent as a segment, since
// URLs resolve dot segments even when encoded ("%2E"): it is refused rather
// than letting the request reach another path.
export function path(...segs) {
  for (const s of segs) {
    if (s === '' || s === '.' || s === '..') {
      throw new Error(`The name "${s}" cannot be used in an API URL.`);
    }
  }
  return '/api/' + segs.map((s) => encodeURIComponent(s)).join('/');
}

// api sends one request and resolves to the decoded JSON body (null for
// 204). opts: {method, body (JSON-encoded when not a string), headers}.
// A non-2xx answer rejects with ApiError.
export async function api(p, opts = {}) {
  const s = session();
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  if (s) headers.Authorization = s.auth;
  let body;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  const resp = await fetch(p, {
    method: opts.method || 'GET',
    headers,
    body,
    credentials: 'omit',
    cache: 'no-store',
    redirect: 'error',
  });
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!resp.ok) {
    const reason = data && typeof data === 'object' ? data.reason || data.error : '';
    // "Not administrator user" and the like are 401s too, but the login
    // itself is fine: only a failed login ends the session.
    if (resp.status === 401 && (!data || data.error === 'not_authorized' || reason === 'Not management user')) {
      onUnauthorized(reason || 'Login failed');
    }
    throw new ApiError(resp.status, typeof reason === 'string' ? reason : '');
  }
  return data;
}
