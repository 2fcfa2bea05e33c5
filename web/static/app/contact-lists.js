// The contacts page's lists (/api/lists): static lists, whose members are added and removed, and
// segments, a saved filter evaluated when read. The page gets from here:
// - a "List" filter for its toolbar (every list with its member count; a segment is marked),
// - "Add to list" and, while a static list is the filter, "Remove from this list" for its bulk bar,
// - a Lists dialog: create a static list or save the page's search and tag as a segment, rename,
//   delete (members stay contacts; the server audits it),
// - the lists one contact is in, for its side panel (a static one can be left from there).
// Live: `list.updated` {list} and `list.deleted` {id} on the team channel (every create, rename,
// member change, from any node) keep names and counts current on every open page.

import { api, qs } from './api.js';
import { confirmDialog } from './contacts-bulk.js';
import { h, toast } from './dom.js';

/**
 * `page`: `{filter()}` → the page's `{search, tag, list_id}`, `setList(id)` to filter by a list
 * ('' for none), `membersChanged()` after this module changed memberships (the page re-reads).
 * Returns `{filterEl, bulkEl, manageButton, bind(channel), load(), panel(contact), bulkTo(ids)}`.
 */
export function contactLists(page) {
  const lists = new Map(); // id -> List

  const filterEl = h('select', { id: 'contacts-list', 'aria-label': 'Filter by list', 'data-testid': 'contacts-list-filter' });
  filterEl.addEventListener('change', () => {
    page.setList(filterEl.value);
    render();
  });

  const target = h('select', { 'aria-label': 'List for the selected contacts', 'data-testid': 'bulk-list' });
  const addBtn = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'bulk-add-to-list' }, 'Add to list');
  const removeBtn = h('button', { type: 'button', class: 'secondary small', hidden: true, 'data-testid': 'bulk-remove-from-list' }, 'Remove from this list');
  const bulkEl = h('span', { class: 'bulk-group' }, target, addBtn, removeBtn);

  const manageButton = h('button', { type: 'button', class: 'secondary', 'data-testid': 'contacts-lists-manage', onclick: () => openManager() }, 'Lists…');

  const sorted = () => [...lists.values()].sort((a, b) => a.name.localeCompare(b.name));
  const label = (l) => `${l.name} (${l.member_count})${l.kind === 'segment' ? ' · segment' : ''}`;

  function render() {
    const current = page.filter().list_id || '';
    filterEl.replaceChildren(h('option', { value: '' }, 'All lists'),
      ...sorted().map((l) => h('option', { value: l.id, selected: l.id === current }, label(l))));
    filterEl.value = lists.has(current) ? current : '';
    const statics = sorted().filter((l) => l.kind === 'static');
    const chosen = target.value;
    target.replaceChildren(...(statics.length ? statics.map((l) => h('option', { value: l.id }, l.name)) : [h('option', { value: '' }, 'No static lists yet')]));
    if (lists.has(chosen)) target.value = chosen;
    addBtn.disabled = statics.length === 0;
    const filtered = lists.get(current);
    removeBtn.hidden = !filtered || filtered.kind !== 'static';
    if (dialogRender) dialogRender();
  }

  async function load() {
    lists.clear();
    let cursor = '';
    do {
      const pageOf = await api('GET', `/api/lists${qs({ limit: 200, cursor })}`);
      for (const l of pageOf.items) lists.set(l.id, l);
      cursor = pageOf.next_cursor || '';
    } while (cursor);
    render();
  }

  function bind(channel) {
    channel.bind('list.updated', (d) => {
      if (!d || !d.list) return;
      lists.set(d.list.id, d.list);
      render();
    });
    channel.bind('list.deleted', (d) => {
      if (!d || !lists.delete(d.id)) return;
      if (page.filter().list_id === d.id) page.setList('');
      render();
    });
  }

  /** Wires the bulk buttons: `run(action, done)` is the page's bulk runner (status, selection). */
  function bulkTo(run, selectedIds) {
    addBtn.addEventListener('click', () => {
      const l = lists.get(target.value);
      if (l) run({ action: 'add_to_list', list_id: l.id }, `Added to “${l.name}”`);
    });
    removeBtn.addEventListener('click', async () => {
      const l = lists.get(page.filter().list_id);
      if (!l) return;
      try {
        const res = await api('DELETE', `/api/lists/${encodeURIComponent(l.id)}/members`, { contact_ids: selectedIds() });
        toast(`Removed from “${l.name}”: ${res.removed} contact${res.removed === 1 ? '' : 's'}.`);
        page.membersChanged();
      } catch (err) {
        toast(`Could not remove: ${err.message}`, { kind: 'error' });
      }
    });
  }

  // ------------------------------------------------------------ the Lists dialog
  let dialogRender = null;

  function openManager() {
    const rowsEl = h('tbody', { 'data-testid': 'lists-rows' });
    const error = h('p', { class: 'form-note error', role: 'alert', 'data-testid': 'lists-error' });
    const name = h('input', { type: 'text', id: 'list-new-name', required: true, maxlength: 100, autocomplete: 'off', 'data-testid': 'list-new-name' });
    const f = page.filter();
    const saved = [f.search ? `search “${f.search}”` : null, f.tag ? `tag “${f.tag}”` : null].filter(Boolean).join(' and ');
    const kindStatic = h('input', { type: 'radio', name: 'list-kind', id: 'list-kind-static', value: 'static', checked: true, 'data-testid': 'list-kind-static' });
    const kindSegment = h('input', { type: 'radio', name: 'list-kind', id: 'list-kind-segment', value: 'segment', disabled: !saved, 'data-testid': 'list-kind-segment' });
    const create = h('form', { class: 'list-create', 'data-testid': 'list-create' },
      h('label', { for: 'list-new-name' }, 'New list'), name,
      h('fieldset', null, h('legend', { class: 'sr-only' }, 'Kind'),
        h('label', { class: 'radio' }, kindStatic, ' Static: add contacts to it by hand or in bulk'),
        h('label', { class: 'radio' }, kindSegment, saved ? ` Segment: everyone matching ${saved}, kept up to date` : ' Segment: search or pick a tag on the page first')),
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'list-create-submit' }, 'Create'));
    create.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      const body = { name: name.value.trim(), kind: kindSegment.checked ? 'segment' : 'static' };
      if (kindSegment.checked) body.filter = { ...(f.search ? { search: f.search } : {}), ...(f.tag ? { tags_any: [f.tag] } : {}) };
      try {
        const l = await api('POST', '/api/lists', body);
        lists.set(l.id, l);
        name.value = '';
        render();
        toast(`List “${l.name}” created.`);
      } catch (err) {
        error.textContent = err.message;
      }
    });

    const dialog = h('dialog', { class: 'dialog lists-dialog', 'aria-labelledby': 'lists-title', 'data-testid': 'lists-dialog' },
      h('h2', { id: 'lists-title' }, 'Lists'),
      h('table', { class: 'lists-table' }, h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Kind'), h('th', null, 'Contacts'), h('th', null, h('span', { class: 'sr-only' }, 'Actions')))), rowsEl),
      create, error,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'secondary', 'data-testid': 'lists-close', onclick: () => dialog.close() }, 'Close')));

    dialogRender = () => {
      const all = sorted();
      rowsEl.replaceChildren(...(all.length ? all.map((l) => listRow(l, error)) : [h('tr', null, h('td', { colspan: 4, class: 'muted small' }, 'No lists yet.'))]));
    };
    dialogRender();
    dialog.addEventListener('close', () => {
      dialogRender = null;
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  }

  function listRow(l, error) {
    const input = h('input', { type: 'text', value: l.name, 'aria-label': `Name of ${l.name}`, maxlength: 100, 'data-testid': 'list-name' });
    const rename = async () => {
      const next = input.value.trim();
      if (next === l.name) return;
      error.textContent = '';
      try {
        const saved = await api('PATCH', `/api/lists/${encodeURIComponent(l.id)}`, { name: next });
        lists.set(saved.id, saved);
        render();
      } catch (err) {
        error.textContent = err.message;
        input.value = l.name;
      }
    };
    input.addEventListener('change', rename);
    const remove = async () => {
      const ok = await confirmDialog({ title: `Delete the list “${l.name}”?`, text: 'The list goes; its contacts stay.', ok: 'Delete list', danger: true, testid: 'list-delete-dialog' });
      if (!ok) return;
      try {
        await api('DELETE', `/api/lists/${encodeURIComponent(l.id)}`);
        lists.delete(l.id);
        if (page.filter().list_id === l.id) page.setList('');
        render();
      } catch (err) {
        error.textContent = err.message;
      }
    };
    return h('tr', { 'data-testid': 'list-row', 'data-list-id': l.id },
      h('td', null, input),
      h('td', null, l.kind === 'segment' ? 'Segment' : 'Static'),
      h('td', { 'data-testid': 'list-count' }, String(l.member_count)),
      h('td', null, h('button', { type: 'button', class: 'link danger', 'data-testid': 'list-delete', onclick: remove }, 'Delete')));
  }

  // ------------------------------------------------------------ one contact's lists
  /** The lists `contact` is in, read now; a static one can be left from here. */
  function panel(contact) {
    const host = h('ul', { class: 'chips cd-lists', 'data-testid': 'contact-lists' }, h('li', { class: 'muted small' }, 'Loading…'));
    const fill = async () => {
      let items;
      try {
        items = (await api('GET', `/api/contacts/${encodeURIComponent(contact.id)}/lists`)).items;
      } catch (err) {
        host.replaceChildren(h('li', { class: 'form-note error' }, `Could not load lists: ${err.message}`));
        return;
      }
      host.replaceChildren(...(items.length ? items.map((l) => h('li', { class: 'chip', 'data-testid': 'contact-list', 'data-list-id': l.id },
        l.kind === 'segment' ? `${l.name} · segment` : l.name,
        l.kind === 'static' && !contact.deleted_at ? h('button', {
          type: 'button', class: 'link', 'aria-label': `Remove from ${l.name}`, 'data-testid': 'contact-list-leave',
          onclick: async () => {
            try {
              await api('DELETE', `/api/lists/${encodeURIComponent(l.id)}/members`, { contact_ids: [contact.id] });
              fill();
              page.membersChanged();
            } catch (err) {
              toast(`Could not remove: ${err.message}`, { kind: 'error' });
            }
          },
        }, '×') : null))
        : [h('li', { class: 'muted small', 'data-testid': 'contact-lists-empty' }, 'In no list.')]));
    };
    fill();
    return host;
  }

  return { filterEl, bulkEl, manageButton, bind, load, panel, bulkTo };
}
