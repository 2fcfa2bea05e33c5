// The inbox page's start-up and wiring: the three panes (list.js, thread.js, contact.js), the
// "New conversation" button and its `c` shortcut (new-conversation.js), the other keys
// (keyboard.js), the team's labels, bulk answers ('threads-changed'), the socket, members, the
// team and user channels (sync.js), the first page of threads, the thread in the URL and
// back/forward. It is the top of the inbox's modules: the ones below ask it to open a
// thread with an 'open-thread' event, or to close a deleted one with 'thread-deleted' (events.js),
// instead of importing thread.js.

import { bindHoursBadge, buildHoursBadge } from './business-hours.js';
import { h } from './dom.js';
import { buildFollowUpsCard, buildMyFollowUps } from './follow-ups.js';
import { emit, on } from './events.js';
import { buildContactPane } from './contact.js';
import { onInboxKey, showShortcuts, typing } from './keyboard.js';
import { loadLabels, onLabelsChanged } from './labels.js';
import { buildListPane, loadThreads, scheduleRenderList, upsertThread } from './list.js';
import { newConversationOpen, openNewConversation } from './new-conversation.js';
import { connect, exposeDebugHandle, onReconnect } from './realtime.js';
import { boot, loadMembers, main } from './session.js';
import { els, inbox } from './state.js';
import { resync, subscribeTeamAndUser } from './sync.js';
import { buildThreadPane, closeDeletedThread, closeThread, openThread } from './thread.js';
import { renderAssigneeOptions, renderThreadHeader } from './thread-header.js';

// ---------------------------------------------------------------- start

export async function startInbox() {
  on('open-thread', ({ id, push, focus }) => { inbox.cursorId = id; return openThread(id, push, focus); });
  // A bulk action's answer: the rows change at once (the team channel brings them to the others).
  on('threads-changed', (rows) => { for (const t of rows || []) upsertThread(t); });
  on('thread-deleted', ({ id }) => closeDeletedThread(id));
  buildInbox();
  connect();
  exposeDebugHandle();
  onReconnect(resync);
  await loadMembers();
  // A label renamed, recoloured or deleted: its chips on the rows and in the header follow.
  onLabelsChanged(() => { scheduleRenderList(); renderThreadHeader(); });
  loadLabels().catch(() => {});
  renderAssigneeOptions();
  subscribeTeamAndUser();
  bindHoursBadge();
  await loadThreads();
  const initial = boot.thread_id || (window.location.pathname.match(/^\/threads\/([^/]+)/) || [])[1];
  if (initial) {
    history.replaceState({ threadId: initial }, '', `/threads/${initial}`);
    openThread(initial, false);
  }
  window.addEventListener('popstate', () => {
    const m = window.location.pathname.match(/^\/threads\/([^/]+)/);
    if (m) openThread(decodeURIComponent(m[1]), false);
    else closeThread(false);
  });
  // Relative times age; refresh them without touching anything else.
  setInterval(() => scheduleRenderList(), 30000);
  document.addEventListener('keydown', onShortcut);
  document.addEventListener('keydown', onInboxKey);
}

/** The dialog, opening the new thread here once sent (it is in every inbox by then, live). */
function newConversation() {
  openNewConversation({ onSent: (id) => emit('open-thread', { id, push: true }) });
}

/** `c`: new conversation (not while typing, not with a modifier, not over a dialog). */
function onShortcut(e) {
  if (e.key !== 'c' || e.ctrlKey || e.metaKey || e.altKey || e.repeat || typing(e)) return;
  if (newConversationOpen() || document.querySelector('dialog[open]')) return;
  e.preventDefault();
  newConversation();
}

/** Builds the inbox's three panes: the thread list, the open thread, the contact + notes. */
function buildInbox() {
  const listPane = buildListPane();
  listPane.prepend(h('div', { class: 'list-head' },
    h('button', { type: 'button', class: 'primary', 'data-testid': 'new-conversation-button', 'aria-keyshortcuts': 'c', title: 'New conversation (C)', onclick: newConversation },
      'New conversation', h('kbd', { class: 'kbd', 'aria-hidden': 'true' }, 'C')),
    h('button', { type: 'button', class: 'ghost', 'data-testid': 'shortcuts-button', 'aria-keyshortcuts': '?', title: 'Keyboard shortcuts (?)', onclick: showShortcuts }, '?'),
    buildHoursBadge()));
  listPane.children[0].after(buildMyFollowUps());
  const threadPane = buildThreadPane();
  els.contactPane = buildContactPane();
  els.contactPane.append(buildFollowUpsCard());
  els.inbox = h('div', { class: 'inbox', 'data-testid': 'inbox' }, listPane, threadPane, els.contactPane);
  main.replaceChildren(els.inbox);
  renderAssigneeOptions();
}
