// Bulk actions from the inbox list: rows ticked with their checkbox (shift-click ticks the range
// from the last ticked row), then one bar of actions for all of them: assign to me or to a
// member, resolve, add a label, set a priority. One request (POST /api/threads/bulk) that the server carries out
// through each thread's actor; its per-thread answer updates the rows at once (the team
// channel brings the same rows to every other inbox) and failures are told.

import { api } from './api.js';
import { h, toast } from './dom.js';
import { emit, on } from './events.js';
import { PRIORITIES, labelPicker } from './labels.js';
import { me, membersList } from './session.js';
import { els, inbox } from './state.js';

let anchor = null; // the last row ticked: a shift-click ticks from it

/** Ticks or unticks row `id`; with `range`, every row between the anchor and it (in `order`). */
export function toggleSelected(id, checked, range, order) {
  if (range && anchor && anchor !== id && order.includes(anchor)) {
    const [a, b] = [order.indexOf(anchor), order.indexOf(id)].sort((x, y) => x - y);
    for (const rid of order.slice(a, b + 1)) {
      if (checked) inbox.selected.add(rid);
      else inbox.selected.delete(rid);
    }
  } else if (checked) {
    inbox.selected.add(id);
  } else {
    inbox.selected.delete(id);
  }
  anchor = id;
  syncBoxes();
  renderBulkBar();
}

export function clearSelection() {
  inbox.selected.clear();
  anchor = null;
  syncBoxes();
  renderBulkBar();
}

function syncBoxes() {
  for (const box of document.querySelectorAll('[data-testid="thread-select"]')) {
    box.checked = inbox.selected.has(box.dataset.threadId);
    box.closest('li').classList.toggle('is-selected', box.checked);
  }
}

/** The bar of actions, shown while rows are ticked. */
export function buildBulkBar() {
  const assign = h('select', { 'aria-label': 'Assign selected to', 'data-testid': 'bulk-assign', onchange: () => {
    const who = assign.value;
    assign.value = '';
    if (who) runBulk({ assignee_id: who === 'none' ? null : who }, 'assigned');
  } });
  assign.addEventListener('focus', () => fillAssignees(assign));
  fillAssignees(assign);
  els.bulkAssign = assign;
  const priority = h('select', { 'aria-label': 'Set the priority of the selected', 'data-testid': 'bulk-priority', onchange: () => {
    const p = priority.value;
    priority.value = '';
    if (p) runBulk({ priority: p }, `set to ${p} priority`);
  } }, h('option', { value: '' }, 'Priority…'), ...PRIORITIES.map((p) => h('option', { value: p }, p === 'none' ? 'No priority' : p[0].toUpperCase() + p.slice(1))));
  els.bulkCount = h('span', { class: 'bulk-count', 'data-testid': 'bulk-count' });
  els.bulkBar = h('div', { class: 'bulk-bar', hidden: true, role: 'toolbar', 'aria-label': 'Bulk actions', 'data-testid': 'bulk-bar' },
    els.bulkCount,
    h('button', { type: 'button', class: 'secondary', 'data-testid': 'bulk-assign-me', onclick: () => runBulk({ assignee_id: 'me' }, 'assigned to you') }, 'Assign to me'),
    assign,
    h('button', { type: 'button', class: 'secondary', 'data-testid': 'bulk-resolve', onclick: () => runBulk({ status: 'resolved' }, 'resolved') }, 'Resolve'),
    h('button', { type: 'button', class: 'secondary', 'data-testid': 'bulk-label', onclick: () => bulkLabel() }, 'Add label'),
    priority,
    h('button', { type: 'button', class: 'ghost', 'data-testid': 'bulk-clear', onclick: clearSelection }, 'Clear'));
  on('selection-changed', renderBulkBar);
  return els.bulkBar;
}

function fillAssignees(select) {
  select.replaceChildren(h('option', { value: '' }, 'Assign to…'), h('option', { value: 'none' }, 'Unassigned'),
    ...membersList.map((m) => h('option', { value: m.id }, m.id === me.id ? `${m.name} (me)` : m.name)));
}

function renderBulkBar() {
  if (!els.bulkBar) return;
  const n = inbox.selected.size;
  // The members may have loaded (or changed) since the bar was built.
  if (n && els.bulkBar.hidden) fillAssignees(els.bulkAssign);
  els.bulkBar.hidden = n === 0;
  els.bulkCount.textContent = `${n} selected`;
}

/** Asks for labels to add to the ticked rows (or to `ids`). */
export function bulkLabel(ids) {
  labelPicker({ title: 'Add labels', selected: [], onSave: (picked) => { if (picked.length) runBulk({ add_labels: picked }, 'labelled', ids); } });
}

/** Applies `change` to the ticked rows (or to `ids`) through POST /api/threads/bulk. */
export async function runBulk(change, done, ids) {
  const threadIds = ids || [...inbox.selected];
  if (!threadIds.length) return null;
  try {
    const answer = await api('POST', '/api/threads/bulk', Object.assign({ thread_ids: threadIds }, change));
    const rows = answer.results.filter((r) => r.ok).map((r) => r.thread);
    await emit('threads-changed', rows);
    if (answer.failed) {
      const first = answer.results.find((r) => !r.ok);
      toast(`${answer.failed} of ${threadIds.length} could not be changed: ${first.error.message}`, { kind: 'error' });
    } else {
      toast(`${answer.succeeded} conversation${answer.succeeded === 1 ? '' : 's'} ${done}.`, { ms: 3000 });
    }
    if (!ids) clearSelection();
    return answer;
  } catch (err) {
    toast(`Could not change the conversations: ${err.message}`, { kind: 'error' });
    return null;
  }
}
