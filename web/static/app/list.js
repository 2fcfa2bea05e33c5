// The inbox's left pane, the thread list: the tabs and triage filters (triage.js), filters, search (with the hits in message text,
// search-results.js), paging,
// ticking rows for bulk actions (bulk.js), priority and labels on each row, live upserts of thread
// summaries from any source, rows of deleted threads dropped for good, unread badges and the top bar's counts, and marking the open thread
// read (which clears its badge for the other tabs and agents too). A row's click asks for the
// thread with an 'open-thread' event (events.js): thread.js imports this module.

import { api, qs } from './api.js';
import { buildBulkBar, toggleSelected } from './bulk.js';
import { avatar, channelTag, debounce, h, timeEl, toast } from './dom.js';
import { emit } from './events.js';
import { relTime, toDate } from './format.js';
import { PRIORITIES, labelChip, priorityBadge } from './labels.js';
import { me, team } from './session.js';
import { buildSimulator } from './simulator.js';
import { els, inbox, openId, seqs, view } from './state.js';
import { buildSearchResults, search as searchText } from './search-results.js';
import { renderThreadHeader } from './thread-header.js';
import { buildTriageBar, inTriage, loadCounts, scheduleCounts } from './triage.js';

/** Left pane: filters + list + simulator. */
export function buildListPane() {
  const f = inbox.filters;
  els.search = h('input', { type: 'search', id: 'thread-search', 'aria-label': 'Search threads', placeholder: 'Search name, phone, text…', 'data-testid': 'thread-search', autocomplete: 'off' });
  els.search.addEventListener('input', debounce(() => { f.search = els.search.value.trim(); loadThreads(); searchText(f.search); }, 250));
  const check = (key, label, testid) => {
    const input = h('input', { type: 'checkbox', id: `filter-${key}`, 'data-testid': testid });
    input.addEventListener('change', () => { f[key] = input.checked; loadThreads(); });
    return h('label', { class: 'chip', for: `filter-${key}` }, input, h('span', null, label));
  };
  els.channelFilter = h('select', { id: 'filter-channel', 'aria-label': 'Channel', 'data-testid': 'filter-channel' },
    h('option', { value: '' }, 'All channels'), h('option', { value: 'sms' }, 'SMS'), h('option', { value: 'whatsapp' }, 'WhatsApp'));
  els.channelFilter.addEventListener('change', () => { f.channel = els.channelFilter.value; loadThreads(); });

  els.list = h('ul', { class: 'thread-list', 'data-testid': 'thread-list', 'aria-label': 'Conversations' });
  els.listEmpty = h('p', { class: 'empty muted', 'data-testid': 'thread-list-empty', hidden: true }, 'No conversations match.');
  els.loadMore = h('button', { type: 'button', class: 'ghost load-more', hidden: true, 'data-testid': 'load-more', onclick: () => loadThreads(true) }, 'Load more');

  return h('section', { class: 'pane list-pane', 'aria-label': 'Conversations', 'data-testid': 'list-pane' },
    buildTriageBar(() => loadThreads()),
    buildBulkBar(),
    h('div', { class: 'filters', role: 'search' },
      els.search,
      h('div', { class: 'chips' }, check('unread', 'Unread', 'filter-unread'), check('scheduled', 'Scheduled', 'filter-scheduled')),
      h('div', { class: 'selects' }, els.channelFilter)),
    buildSearchResults(),
    els.list, els.listEmpty, els.loadMore,
    team.simulator_mode ? buildSimulator() : null);
}

// ---------------------------------------------------------------- thread list

function sortKey(t) {
  const d = toDate(t.last_message_at) || toDate(t.created_at);
  return d ? d.getTime() : 0;
}

const rank = (t) => PRIORITIES.indexOf(t.priority || 'none');

/** The rows in the list's order (what j/k walk). */
export function sortedThreads() {
  const byPriority = inbox.filters.sort === 'priority';
  return [...inbox.threads.values()].sort((a, b) => (byPriority ? rank(b) - rank(a) : 0) || (sortKey(b) - sortKey(a)) || (a.id < b.id ? 1 : -1));
}

function matchesFilters(t) {
  const f = inbox.filters;
  if (t.id === openId) return true; // never yank the open conversation out of the list
  if (!inTriage(t)) return false;
  if (f.unread && !(t.unread_count > 0 || t.marked_unread)) return false;
  if (f.scheduled && !(t.scheduled_count > 0)) return false;
  if (f.channel && t.channel && t.channel.kind !== f.channel) return false;
  if (f.mine && t.assignee_id !== me.id) return false;
  if (f.search) {
    // The server also matched message text this row may not show: a row it listed stays.
    const c = t.contact || {};
    const hay = [c.name, c.phone, t.last_preview].join(' ').toLowerCase();
    if (!hay.includes(f.search.toLowerCase()) && !inbox.threads.has(t.id)) return false;
  }
  return true;
}

export async function loadThreads(more) {
  const f = inbox.filters;
  const seq = ++inbox.loadSeq;
  const params = {
    unread: f.unread ? 'true' : '',
    scheduled: f.scheduled ? 'true' : '',
    channel: f.channel,
    view: f.view,
    assignee: f.mine ? 'me' : (f.unassigned ? 'none' : ''),
    label: f.label,
    priority: f.priority,
    sort: f.sort === 'priority' ? 'priority' : '',
    search: f.search,
    limit: 50,
    cursor: more ? inbox.nextCursor : '',
  };
  try {
    const data = await api('GET', `/api/threads${qs(params)}`);
    if (seq !== inbox.loadSeq) return; // a newer filter won
    if (!more) {
      const open = openId ? inbox.threads.get(openId) : null;
      inbox.threads.clear();
      if (open) inbox.threads.set(open.id, open);
    }
    for (const t of (data && data.items) || []) {
      if (inbox.deleted.has(t.id)) continue; // a page read just before the deletion
      if (t.id === openId) t.unread_count = 0;
      inbox.threads.set(t.id, t);
    }
    inbox.nextCursor = (data && data.next_cursor) || null;
    renderList();
    if (!more) loadCounts();
  } catch (err) {
    if (err.status !== 401) toast(`Could not load conversations: ${err.message}`, { kind: 'error' });
  }
}

/** Inserts or replaces a thread summary from any source and re-sorts the list. */
export function upsertThread(t, opts) {
  if (!t || !t.id || inbox.deleted.has(t.id)) return;
  // "Marked unread" is the reader's own: team events do not carry it, so a row keeps its mark.
  if (t.marked_unread === undefined) {
    const known = inbox.threads.get(t.id);
    if (known && known.marked_unread) t = Object.assign({}, t, { marked_unread: true });
  }
  scheduleCounts();
  if (t.id === openId) {
    // The open conversation never shows a badge (threadRow hides it); it is read for real as
    // soon as this tab is visible, which clears it for the other tabs and agents too.
    if (t.unread_count > 0 && !(opts && opts.keepUnread)) scheduleMarkRead();
    if (view && view.thread) {
      view.thread = t;
      renderThreadHeader();
    }
  }
  if (matchesFilters(t)) inbox.threads.set(t.id, t);
  else inbox.threads.delete(t.id);
  scheduleRenderList();
}

/**
 * Drops a deleted thread (thread.deleted: its contact was deleted with its threads) from the list
 * for good: a summary of it arriving late (the team channel coalesces thread.updated) or a list
 * page read before the deletion never brings it back. Closing it when open is thread.js's part.
 */
export function removeThread(id) {
  if (!id) return;
  inbox.deleted.add(id);
  seqs.delete(id);
  inbox.selected.delete(id);
  scheduleCounts();
  if (inbox.threads.delete(id)) scheduleRenderList();
}

let listFrame = 0;
export function scheduleRenderList() {
  if (listFrame) return;
  listFrame = requestAnimationFrame(() => { listFrame = 0; renderList(); });
}

export function renderList() {
  if (!els.list) return;
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement : null;
  const focusedId = focused ? focused.dataset.threadId : null;
  const focusedTestid = focused ? focused.dataset.testid : null;
  for (const id of [...inbox.selected]) if (!inbox.threads.has(id)) inbox.selected.delete(id);
  const rows = sortedThreads().map(threadRow);
  els.list.replaceChildren(...rows);
  els.listEmpty.hidden = rows.length > 0;
  els.loadMore.hidden = !inbox.nextCursor;
  if (focusedId) {
    const again = els.list.querySelector(`[data-testid="${focusedTestid}"][data-thread-id="${CSS.escape(focusedId)}"]`);
    if (again) again.focus();
  }
  renderCounts();
  emit('selection-changed');
}

function threadRow(t) {
  const c = t.contact || {};
  const kind = (t.channel && t.channel.kind) || 'sms';
  const unread = t.id === openId ? 0 : (t.unread_count || 0);
  const marked = t.id !== openId && !!t.marked_unread;
  const name = c.name || c.phone || 'Unknown';
  const btn = h('button', {
    type: 'button',
    class: `thread-row${unread || marked ? ' is-unread' : ''}${t.id === openId ? ' is-open' : ''}${t.id === inbox.cursorId ? ' is-cursor' : ''}`,
    'data-testid': 'thread-row',
    'data-thread-id': t.id,
    'data-unread': String(unread),
    'data-marked-unread': String(marked),
    'data-priority': t.priority || 'none',
    'aria-current': t.id === openId ? 'true' : null,
    onclick: () => emit('open-thread', { id: t.id, push: true }),
  },
  h('span', { class: 'row-top' },
    h('span', { class: 'row-name', 'data-testid': 'thread-name' }, name),
    channelTag(kind),
    h('span', { class: 'row-time muted' }, timeEl(t.last_message_at || t.created_at, relTime(t.last_message_at || t.created_at)))),
  h('span', { class: 'row-preview', 'data-testid': 'thread-preview' }, t.last_preview || (c.name ? c.phone : '') || 'No messages yet'),
  h('span', { class: 'row-meta' },
    h('span', { class: `status status-${t.status}`, 'data-testid': 'thread-status-label' }, t.status),
    priorityBadge(t.priority),
    ...(t.label_ids || []).map(labelChip),
    t.assignee_name ? h('span', { class: 'assignee', 'data-testid': 'thread-assignee-name', title: `Assigned to ${t.assignee_name}` }, avatar(t.assignee_id, t.assignee_name, { class: 'avatar avatar-xs' }), t.assignee_name) : null,
    t.scheduled_count > 0 ? h('span', { class: 'scheduled-count', title: `${t.scheduled_count} scheduled`, 'data-testid': 'scheduled-count' }, `◷ ${t.scheduled_count}`) : null,
    c.opted_out_at ? h('span', { class: 'opted-out-tag', 'data-testid': 'thread-opted-out' }, 'opted out') : null,
    unread ? h('span', { class: 'unread-badge', 'data-testid': 'unread-badge', 'aria-label': `${unread} unread` }, String(unread)) : null,
    !unread && marked ? h('span', { class: 'unread-dot', 'data-testid': 'marked-unread', 'aria-label': 'Marked unread' }) : null));
  // Ticking (shift: a range from the last ticked) selects rows for a bulk action.
  const box = h('input', { type: 'checkbox', class: 'row-select', checked: inbox.selected.has(t.id), 'aria-label': `Select ${name}`, 'data-testid': 'thread-select', 'data-thread-id': t.id,
    onclick: (e) => toggleSelected(t.id, e.target.checked, e.shiftKey, sortedThreads().map((r) => r.id)) });
  return h('li', { class: `thread-item${inbox.selected.has(t.id) ? ' is-selected' : ''}` }, box, btn);
}

function renderCounts() {
  const el = document.getElementById('counts');
  if (!el) return;
  let unread = 0;
  let open = 0;
  for (const t of inbox.threads.values()) {
    if (t.id !== openId && (t.unread_count > 0 || t.marked_unread)) unread += 1;
    if (t.status === 'open') open += 1;
  }
  el.textContent = `${open} open · ${unread} unread`;
}

// ---------------------------------------------------------------- read markers

let markReadTimer = null;
export function scheduleMarkRead() {
  if (!openId || document.visibilityState !== 'visible') return;
  clearTimeout(markReadTimer);
  const id = openId;
  markReadTimer = setTimeout(() => { if (openId === id) markRead(id); }, 400);
}

export async function markRead(id) {
  try {
    const t = await api('POST', `/api/threads/${encodeURIComponent(id)}/read`);
    if (t && t.id) upsertThread(t);
  } catch (_) { /* the badge is already cleared locally */ }
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && openId) {
    const t = inbox.threads.get(openId);
    if (t && t.unread_count > 0) scheduleMarkRead();
  }
});
