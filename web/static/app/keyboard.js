// The inbox's keyboard: j / k move the selection down and up the list (and open that
// conversation), e resolves, a assigns to me, l labels (the ticked rows when some are ticked,
// else the selected row), / starts a canned reply in the composer, ? shows the list of
// shortcuts. None fires while typing in a field, with a modifier, or over an open dialog; `c`
// (new conversation) is inbox.js's.

import { bulkLabel, runBulk } from './bulk.js';
import { h } from './dom.js';
import { emit } from './events.js';
import { renderList, sortedThreads } from './list.js';
import { els, inbox, openId } from './state.js';

export const SHORTCUTS = [
  ['j', 'Next conversation'],
  ['k', 'Previous conversation'],
  ['e', 'Resolve'],
  ['a', 'Assign to me'],
  ['l', 'Labels'],
  ['/', 'Insert a canned reply'],
  ['c', 'New conversation'],
  ['?', 'Show these shortcuts'],
];

/** Whether a key press is someone typing (a field, an editable element). */
export function typing(e) {
  const t = e.target;
  return !!(t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)));
}

/** The keydown handler for the inbox page. */
export function onInboxKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || typing(e) || document.querySelector('dialog[open]')) return;
  const run = {
    j: () => move(1),
    k: () => move(-1),
    e: () => act({ status: 'resolved' }, 'resolved'),
    a: () => act({ assignee_id: 'me' }, 'assigned to you'),
    l: () => label(),
    '/': () => reply(),
    '?': () => showShortcuts(),
  }[e.key];
  if (!run || (e.repeat && !'jk'.includes(e.key))) return;
  e.preventDefault();
  run();
}

/** The conversation the keys act on: the row moved to, else the open one. */
function current() {
  return inbox.cursorId || openId;
}

function move(step) {
  const ids = sortedThreads().map((t) => t.id);
  if (!ids.length) return;
  const at = ids.indexOf(current());
  const next = ids[at < 0 ? (step > 0 ? 0 : ids.length - 1) : Math.min(Math.max(at + step, 0), ids.length - 1)];
  inbox.cursorId = next;
  renderList();
  const row = els.list.querySelector(`[data-testid="thread-row"][data-thread-id="${CSS.escape(next)}"]`);
  if (row) row.scrollIntoView({ block: 'nearest' });
  emit('open-thread', { id: next, push: true });
}

function targets() {
  if (inbox.selected.size) return null; // the ticked rows
  const id = current();
  return id ? [id] : [];
}

function act(change, done) {
  const ids = targets();
  if (ids && !ids.length) return;
  runBulk(change, done, ids || undefined);
}

function label() {
  const ids = targets();
  if (ids && !ids.length) return;
  bulkLabel(ids || undefined);
}

function reply() {
  const body = els.body;
  if (!body || !openId || body.closest('[hidden]')) return;
  body.focus();
  if (!body.value.trim()) {
    body.value = '/';
    body.setSelectionRange(1, 1);
    body.dispatchEvent(new Event('input', { bubbles: true }));
  }
}

/** The dialog listing every shortcut. */
export function showShortcuts() {
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'shortcuts-title', 'data-testid': 'shortcuts-dialog' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'shortcuts-title' }, 'Keyboard shortcuts'),
      h('dl', { class: 'shortcuts' }, ...SHORTCUTS.flatMap(([key, what]) => [h('dt', null, h('kbd', { class: 'kbd' }, key)), h('dd', null, what)])),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'shortcuts-close' }, 'Close'))));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
