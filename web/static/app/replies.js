// The canned replies page: the team's replies (admins add, change and delete them; agents use
// them) and one's own personal ones, searchable, with a form that names the variables a body may
// use ({{contact.first_name}}, …) and inserts them at the caret. The server checks the template
// (a syntax error names its line and column) and the rules; this page shows its answer. Changes
// from other tabs and admins arrive as reply.changed / reply.deleted on the team channel (team
// replies) and on one's own user channel (personal ones), and redraw the list.

import { api, qs } from './api.js';
import { debounce, h, toast } from './dom.js';
import { keysetPager } from './pager.js';
import { connect, pusher } from './realtime.js';
import { isAdmin, main, me, team } from './session.js';

/** The variables every conversation knows (the team's custom contact fields come on top). */
const VARIABLES = [
  ['contact.first_name', 'Contact’s first name'],
  ['contact.last_name', 'Contact’s last name'],
  ['contact.name', 'Contact’s full name'],
  ['contact.phone', 'Contact’s phone'],
  ['contact.email', 'Contact’s email'],
  ['contact.company', 'Contact’s company'],
  ['agent.first_name', 'Your first name'],
  ['agent.name', 'Your full name'],
  ['agent.email', 'Your email'],
  ['team.name', 'Team name'],
];

const mayManage = (r) => r.scope === 'personal' || isAdmin;

export async function startReplies() {
  let editing = null; // the reply being changed, or null for a new one

  // --- The form
  const scope = h('select', { id: 'reply-scope', 'data-testid': 'reply-scope', disabled: !isAdmin },
    h('option', { value: 'personal' }, 'Personal (only you)'),
    isAdmin ? h('option', { value: 'team' }, 'Team (everyone)') : null);
  const shortcut = h('input', { id: 'reply-shortcut', type: 'text', placeholder: 'thanks', maxlength: '33', autocomplete: 'off', 'data-testid': 'reply-shortcut' });
  const title = h('input', { id: 'reply-title', type: 'text', placeholder: 'Thank you', maxlength: '100', autocomplete: 'off', 'data-testid': 'reply-title' });
  const body = h('textarea', { id: 'reply-body', rows: '4', maxlength: '1600', placeholder: 'Thanks, {{contact.first_name}}! — {{agent.first_name}}', 'data-testid': 'reply-body' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'reply-error' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'reply-save' }, 'Add reply');
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'reply-cancel', onclick: () => edit(null) }, 'Cancel');
  const formTitle = h('h2', { id: 'reply-form-title' }, 'New reply');
  const insertVariable = (name) => {
    const at = body.selectionStart ?? body.value.length;
    const end = body.selectionEnd ?? at;
    const text = `{{${name}}}`;
    body.value = body.value.slice(0, at) + text + body.value.slice(end);
    body.focus();
    body.setSelectionRange(at + text.length, at + text.length);
  };
  const chip = ([name, label]) => h('button', { type: 'button', class: 'link mono', title: label, onclick: () => insertVariable(name) }, `{{${name}}}`);
  const variables = h('div', { class: 'variables', 'data-testid': 'reply-variables' }, ...VARIABLES.map(chip));
  // The team's custom contact fields are variables too.
  api('GET', '/api/team/contact-fields').then((data) => {
    variables.append(...((data && data.fields) || []).map((f) => chip([`contact.${f.key}`, f.label])));
  }).catch(() => { /* the built-in variables are enough to go on */ });

  function edit(r) {
    editing = r;
    error.hidden = true;
    formTitle.textContent = r ? `Change /${r.shortcut}` : 'New reply';
    submit.textContent = r ? 'Save changes' : 'Add reply';
    cancel.hidden = !r;
    scope.value = r ? r.scope : 'personal';
    scope.disabled = !isAdmin || !!r; // the scope of a reply stays what it was made with
    shortcut.value = r ? r.shortcut : '';
    title.value = r ? r.title : '';
    body.value = r ? r.body : '';
    if (r) shortcut.focus();
  }

  const form = h('form', { class: 'grid-form', 'data-testid': 'reply-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    const payload = { shortcut: shortcut.value.trim(), title: title.value.trim(), body: body.value };
    try {
      if (editing) {
        await api('PATCH', `/api/replies/${encodeURIComponent(editing.id)}`, payload);
        toast(`/${payload.shortcut.replace(/^\//, '').toLowerCase()} saved.`);
      } else {
        await api('POST', '/api/replies', Object.assign({ scope: scope.value }, payload));
        toast('Reply added. Type / in a conversation to use it.');
      }
      edit(null);
      await load();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      const field = { shortcut, title, body }[err.field];
      if (field) field.focus();
    }
  } },
  h('label', { for: 'reply-scope' }, 'Who can use it'), scope,
  h('label', { for: 'reply-shortcut' }, 'Shortcut (after /)'), shortcut,
  h('label', { for: 'reply-title' }, 'Title'), title,
  h('label', { for: 'reply-body' }, 'Text'), body,
  h('span', { class: 'muted small' }, 'Variables'), variables,
  h('span'), h('span', { class: 'row' }, submit, cancel),
  error);

  // --- The list
  const search = h('input', { id: 'replies-search', type: 'search', placeholder: 'Search shortcuts and titles', 'data-testid': 'replies-search', 'aria-label': 'Search replies' });
  const rows = h('tbody', { 'data-testid': 'replies' });
  const empty = h('p', { class: 'muted small', hidden: true, 'data-testid': 'replies-empty' }, 'No replies yet.');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'replies-more' }, 'Show more');

  function row(r) {
    const actions = mayManage(r) ? [
      h('button', { type: 'button', class: 'link', 'data-testid': 'reply-edit', onclick: () => edit(r) }, 'Edit'),
      h('button', { type: 'button', class: 'link danger', 'data-testid': 'reply-delete', onclick: async () => {
        if (!window.confirm(`Delete /${r.shortcut}${r.scope === 'team' ? ' for the whole team' : ''}?`)) return;
        try {
          await api('DELETE', `/api/replies/${encodeURIComponent(r.id)}`);
          toast(`/${r.shortcut} deleted.`);
          if (editing && editing.id === r.id) edit(null);
          await load();
        } catch (err) {
          toast(err.message, { kind: 'error' });
        }
      } }, 'Delete'),
    ] : [h('span', { class: 'muted small' }, 'admins manage it')];
    return h('tr', { 'data-testid': 'reply-row', 'data-reply-id': r.id, 'data-shortcut': r.shortcut },
      h('td', { class: 'mono' }, `/${r.shortcut}`),
      h('td', null, r.title),
      h('td', { class: 'reply-text' }, r.body),
      h('td', null, h('span', { class: 'role-tag' }, r.scope === 'team' ? 'team' : 'mine')),
      h('td', { class: 'actions' }, ...actions));
  }

  const load = keysetPager({ path: () => `/api/replies${qs({ search: search.value.trim() })}`, body: rows, empty, more, row, what: 'replies' });
  search.addEventListener('input', debounce(() => load(), 250));

  main.replaceChildren(h('div', { class: 'settings', 'data-testid': 'replies-page' },
    h('h1', null, 'Canned replies'),
    h('p', { class: 'muted' }, 'Saved answers: type / and a few letters of the shortcut or title in a conversation’s reply box to insert one. Variables are filled in for that conversation; one without a value stays highlighted and must be replaced before sending.',
      isAdmin ? ' Team replies are for everyone; personal ones only for you.' : ' Team replies are managed by admins; personal ones are yours alone.'),
    h('section', { class: 'card', 'aria-labelledby': 'reply-form-title' }, formTitle, form),
    h('section', { class: 'card', 'aria-labelledby': 'replies-title' },
      h('h2', { id: 'replies-title' }, 'Replies'), search,
      h('div', { class: 'table-wrap' }, h('table', null,
        h('caption', { class: 'sr-only' }, 'Canned replies'),
        h('thead', null, h('tr', null, ...['Shortcut', 'Title', 'Text', 'For'].map((x) => h('th', { scope: 'col' }, x)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        rows)),
      empty, more)));

  connect();
  if (pusher) {
    const reload = debounce(() => load(), 100);
    for (const name of [`presence-team-${team.id || me.team_id}`, `private-user-${me.id}`]) {
      const ch = pusher.subscribe(name);
      ch.bind('reply.changed', reload);
      ch.bind('reply.deleted', reload);
    }
  }
  await load();
}
