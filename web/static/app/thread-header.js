// The open thread's header (middle pane): its title and channel, the contact's phone and our
// number, the status and assignee selects (their changes are saved by thread.js), the opt-out
// banner and the page title. Drawn again whenever the open thread's summary changes.

import { channelTag, h } from './dom.js';
import { channelLabel } from './format.js';
import { labelChip } from './labels.js';
import { me, membersList } from './session.js';
import { snoozeLabel } from './snooze.js';
import { els, view } from './state.js';

export function renderThreadHeader() {
  if (!view || !view.thread) return;
  enableHeaderControls(true);
  const t = view.thread;
  const c = t.contact || {};
  const kind = (t.channel && t.channel.kind) || 'sms';
  els.threadTitle.replaceChildren(h('span', null, c.name || c.phone || 'Unknown'), channelTag(kind));
  const snoozed = t.status === 'snoozed' && t.snoozed_until ? snoozeLabel(t.snoozed_until) : '';
  els.threadSub.textContent = [c.name ? c.phone : '', t.channel ? `via ${channelLabel(kind)} ${t.channel.number}` : '', snoozed].filter(Boolean).join(' · ');
  els.statusSelect.value = t.status;
  renderAssigneeOptions();
  els.assigneeSelect.value = t.assignee_id || '';
  if (els.prioritySelect) els.prioritySelect.value = t.priority || 'none';
  if (els.threadLabels) els.threadLabels.replaceChildren(...(t.label_ids || []).map(labelChip));
  els.optOutBanner.hidden = !c.opted_out_at;
  document.title = `${c.name || c.phone || 'Conversation'} · Switchboard`;
}

/** The header's controls change the loaded thread: they are off while it loads (`openThread`), so
 * nothing an agent picks then is dropped unsaved. */
export function enableHeaderControls(on) {
  for (const el of [els.statusSelect, els.snooze, els.assigneeSelect, els.prioritySelect, els.labelsButton, els.markUnread]) {
    if (el) el.disabled = !on;
  }
}

export function renderAssigneeOptions() {
  if (!els.assigneeSelect) return;
  const current = els.assigneeSelect.value;
  els.assigneeSelect.replaceChildren(h('option', { value: '' }, 'Unassigned'),
    ...membersList.map((m) => h('option', { value: m.id }, m.id === me.id ? `${m.name} (me)` : m.name)));
  els.assigneeSelect.value = current;
}
