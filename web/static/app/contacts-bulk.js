// The contacts page's bulk actions and its confirmation dialog. bulkApply() is the one place a
// bulk action meets the API: today one request per contact through the contact routes (PATCH its
// tags, DELETE it), a few at a time; switching it to a bulk endpoint changes nothing else.

import { api } from './api.js';
import { h } from './dom.js';

/** Applies one bulk action to contacts, one request each through the contact routes for now
 * (PATCH tags, DELETE). `action`: {action: 'add_tag'|'remove_tag'|'delete', tag?}. `known` maps
 * id to the contact as loaded (its tags). Resolves to {changed: [Contact], deleted: [id],
 * failed: [{id, message}]}. The one place to switch to POST /api/contacts/bulk. */
export async function bulkApply(ids, action, known) {
  const out = { changed: [], deleted: [], failed: [] };
  const one = async (id) => {
    try {
      if (action.action === 'delete') {
        await api('DELETE', `/api/contacts/${encodeURIComponent(id)}`);
        out.deleted.push(id);
        return;
      }
      const now = known.get(id) || await api('GET', `/api/contacts/${encodeURIComponent(id)}`);
      const tags = now.tags || [];
      const next = action.action === 'add_tag' ? (tags.includes(action.tag) ? tags : [...tags, action.tag]) : tags.filter((t) => t !== action.tag);
      if (next.length === tags.length && next.every((t, i) => t === tags[i])) return;
      out.changed.push(await api('PATCH', `/api/contacts/${encodeURIComponent(id)}`, { tags: next }));
    } catch (err) {
      out.failed.push({ id, message: err.message });
    }
  };
  // A few at a time: quick for a page of 50, gentle on the server.
  const queue = [...ids];
  await Promise.all(Array.from({ length: Math.min(4, queue.length) }, async () => {
    while (queue.length) await one(queue.shift());
  }));
  return out;
}

/** A confirmation dialog; resolves true when confirmed. */
export function confirmDialog({ title, text, ok, danger, testid }) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'confirm-title', 'data-testid': testid || 'confirm-dialog' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'confirm-title' }, title),
        h('p', null, text),
        h('div', { class: 'dialog-actions' },
          h('button', { value: 'cancel', class: 'ghost', 'data-testid': 'confirm-cancel' }, 'Cancel'),
          h('button', { value: 'ok', class: danger ? 'danger' : 'primary', 'data-testid': 'confirm-ok' }, ok))));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
