// Snoozing a conversation until a time, in the agent's own time zone: presets (in an hour,
// tonight at 18:00, tomorrow at 9:00, next Monday at 9:00) and a custom date and time. The
// server opens the conversation again at that time and tells its assignee.

import { h } from './dom.js';

/** The presets from `now` (a Date): [{key, label, at: Date}], each in the future. */
export function snoozePresets(now = new Date()) {
  const at = (days, hours) => {
    const d = new Date(now);
    d.setDate(d.getDate() + days);
    d.setHours(hours, 0, 0, 0);
    return d;
  };
  const tonight = at(0, 18);
  const daysToMonday = ((8 - now.getDay()) % 7) || 7;
  const presets = [
    { key: 'hour', label: 'In 1 hour', at: new Date(now.getTime() + 3_600_000) },
    { key: 'tonight', label: 'Tonight, 18:00', at: tonight },
    { key: 'tomorrow', label: 'Tomorrow, 9:00', at: at(1, 9) },
    { key: 'next-week', label: 'Next Monday, 9:00', at: at(daysToMonday, 9) },
  ];
  return presets.filter((p) => p.at > now);
}

/** "until Tue 9:00" for a snoozed thread's end. */
export function snoozeLabel(iso) {
  const d = new Date(iso);
  return `snoozed until ${d.toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit', month: 'short', day: 'numeric' })}`;
}

/** A "Snooze…" select; `onPick(date)` gets the chosen end. "Custom…" asks for a date and time. */
export function snoozeControl(onPick) {
  const select = h('select', { 'aria-label': 'Snooze until', 'data-testid': 'snooze' });
  const fill = () => {
    select.replaceChildren(h('option', { value: '' }, 'Snooze…'),
      ...snoozePresets().map((p) => h('option', { value: p.at.toISOString(), 'data-key': p.key }, p.label)),
      h('option', { value: 'custom' }, 'Custom…'));
  };
  fill();
  select.addEventListener('focus', fill);
  select.addEventListener('change', () => {
    const value = select.value;
    select.value = '';
    if (value === 'custom') customDialog(onPick);
    else if (value) onPick(new Date(value));
  });
  return select;
}

function customDialog(onPick) {
  const pad = (n) => String(n).padStart(2, '0');
  const later = new Date(Date.now() + 3_600_000);
  const local = `${later.getFullYear()}-${pad(later.getMonth() + 1)}-${pad(later.getDate())}T${pad(later.getHours())}:${pad(later.getMinutes())}`;
  const input = h('input', { type: 'datetime-local', value: local, min: local.slice(0, 16), required: true, 'data-testid': 'snooze-custom-at' });
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'snooze-title', 'data-testid': 'snooze-dialog' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'snooze-title' }, 'Snooze until'),
      h('label', null, 'Date and time (your time zone) ', input),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'submit', value: 'cancel', class: 'secondary' }, 'Cancel'),
        h('button', { type: 'submit', value: 'ok', class: 'primary', 'data-testid': 'snooze-custom-ok' }, 'Snooze'))));
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'ok' && input.value) onPick(new Date(input.value));
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
}
