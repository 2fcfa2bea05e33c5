// Follow-ups (tasks on a conversation: call back, check an automatic SMS, anything by hand):
// the open thread's card in the right pane (mark done, add one) and "My follow-ups" in the list
// pane (pending, mine or nobody's, due within a day; overdue ones marked), kept live by the
// thread's and the team's follow_up.* events.

import { api, qs } from './api.js';
import { h, timeEl, toast } from './dom.js';
import { emit } from './events.js';
import { shortTime, toDate } from './format.js';
import { els, view } from './state.js';

const KIND = { callback: 'Call back', auto_sms: 'Check SMS', manual: 'To do' };

function overdue(f) {
  const at = toDate(f.due_at);
  return f.status === 'pending' && at && at.getTime() < Date.now();
}

function setStatus(f, status) {
  return api('PATCH', `/api/follow-ups/${encodeURIComponent(f.id)}`, { status })
    .then((updated) => { upsertFollowUp(updated); refreshMyFollowUps(); })
    .catch((err) => toast(err.message, { kind: 'error' }));
}

function item(f, withLink) {
  const done = f.status !== 'pending';
  return h('li', { class: `follow-up${overdue(f) ? ' overdue' : ''}${done ? ' done' : ''}`, 'data-testid': 'follow-up', 'data-follow-up-id': f.id, 'data-status': f.status },
    h('strong', null, KIND[f.type] || 'Follow-up'), ' ',
    overdue(f) ? h('span', { class: 'badge badge-overdue', 'data-testid': 'follow-up-overdue' }, 'Overdue') : null, ' ',
    h('span', { class: 'muted small' }, 'due ', timeEl(f.due_at, shortTime(f.due_at))),
    f.note ? h('div', { class: 'small' }, f.note) : null,
    withLink ? h('button', { type: 'button', class: 'link', 'data-testid': 'follow-up-open', onclick: () => emit('open-thread', { id: f.thread_id, push: true }) }, 'Open') : null,
    done ? h('span', { class: 'muted small' }, ` · ${f.status}`)
      : h('button', { type: 'button', class: 'link', 'data-testid': 'follow-up-done', onclick: () => setStatus(f, 'done') }, 'Done'));
}

/** The open thread's follow-ups card (right pane). */
export function buildFollowUpsCard() {
  els.followUps = h('ol', { class: 'plain-list follow-ups', 'data-testid': 'follow-ups' });
  const kind = h('select', { id: 'fu-kind', 'data-testid': 'follow-up-kind' }, ...Object.entries(KIND).map(([v, t]) => h('option', { value: v }, t)));
  const due = h('input', { id: 'fu-due', type: 'datetime-local', 'data-testid': 'follow-up-due' });
  const note = h('input', { id: 'fu-note', type: 'text', maxlength: '1000', placeholder: 'What to do', 'data-testid': 'follow-up-note', autocomplete: 'off' });
  const form = h('form', { class: 'note-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    if (!view) return;
    const at = due.value ? new Date(due.value) : new Date(Date.now() + 3600_000);
    try {
      const f = await api('POST', '/api/follow-ups', { thread_id: view.id, type: kind.value, due_at: at.toISOString(), note: note.value.trim() });
      upsertFollowUp(f);
      note.value = '';
    } catch (err) {
      toast(err.message, { kind: 'error' });
    }
  } },
  h('label', { for: 'fu-kind' }, 'Add a follow-up'), kind,
  h('label', { for: 'fu-due', class: 'sr-only' }, 'Due'), due,
  h('label', { for: 'fu-note', class: 'sr-only' }, 'Note'), note,
  h('button', { type: 'submit', class: 'secondary', 'data-testid': 'follow-up-add' }, 'Add'));
  return h('section', { class: 'card' }, h('h2', null, 'Follow-ups'), els.followUps, form);
}

/** Keeps a follow-up of the open thread (snapshot, answer or event) and redraws the card. */
export function upsertFollowUp(f) {
  if (!view || !f || f.thread_id !== view.id) return;
  view.followUps.set(f.id, f);
  renderFollowUps();
}

export function renderFollowUps() {
  if (!view || !els.followUps) return;
  const list = [...view.followUps.values()].sort((a, b) => (a.status === 'pending' ? 0 : 1) - (b.status === 'pending' ? 0 : 1) || String(a.due_at).localeCompare(String(b.due_at)));
  els.followUps.replaceChildren(...(list.length ? list.map((f) => item(f, false)) : [h('li', { class: 'muted small' }, 'Nothing to follow up.')]));
}

/** "My follow-ups" (list pane): pending, mine or nobody's, due within a day. */
export function buildMyFollowUps() {
  els.myFollowUps = h('ol', { class: 'plain-list follow-ups', 'data-testid': 'my-follow-ups' });
  els.myFollowUpsCount = h('span', { class: 'badge', 'data-testid': 'my-follow-ups-count' }, '0');
  refreshMyFollowUps();
  return h('details', { class: 'my-follow-ups', 'data-testid': 'my-follow-ups-panel' },
    h('summary', null, 'My follow-ups ', els.myFollowUpsCount), els.myFollowUps);
}

let refreshTimer = null;

/** Reloads "My follow-ups" (coalesced: a burst of events costs one request). */
export function refreshMyFollowUps() {
  if (!els.myFollowUps) return;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    try {
      const due = new Date(Date.now() + 24 * 3600_000).toISOString();
      const page = await api('GET', `/api/follow-ups${qs({ assignee: 'me_or_none', status: 'pending', due_before: due, limit: 50 })}`);
      const items = (page && page.items) || [];
      els.myFollowUps.replaceChildren(...(items.length ? items.map((f) => item(f, true)) : [h('li', { class: 'muted small' }, 'Nothing due.')]));
      els.myFollowUpsCount.textContent = String(items.length);
    } catch (_) { /* the next event or reload tries again */ }
  }, 100);
}
