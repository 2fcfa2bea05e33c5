// The team's labels (name + colour) as every inbox part shows them: loaded once from /api/labels,
// kept live from the team channel (label.changed / label.deleted, bound by sync.js), drawn as
// coloured chips, and a small picker dialog that ticks labels on and off. Priority's names and
// badge live here too: both are how a conversation is triaged.

import { api } from './api.js';
import { h } from './dom.js';

/** id -> {id, name, color}, by name. */
export const labels = new Map();
export const PRIORITIES = ['none', 'low', 'medium', 'high', 'urgent'];
const listeners = [];

/** Calls `fn()` whenever the labels change (loaded, created, renamed, deleted). */
export function onLabelsChanged(fn) {
  listeners.push(fn);
}

function changed() {
  const sorted = [...labels.values()].sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
  labels.clear();
  for (const l of sorted) labels.set(l.id, l);
  for (const fn of listeners) fn();
}

let loading = null;
/** Loads the team's labels (once; `force` reads them again). */
export function loadLabels(force) {
  if (!loading || force) {
    loading = api('GET', '/api/labels').then((data) => {
      labels.clear();
      for (const l of (data && data.items) || []) labels.set(l.id, l);
      changed();
    }).catch((err) => { loading = null; throw err; });
  }
  return loading;
}

export function applyLabelChanged(data) {
  if (data && data.label && data.label.id) {
    labels.set(data.label.id, data.label);
    changed();
  }
}

export function applyLabelDeleted(data) {
  if (data && labels.delete(data.id)) changed();
}

/** A label's chip (nothing for a label deleted meanwhile). */
export function labelChip(id) {
  const l = labels.get(id);
  if (!l) return null;
  return h('span', { class: 'label-chip', style: `--label-color:${l.color}`, 'data-testid': 'label-chip', 'data-label-id': l.id, title: l.name }, l.name);
}

/** The priority's badge (nothing for none). */
export function priorityBadge(p) {
  if (!p || p === 'none') return null;
  return h('span', { class: `priority priority-${p}`, 'data-testid': 'priority-badge', title: `Priority: ${p}` }, p);
}

/**
 * A dialog that ticks labels: `onSave(ids)` gets the ticked ids (for a bulk "add label", the
 * ones to add). `selected` are ticked at first.
 */
export function labelPicker({ title, selected, onSave }) {
  const ticked = new Set(selected || []);
  const filter = h('input', { type: 'search', placeholder: 'Filter labels', 'aria-label': 'Filter labels', 'data-testid': 'label-picker-filter', autocomplete: 'off' });
  const list = h('ul', { class: 'plain-list label-picker-list', 'data-testid': 'label-picker-list' });
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const items = [...labels.values()].filter((l) => !q || l.name.toLowerCase().includes(q));
    list.replaceChildren(...items.map((l) => {
      const box = h('input', { type: 'checkbox', checked: ticked.has(l.id), 'data-testid': 'label-option', 'data-label-id': l.id,
        onchange: () => { if (box.checked) ticked.add(l.id); else ticked.delete(l.id); } });
      return h('li', null, h('label', { class: 'check' }, box, labelChip(l.id)));
    }));
    if (!items.length) list.append(h('li', { class: 'muted' }, labels.size ? 'No label matches.' : 'No labels yet: admins add them in Settings.'));
  };
  filter.addEventListener('input', draw);
  draw();
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'label-picker-title', 'data-testid': 'label-picker' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'label-picker-title' }, title || 'Labels'),
      filter, list,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'submit', value: 'cancel', class: 'secondary' }, 'Cancel'),
        h('button', { type: 'submit', value: 'ok', class: 'primary', 'data-testid': 'label-picker-save' }, 'Apply'))));
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'ok') onSave([...ticked]);
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
  filter.focus();
  return dialog;
}
