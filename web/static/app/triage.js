// The inbox's tabs and triage filters above the thread list: Open (open + pending), Snoozed,
// Resolved and All with their counts (GET /api/threads/counts, read again shortly after any
// thread event so they stay live), "Mine" and "Unassigned" (with counts of the Open tab), and
// filters by label and priority plus the order (newest or by priority). list.js draws it and
// reloads the list when it changes.

import { api } from './api.js';
import { h } from './dom.js';
import { PRIORITIES, labels, onLabelsChanged } from './labels.js';
import { inbox } from './state.js';

const TABS = [['open', 'Open'], ['snoozed', 'Snoozed'], ['resolved', 'Resolved'], ['all', 'All']];
const bar = {};

/** The tab bar and the triage filters; `onChange()` reloads the list. */
export function buildTriageBar(onChange) {
  const f = inbox.filters;
  bar.tabs = TABS.map(([key, label]) => h('button', {
    type: 'button', role: 'tab', class: 'tab', 'data-testid': `tab-${key}`, 'data-view': key,
    onclick: () => { f.view = key; renderTabs(); onChange(); },
  }, label, ' ', h('span', { class: 'tab-count', 'data-testid': `tab-count-${key}` })));
  // Mine and Unassigned narrow the tab; ticking one unticks the other.
  const toggle = (key, other, label) => {
    const input = h('input', { type: 'checkbox', id: `filter-${key}`, 'data-testid': `filter-${key}` });
    input.addEventListener('change', () => { f[key] = input.checked; if (f[key]) f[other] = false; renderTabs(); onChange(); });
    bar[`${key}Input`] = input;
    return h('label', { class: 'chip', for: `filter-${key}` }, input, h('span', null, label), h('span', { class: 'tab-count', 'data-testid': `count-${key}` }));
  };
  bar.mine = toggle('mine', 'unassigned', 'Mine');
  bar.unassigned = toggle('unassigned', 'mine', 'Unassigned');
  bar.label = h('select', { 'aria-label': 'Label', 'data-testid': 'filter-label', onchange: () => { f.label = bar.label.value; onChange(); } });
  bar.priority = h('select', { 'aria-label': 'Priority', 'data-testid': 'filter-priority', onchange: () => { f.priority = bar.priority.value; onChange(); } },
    h('option', { value: '' }, 'Any priority'), ...PRIORITIES.map((p) => h('option', { value: p }, p[0].toUpperCase() + p.slice(1))));
  bar.sort = h('select', { 'aria-label': 'Order', 'data-testid': 'sort', onchange: () => { f.sort = bar.sort.value; onChange(); } },
    h('option', { value: 'recent' }, 'Newest first'), h('option', { value: 'priority' }, 'Priority first'));
  onLabelsChanged(renderLabelFilter);
  renderLabelFilter();
  renderTabs();
  return h('div', { class: 'triage' },
    h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Inbox views', 'data-testid': 'inbox-tabs' }, ...bar.tabs),
    h('div', { class: 'chips' }, bar.mine, bar.unassigned),
    h('div', { class: 'selects' }, bar.label, bar.priority, bar.sort));
}

function renderLabelFilter() {
  if (!bar.label) return;
  const current = inbox.filters.label;
  bar.label.replaceChildren(h('option', { value: '' }, 'Any label'), ...[...labels.values()].map((l) => h('option', { value: l.id }, l.name)));
  bar.label.value = labels.has(current) ? current : '';
  if (current && !labels.has(current)) inbox.filters.label = '';
}

function renderTabs() {
  const f = inbox.filters;
  for (const tab of bar.tabs || []) {
    const on = tab.dataset.view === f.view;
    tab.classList.toggle('is-on', on);
    tab.setAttribute('aria-selected', String(on));
  }
  for (const key of ['mine', 'unassigned']) {
    if (bar[`${key}Input`]) bar[`${key}Input`].checked = !!f[key];
  }
  const c = inbox.counts;
  for (const [key] of TABS) {
    const el = document.querySelector(`[data-testid="tab-count-${key}"]`);
    if (el) el.textContent = c ? String(c[key]) : '';
  }
  for (const key of ['mine', 'unassigned']) {
    const el = document.querySelector(`[data-testid="count-${key}"]`);
    if (el) el.textContent = c ? String(c[key]) : '';
  }
}

/** Reads the counts now. */
export async function loadCounts() {
  try {
    inbox.counts = await api('GET', '/api/threads/counts');
    renderTabs();
  } catch (_) { /* the counts stay as they were; the next event tries again */ }
}

// How old the server's counts may be (`tab_counts::TTL`): a node reads a team's rows at most
// once a second and answers every reader from them.
const SERVER_COUNTS_TTL_MS = 1000;
let countsTimer = null;
let lastEvent = 0;

/**
 * Reads the counts again within a second: thread events come in bursts, and one read answers
 * the whole burst (on a team of 100,000 threads a read costs tens of ms: docs/benchmarks.md §9).
 * Not a debounce: a steady stream of events must not put the read off for ever.
 */
export function scheduleCounts() {
  lastEvent = Date.now();
  if (countsTimer) return;
  countsTimer = setTimeout(readScheduled, 1000);
}

/**
 * The scheduled read. The server may answer from rows up to a second old, so a change whose
 * event came less than that before the read may not be counted in it: then it reads once more
 * after that second (or the tabs could show a stale count until the next event, which may
 * never come).
 */
async function readScheduled() {
  countsTimer = null;
  const started = Date.now();
  await loadCounts();
  if (lastEvent > started - SERVER_COUNTS_TTL_MS && !countsTimer) {
    countsTimer = setTimeout(readScheduled, SERVER_COUNTS_TTL_MS + 100);
  }
}

/** Whether a thread belongs in the current tab and triage filters. */
export function inTriage(t) {
  const f = inbox.filters;
  const statuses = { open: ['open', 'pending'], snoozed: ['snoozed'], resolved: ['resolved'] }[f.view];
  if (statuses && !statuses.includes(t.status)) return false;
  if (f.unassigned && t.assignee_id) return false;
  if (f.label && !(t.label_ids || []).includes(f.label)) return false;
  if (f.priority && (t.priority || 'none') !== f.priority) return false;
  return true;
}
