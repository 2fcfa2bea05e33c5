// The contacts page's bulk actions and its confirmation dialog. bulkApply() is the one place a
// bulk action meets the API: one POST /api/contacts/bulk (set-based on the server, audited once;
// each changed contact is also announced as contact.changed to every open contacts page).

import { api } from './api.js';
import { h } from './dom.js';

/** Applies one bulk action to contacts. `action`: {action: 'add_tag'|'remove_tag'|'add_to_list'|
 * 'delete', tag?, list_id?}. `known` maps id to the contact as loaded (its tags), so the page can
 * show the change at once. Resolves to {changed: [Contact], deleted: [id], failed: [{id,
 * message}], affected}. */
export async function bulkApply(ids, action, known) {
  const out = { changed: [], deleted: [], failed: [], affected: 0 };
  try {
    const res = await api('POST', '/api/contacts/bulk', { ids, ...action });
    out.affected = res.affected;
  } catch (err) {
    out.failed = ids.map((id) => ({ id, message: err.message }));
    return out;
  }
  if (action.action === 'delete') {
    out.deleted = [...ids];
  } else if (action.action === 'add_tag' || action.action === 'remove_tag') {
    for (const id of ids) {
      const now = known.get(id);
      if (!now) continue;
      const tags = now.tags || [];
      const next = action.action === 'add_tag' ? (tags.includes(action.tag) ? tags : [...tags, action.tag]) : tags.filter((t) => t !== action.tag);
      if (next.length !== tags.length) out.changed.push({ ...now, tags: next });
    }
  }
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
