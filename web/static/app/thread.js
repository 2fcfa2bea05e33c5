// The open conversation (middle pane): building the pane, opening and closing a thread (URL,
// snapshot load, subscribing to its channel, events buffered while it loads, marking it read;
// closing it with a notice when it is deleted under us), paging to earlier messages, and saving its status, assignee,
// priority and labels (and "mark unread" for oneself). Its header is drawn by
// thread-header.js; the read markers live with the list (list.js).

import { api, qs } from './api.js';
import { h, toast } from './dom.js';
import { upsertCall } from './calls.js';
import { upsertRuleFiring } from './rule-firings.js';
import { renderFollowUps } from './follow-ups.js';
import { buildComposer, clearComposer, setComposerChannel } from './composer.js';
import { loadContact } from './contact.js';
import { markRead, renderList, upsertThread } from './list.js';
import { renderMessages } from './messages.js';
import { renderNotes } from './notes.js';
import { renderTyping } from './presence.js';
import { pusher } from './realtime.js';
import { team } from './session.js';
import { els, inbox, newView, openId, seqs, setOpenThread, setThreadChannel, threadChannel, view } from './state.js';
import { applyEvent, catchUp, subscribeThread } from './sync.js';
import { enableHeaderControls, renderThreadHeader } from './thread-header.js';
import { snoozeControl } from './snooze.js';
import { PRIORITIES, labelPicker } from './labels.js';

/** Middle pane: the placeholder, the "not found" message and the thread view with its composer. */
export function buildThreadPane() {
  els.placeholder = h('div', { class: 'placeholder', 'data-testid': 'no-thread' },
    h('div', { class: 'placeholder-icon', 'aria-hidden': 'true' }, '✉'),
    h('p', null, 'Select a conversation to read and reply.'),
    team.simulator_mode ? h('p', { class: 'muted' }, 'Simulator mode: use “Simulate an inbound message” to create one.') : null);

  els.back = h('button', { type: 'button', class: 'ghost back', 'data-testid': 'back', 'aria-label': 'Back to conversations', onclick: () => closeThread(true) }, '← Back');
  els.threadTitle = h('h2', { class: 'thread-title', 'data-testid': 'thread-title' });
  els.threadSub = h('div', { class: 'thread-sub muted' });
  els.viewers = h('div', { class: 'viewers', 'data-testid': 'viewers', 'aria-label': 'Also viewing' });
  els.statusSelect = h('select', { id: 'thread-status', 'aria-label': 'Thread status', 'data-testid': 'thread-status' },
    ...['open', 'pending', 'resolved', 'snoozed'].map((s) => h('option', { value: s }, s[0].toUpperCase() + s.slice(1))));
  els.statusSelect.addEventListener('change', () => patchThread({ status: els.statusSelect.value }));
  els.snooze = snoozeControl((at) => patchThread({ snoozed_until: at.toISOString() }));
  els.assigneeSelect = h('select', { id: 'thread-assignee', 'aria-label': 'Assignee', 'data-testid': 'thread-assignee' });
  els.assigneeSelect.addEventListener('change', () => patchThread({ assignee_id: els.assigneeSelect.value || null }));
  els.prioritySelect = h('select', { id: 'thread-priority', 'aria-label': 'Priority', 'data-testid': 'thread-priority' },
    ...PRIORITIES.map((p) => h('option', { value: p }, p === 'none' ? 'No priority' : p[0].toUpperCase() + p.slice(1))));
  els.prioritySelect.addEventListener('change', () => patchThread({ priority: els.prioritySelect.value }));
  els.threadLabels = h('span', { class: 'thread-labels', 'data-testid': 'thread-labels' });
  els.labelsButton = h('button', { type: 'button', class: 'ghost', 'data-testid': 'thread-labels-button', 'aria-keyshortcuts': 'l', title: 'Labels (L)', onclick: () => editLabels() }, 'Labels');
  els.markUnread = h('button', { type: 'button', class: 'ghost', 'data-testid': 'mark-unread', title: 'Mark unread (for you)', onclick: () => markUnread() }, 'Mark unread');

  els.loadEarlier = h('button', { type: 'button', class: 'ghost load-earlier', hidden: true, 'data-testid': 'load-earlier', onclick: loadEarlier }, 'Load earlier messages');
  els.messages = h('ol', { class: 'messages', 'data-testid': 'messages', 'aria-label': 'Messages', 'aria-live': 'polite' });
  els.messagesWrap = h('div', { class: 'messages-wrap', tabindex: '0', 'aria-label': 'Message history' }, els.loadEarlier, els.messages);
  els.typing = h('div', { class: 'typing', 'data-testid': 'typing', hidden: true, 'aria-live': 'polite' });

  els.composer = buildComposer();

  els.threadView = h('div', { class: 'thread-view', hidden: true, 'data-testid': 'thread-view' },
    h('header', { class: 'thread-header' },
      h('div', { class: 'thread-head-left' }, els.back, h('div', { class: 'thread-names' }, els.threadTitle, els.threadSub)),
      h('div', { class: 'thread-head-right' }, els.viewers,
        h('label', { class: 'sr-only', for: 'thread-status' }, 'Status'), els.statusSelect, els.snooze,
        h('label', { class: 'sr-only', for: 'thread-assignee' }, 'Assignee'), els.assigneeSelect,
        h('label', { class: 'sr-only', for: 'thread-priority' }, 'Priority'), els.prioritySelect,
        els.threadLabels, els.labelsButton, els.markUnread)),
    els.messagesWrap, els.typing, els.composer);
  els.threadNotFound = h('div', { class: 'placeholder', hidden: true, 'data-testid': 'thread-error' });

  return h('section', { class: 'pane thread-pane', 'aria-label': 'Conversation', 'data-testid': 'thread-pane' },
    els.placeholder, els.threadNotFound, els.threadView);
}

// ---------------------------------------------------------------- open / close a thread

export async function openThread(id, push, focus) {
  if (!id) return;
  if (openId === id && view && !view.failed) {
    document.body.classList.add('thread-open');
    if (focus && !view.loading) focusItem(id, focus);
    else if (focus) view.focus = focus;
    return;
  }
  leaveThread();
  setOpenThread(id, newView(id));
  if (push && window.location.pathname !== `/threads/${id}`) history.pushState({ threadId: id }, '', `/threads/${id}`);
  document.body.classList.add('thread-open');
  els.placeholder.hidden = true;
  els.threadNotFound.hidden = true;
  els.threadView.hidden = false;
  els.contactPane.hidden = false;
  els.threadTitle.textContent = 'Loading…';
  enableHeaderControls(false);
  els.threadSub.textContent = '';
  els.messages.replaceChildren();
  els.notes.replaceChildren();
  els.viewers.replaceChildren();
  clearComposer(true);
  renderTyping();
  const known = inbox.threads.get(id);
  if (known) inbox.threads.set(id, Object.assign({}, known, { unread_count: 0 }));
  renderList();
  subscribeThread(id);

  let data;
  try {
    data = await api('GET', `/api/threads/${encodeURIComponent(id)}`);
  } catch (err) {
    if (openId !== id) return;
    view.failed = true;
    els.threadView.hidden = true;
    els.contactPane.hidden = true;
    els.threadNotFound.hidden = false;
    els.threadNotFound.replaceChildren(h('p', null, err.status === 404 ? 'This conversation does not exist or was deleted.' : `Could not open the conversation: ${err.message}`));
    return;
  }
  if (openId !== id) return;
  const thread = Object.assign({}, data.thread, { unread_count: 0 });
  view.thread = thread;
  view.baseline = Number(thread.last_seq) || 0;
  seqs.set(id, Math.max(seqs.get(id) || 0, view.baseline));
  for (const m of data.messages || []) {
    view.messages.set(m.id, m);
    view.msgSeq.set(m.id, view.baseline);
  }
  for (const n of data.notes || []) view.notes.set(n.id, n);
  for (const c of data.calls || []) upsertCall(c);
  for (const e of data.rule_firings || []) upsertRuleFiring(e);
  for (const f of data.follow_ups || []) view.followUps.set(f.id, f);
  renderFollowUps();
  view.nextCursor = data.next_cursor || null;
  view.loading = false;
  inbox.threads.set(id, thread);
  renderList();
  renderThreadHeader();
  renderMessages(true);
  renderNotes();
  setComposerChannel();
  // Events that came on the socket while we loaded: keep those the snapshot does not have.
  const buffered = view.buffer;
  view.buffer = [];
  for (const [ev, name] of buffered) applyEvent(ev, name);
  markRead(id);
  loadContact(thread.contact && thread.contact.id);
  if (view.subscribedOnce) catchUp(id);
  if (window.matchMedia('(min-width: 761px)').matches) els.body.focus({ preventScroll: true });
  if (focus || view.focus) focusItem(id, focus || view.focus);
}

/**
 * Scrolls to a message or note of the open thread and highlights it (a search hit): older
 * messages are loaded page by page until it is there (at most 20 pages).
 */
async function focusItem(id, focus) {
  if (view) view.focus = null;
  if (focus.message_id) {
    for (let i = 0; i < 20 && view && view.id === id && !view.messages.has(focus.message_id) && view.nextCursor; i += 1) await loadEarlier();
  }
  if (!view || view.id !== id) return;
  const sel = focus.message_id ? `[data-message-id="${CSS.escape(focus.message_id)}"]` : `[data-note-id="${CSS.escape(focus.note_id || '')}"]`;
  const el = document.querySelector(sel);
  if (!el) return;
  el.scrollIntoView({ block: 'center' });
  el.classList.add('is-found');
  el.dataset.found = 'true';
  setTimeout(() => { el.classList.remove('is-found'); delete el.dataset.found; }, 4000);
}

export function closeThread(push) {
  leaveThread();
  setOpenThread(null, null);
  document.body.classList.remove('thread-open');
  els.threadView.hidden = true;
  els.contactPane.hidden = true;
  els.threadNotFound.hidden = true;
  els.placeholder.hidden = false;
  if (push && window.location.pathname !== '/') history.pushState({}, '', '/');
  renderList();
}

/** The open conversation `id` was deleted (with its contact): close it and say so. */
export function closeDeletedThread(id) {
  if (openId !== id) return;
  closeThread(false);
  // Its URL now names nothing: replace it, so Back does not lead to a 404.
  if (window.location.pathname !== '/') history.replaceState({}, '', '/');
  toast('This conversation was deleted.');
}

function leaveThread() {
  if (view) {
    for (const t of view.typers.values()) clearTimeout(t);
    view.typers.clear();
  }
  if (threadChannel && pusher) {
    threadChannel.unbind_all();
    pusher.unsubscribe(threadChannel.name);
  }
  setThreadChannel(null);
}

async function loadEarlier() {
  if (!view || !view.nextCursor) return;
  const id = view.id;
  els.loadEarlier.disabled = true;
  try {
    const data = await api('GET', `/api/threads/${encodeURIComponent(id)}${qs({ cursor: view.nextCursor })}`);
    if (!view || view.id !== id) return;
    for (const m of data.messages || []) {
      if (!view.messages.has(m.id)) {
        view.messages.set(m.id, m);
        view.msgSeq.set(m.id, view.baseline);
      }
    }
    view.nextCursor = data.next_cursor || null;
    const wrap = els.messagesWrap;
    const fromBottom = wrap.scrollHeight - wrap.scrollTop;
    renderMessages(false);
    wrap.scrollTop = wrap.scrollHeight - fromBottom;
  } catch (err) {
    toast(err.message, { kind: 'error' });
  } finally {
    els.loadEarlier.disabled = false;
  }
}

// ---------------------------------------------------------------- status, assignee, priority, labels

/** The open thread's labels, ticked in the picker (replacing its current ones). */
export function editLabels() {
  if (!view || !view.thread) return;
  labelPicker({ title: 'Labels', selected: view.thread.label_ids || [], onSave: (ids) => patchThread({ labels: ids }) });
}

/** Unread again for me alone: the conversation closes and its row shows unread. */
async function markUnread() {
  if (!view) return;
  const id = view.id;
  try {
    const t = await api('POST', `/api/threads/${encodeURIComponent(id)}/unread`);
    closeThread(true);
    if (t && t.id) upsertThread(t);
  } catch (err) {
    toast(err.message, { kind: 'error' });
  }
}

export async function patchThread(patch) {
  if (!view || !view.thread) return;
  const id = view.id;
  try {
    const t = await api('PATCH', `/api/threads/${encodeURIComponent(id)}`, patch);
    if (t && t.id) upsertThread(t);
  } catch (err) {
    toast(err.message, { kind: 'error' });
    if (view && view.id === id) renderThreadHeader();
  }
}
