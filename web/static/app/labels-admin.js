// Settings' labels card (admins): the team's labels with their colours, renamed or recoloured in
// place, added, and deleted (the label leaves every conversation; the deletion is in the audit
// log). Live: another admin's change arrives on the team channel (label.changed / label.deleted).

import { api } from './api.js';
import { h, toast } from './dom.js';
import { applyLabelChanged, applyLabelDeleted, labelChip, labels, loadLabels, onLabelsChanged } from './labels.js';

/** The card's body: {el, load(), bindLive(teamChannel)}. */
export function labelsCard() {
  const list = h('ul', { class: 'plain-list labels-admin', 'data-testid': 'labels-admin' });
  const name = h('input', { type: 'text', id: 'label-name', maxlength: '40', placeholder: 'Billing', 'data-testid': 'label-name', autocomplete: 'off' });
  const color = h('input', { type: 'color', id: 'label-color', value: '#2563eb', 'data-testid': 'label-color' });
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'label-error' });
  const form = h('form', { class: 'row', novalidate: true, 'data-testid': 'label-form', onsubmit: async (e) => {
    e.preventDefault();
    err.hidden = true;
    try {
      applyLabelChanged({ label: await api('POST', '/api/labels', { name: name.value, color: color.value }) });
      name.value = '';
    } catch (x) {
      err.textContent = x.message;
      err.hidden = false;
    }
  } },
  h('label', { for: 'label-name' }, 'Name'), name, h('label', { for: 'label-color' }, 'Colour'), color,
  h('button', { type: 'submit', class: 'primary', 'data-testid': 'label-add' }, 'Add label'));

  const row = (l) => {
    const n = h('input', { type: 'text', value: l.name, maxlength: '40', 'aria-label': `Name of ${l.name}`, 'data-testid': 'label-row-name' });
    const c = h('input', { type: 'color', value: l.color, 'aria-label': `Colour of ${l.name}`, 'data-testid': 'label-row-color' });
    const save = async () => {
      try {
        applyLabelChanged({ label: await api('PATCH', `/api/labels/${encodeURIComponent(l.id)}`, { name: n.value, color: c.value }) });
      } catch (x) {
        toast(x.message, { kind: 'error' });
      }
    };
    return h('li', { class: 'row', 'data-testid': 'label-row', 'data-label-id': l.id }, labelChip(l.id), n, c,
      h('button', { type: 'button', class: 'secondary', 'data-testid': 'label-save', onclick: save }, 'Save'),
      h('button', { type: 'button', class: 'link danger', 'data-testid': 'label-delete', onclick: async () => {
        if (!window.confirm(`Delete the label “${l.name}”? It is taken off every conversation.`)) return;
        try {
          await api('DELETE', `/api/labels/${encodeURIComponent(l.id)}`);
          applyLabelDeleted({ id: l.id });
        } catch (x) {
          toast(x.message, { kind: 'error' });
        }
      } }, 'Delete'));
  };
  const render = () => {
    list.replaceChildren(...[...labels.values()].map(row));
    if (!labels.size) list.append(h('li', { class: 'muted', 'data-testid': 'labels-empty' }, 'No labels yet.'));
  };
  onLabelsChanged(render);
  const el = h('div', null, list, form, err);
  return {
    el,
    load: () => loadLabels(true).catch((x) => toast(`Could not load labels: ${x.message}`, { kind: 'error' })),
    bindLive: (ch) => {
      ch.bind('label.changed', applyLabelChanged);
      ch.bind('label.deleted', applyLabelDeleted);
    },
  };
}
