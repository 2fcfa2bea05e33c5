// The inbox page's start-up and wiring: the three panes (list.js, thread.js, contact.js), the
// "New conversation" button and its `c` shortcut (new-conversation.js), the socket, members, the
// team and user channels (sync.js), the first page of threads, the thread in the URL and
// back/forward. It is the top of the inbox's modules: the ones below ask it to open a
// thread with an 'open-thread' event, or to close a deleted one with 'thread-deleted' (events.js),
// instead of importing thread.js.

import { h } from './dom.js';
import { emit, on } from './events.js';
import { buildContactPane } from './contact.js';
import { buildListPane, loadThreads, scheduleRenderList } from './list.js';
import { newConversationOpen, openNewConversation } from './new-conversation.js';
import { connect, exposeDebugHandle, onReconnect } from './realtime.js';
import { boot, loadMembers, main } from './session.js';
import { els } from './state.js';
import { resync, subscribeTeamAndUser } from './sync.js';
import { buildThreadPane, closeDeletedThread, closeThread, openThread } from './thread.js';
import { renderAssigneeOptions } from './thread-header.js';

// ---------------------------------------------------------------- start

export async function startInbox() {
  on('open-thread', ({ id, push }) => openThread(id, push));
  on('thread-deleted', ({ id }) => closeDeletedThread(id));
  buildInbox();
  connect();
  exposeDebugHandle();
  onReconnect(resync);
  await loadMembers();
  renderAssigneeOptions();
  subscribeTeamAndUser();
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
}

/** The dialog, opening the new thread here once sent (it is in every inbox by then, live). */
function newConversation() {
  openNewConversation({ onSent: (id) => emit('open-thread', { id, push: true }) });
}

/** Whether a key press is someone typing (a field, an editable element): no shortcut then. */
function typing(e) {
  const t = e.target;
  return !!(t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)));
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
      'New conversation', h('kbd', { class: 'kbd', 'aria-hidden': 'true' }, 'C'))));
  const threadPane = buildThreadPane();
  els.contactPane = buildContactPane();
  els.inbox = h('div', { class: 'inbox', 'data-testid': 'inbox' }, listPane, threadPane, els.contactPane);
  main.replaceChildren(els.inbox);
  renderAssigneeOptions();
}
