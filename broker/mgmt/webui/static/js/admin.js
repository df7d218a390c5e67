// admin.js: the #/admin page: users, virtual hosts, permissions and
// policies, each listed with delete buttons and an add form. The API
// decides who may do what; a section the user may not read says so.
import { el, replace, table, field, text, on } from './dom.js';
import { api, path } from './api.js';
import { action } from './ui.js';

// section is one admin list: a box refreshed by load, and a form.
function section(id, title, form) {
  const box = el('div', { id: id + '-box' });
  return { box, node: el('section', { 'aria-labelledby': id + '-title' }, el('h2', { id: id + '-title' }, title), box, form) };
}

// deleteButton is a button that DELETEs the API path of segs, with no
// second question.
function deleteButton(label, attrs, segs, done) {
  const b = el('button', { type: 'button', class: 'danger', ...attrs }, label);
  return on(b, 'click', () => action(b, async () => {
    await api(path(...segs), { method: 'DELETE' });
    return done;
  }));
}

// input is a named text input.
const input = (id, attrs) => el('input', { id, name: id, ...(attrs || {}) });

// form builds form #id whose button #submitId runs f through action().
function form(id, submitId, title, fields, f) {
  const submit = el('button', { type: 'submit', id: submitId }, title);
  const fm = el('form', { id }, el('fieldset', null, el('legend', null, title), fields, el('p', null, submit)));
  return on(fm, 'submit', (ev) => {
    ev.preventDefault();
    action(submit, f);
  });
}

// mount builds the page and returns its poll.
export function mount(view) {
  const users = section('users', 'Users', form('user-form', 'user-submit', 'Add or update a user', [
    field('Name', input('user-name', { required: true, autocomplete: 'off' })),
    field('Password', input('user-pass', { type: 'password', autocomplete: 'new-password' })),
    field('Tags (comma-separated)', input('user-tags', { placeholder: 'administrator, management' })),
  ], async () => {
    const name = document.getElementById('user-name').value;
    const body = { tags: document.getElementById('user-tags').value };
    const pass = document.getElementById('user-pass').value;
    if (pass) body.password = pass;
    await api(path('users', name), { method: 'PUT', body });
    return 'User ' + name + ' saved.';
  }));
  const vhosts = section('vhosts', 'Virtual hosts', form('vhost-form', 'vhost-submit', 'Add a virtual host', [
    field('Name', input('vhost-name', { required: true })),
  ], async () => {
    const name = document.getElementById('vhost-name').value;
    await api(path('vhosts', name), { method: 'PUT' });
    return 'Virtual host ' + name + ' saved.';
  }));
  const perms = section('permissions', 'Permissions', form('perm-form', 'perm-submit', 'Set a permission', [
    field('User', input('perm-user', { required: true })), field('Virtual host', input('perm-vhost', { required: true, value: '/' })),
    field('Configure', input('perm-configure', { value: '.*' })), field('Write', input('perm-write', { value: '.*' })),
    field('Read', input('perm-read', { value: '.*' })),
  ], async () => {
    const v = (id) => document.getElementById(id).value;
    await api(path('permissions', v('perm-vhost'), v('perm-user')), {
      method: 'PUT', body: { configure: v('perm-configure'), write: v('perm-write'), read: v('perm-read') },
    });
    return 'Permission of ' + v('perm-user') + ' in ' + v('perm-vhost') + ' saved.';
  }));
  const applyTo = el('select', { id: 'policy-apply-to', name: 'apply-to' },
    ['all', 'queues', 'exchanges'].map((a) => el('option', { value: a }, a)));
  const policies = section('policies', 'Policies', form('policy-form', 'policy-submit', 'Add or update a policy', [
    field('Virtual host', input('policy-vhost', { required: true, value: '/' })), field('Name', input('policy-name', { required: true })),
    field('Pattern', input('policy-pattern', { required: true, placeholder: '^orders\\.' })), field('Apply to', applyTo),
    field('Priority', input('policy-priority', { type: 'number', value: '0' })),
    field('Definition (JSON)', el('textarea', { id: 'policy-definition', name: 'definition', rows: 3, placeholder: '{"max-length": 1000}' })),
  ], async () => {
    const v = (id) => document.getElementById(id).value;
    let def;
    try {
      def = JSON.parse(v('policy-definition') || '{}');
    } catch (err) {
      throw new Error('Definition is not JSON: ' + err.message);
    }
    await api(path('policies', v('policy-vhost'), v('policy-name')), {
      method: 'PUT', body: { pattern: v('policy-pattern'), definition: def, priority: Number(v('policy-priority')) || 0, 'apply-to': applyTo.value },
    });
    return 'Policy ' + v('policy-name') + ' saved.';
  }));
  replace(view, el('h1', null, 'Admin'), users.node, vhosts.node, perms.node, policies.node);

  // load fills one box, or says why it cannot.
  async function load(box, apiPath, render) {
    try {
      replace(box, render(await api(apiPath)));
    } catch (err) {
      if (err.status !== 401 && err.status !== 404) throw err;
      replace(box, el('p', { class: 'unavailable' }, 'Not available to this user: ' + (err.reason || err.message)));
    }
  }
  async function poll() {
    await Promise.all([
      load(users.box, '/api/users', (us) => table({ id: 'users' }, [{ label: 'Name' }, { label: 'Tags' }, { label: 'Action' }],
        us.map((u) => [u.name, (u.tags || []).join(', ') || '—',
          deleteButton('Delete', { 'data-delete-user': u.name, 'aria-label': 'Delete user ' + u.name }, ['users', u.name], 'User ' + u.name + ' deleted.')]),
        (i) => ({ 'data-name': us[i].name }))),
      load(vhosts.box, '/api/vhosts', (vs) => table({ id: 'vhosts' }, [{ label: 'Name' }, { label: 'Action' }],
        vs.map((v) => [v.name,
          deleteButton('Delete', { 'data-delete-vhost': v.name, 'aria-label': 'Delete virtual host ' + v.name }, ['vhosts', v.name], 'Virtual host ' + v.name + ' deleted.')]),
        (i) => ({ 'data-name': vs[i].name }))),
      load(perms.box, '/api/permissions', (ps) => table({ id: 'permissions' },
        [{ label: 'User' }, { label: 'Virtual host' }, { label: 'Configure' }, { label: 'Write' }, { label: 'Read' }, { label: 'Action' }],
        ps.map((p) => [p.user, p.vhost, p.configure, p.write, p.read,
          deleteButton('Delete', { 'data-delete-permission': p.user, 'data-vhost': p.vhost, 'aria-label': 'Delete permission of ' + p.user + ' in ' + p.vhost },
            ['permissions', p.vhost, p.user], 'Permission deleted.')]),
        (i) => ({ 'data-user': ps[i].user, 'data-vhost': ps[i].vhost }))),
      load(policies.box, '/api/policies', (ps) => table({ id: 'policies' },
        [{ label: 'Name' }, { label: 'Virtual host' }, { label: 'Pattern' }, { label: 'Apply to' }, { label: 'Definition' }, { label: 'Priority', num: true }, { label: 'Action' }],
        ps.map((p) => [p.name, p.vhost, p.pattern, p['apply-to'], text(p.definition), String(p.priority),
          deleteButton('Delete', { 'data-delete-policy': p.name, 'data-vhost': p.vhost, 'aria-label': 'Delete policy ' + p.name + ' in ' + p.vhost },
            ['policies', p.vhost, p.name], 'Policy ' + p.name + ' deleted.')]),
        (i) => ({ 'data-name': ps[i].name, 'data-vhost': ps[i].vhost }))),
    ]);
  }
  return { poll, interval: 5000 };
}
