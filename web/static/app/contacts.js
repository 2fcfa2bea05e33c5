// The contacts page (/contacts, /contacts/{id}): the team's contacts in a table read 50 at a time
// (keyset "Load more", pager.js), searched by name, phone, email or company (debounced), filtered
// by a tag (typed, or a row's tag clicked), sorted by name, last activity or newest; a Deleted
// view to restore (and, for admins, purge with a confirmation that says the history goes too).
// Rows are selectable (select all on the page) for bulk actions: add a tag, remove a tag, delete.
// A row opens the side panel (contact-detail.js) and the URL follows, so a link opens the same
// contact. New contact opens the form (contact-form.js).
//
// Live, because several agents work the same list: the team channel's `contact.changed`
// (`{action, id, contact}`, from the contacts service on every create, change, delete, restore
// and purge, any node) redraws a row in place, drops a row that left the view (deleted, restored,
// purged) and puts a new one on top when the view is "newest first" without a filter (otherwise a
// notice offers to reload: a row appearing mid-list under a sort or search would jump around).
// `thread.created` / `thread.updated` carry the contact's brief and the last message time: the
// row's opt-out badge (a STOP reply) and last activity follow, and the open panel's
// conversations; a contact made by a first inbound message goes on top like a created one.
// After the socket comes back the list and the panel are read again.
//
// Lists (contact-lists.js) plug into the toolbar's slots: a list filter, "Add to list" and
// "Remove from this list" in the bulk bar, the Lists dialog in the head's actions, and the
// contact's lists in the panel. Bulk actions go through bulkApply() (contacts-bulk.js).

import { api, qs } from './api.js';
import { contactDetail } from './contact-detail.js';
import { openContactForm } from './contact-form.js';
import { bulkApply, confirmDialog } from './contacts-bulk.js';
import { contactLists } from './contact-lists.js';
import { debounce, h, timeEl, toast } from './dom.js';
import { relTime } from './format.js';
import { keysetPager } from './pager.js';
import { exportUrl, openImport } from './import.js';
import { displayPhone, loadPhoneLib } from './phone.js';
import { connect, onReconnect, pusher } from './realtime.js';
import { boot, isAdmin, main, me, team } from './session.js';

const PAGE = 50;

export async function startContacts() {
  const f = { search: '', tag: '', list_id: '', sort: 'created', deleted: false };
  const contacts = new Map(); // id -> Contact, the rows loaded
  const rows = new Map(); // id -> <tr>
  const selected = new Set();

  // ------------------------------------------------------------ toolbar
  const search = h('input', { type: 'search', id: 'contacts-search', placeholder: 'Search name, phone, email, company…', 'aria-label': 'Search contacts', autocomplete: 'off', 'data-testid': 'contacts-search' });
  search.addEventListener('input', debounce(() => { f.search = search.value.trim(); reload(); }, 250));
  const tagsInView = h('datalist', { id: 'contacts-tags-in-view' });
  const tagInput = h('input', { type: 'text', id: 'contacts-tag', list: 'contacts-tags-in-view', placeholder: 'Filter by tag', 'aria-label': 'Filter by tag', autocomplete: 'off', 'data-testid': 'contacts-tag-filter' });
  tagInput.addEventListener('change', () => setTag(tagInput.value.trim()));
  tagInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); setTag(tagInput.value.trim()); } });
  const sort = h('select', { id: 'contacts-sort', 'aria-label': 'Sort by', 'data-testid': 'contacts-sort' },
    h('option', { value: 'created' }, 'Newest first'), h('option', { value: 'name' }, 'Name (A–Z)'), h('option', { value: 'activity' }, 'Last activity'));
  sort.addEventListener('change', () => { f.sort = sort.value; reload(); });
  const viewActive = h('input', { type: 'radio', name: 'contacts-view', id: 'contacts-view-active', value: 'active', checked: true, 'data-testid': 'contacts-view-active' });
  const viewDeleted = h('input', { type: 'radio', name: 'contacts-view', id: 'contacts-view-deleted', value: 'deleted', 'data-testid': 'contacts-view-deleted' });
  for (const r of [viewActive, viewDeleted]) r.addEventListener('change', () => { f.deleted = viewDeleted.checked; clearSelection(); reload(); });
  const activeFilters = h('div', { class: 'chips', 'data-testid': 'contacts-active-filters' });
  const notice = h('p', { class: 'banner contacts-notice', hidden: true, 'data-testid': 'contacts-notice' });
  const lists = contactLists({
    filter: () => f,
    setList: (id) => { if (f.list_id === id) return; f.list_id = id; clearSelection(); reload(); },
    membersChanged: () => { if (f.list_id) { clearSelection(); reload(); } },
  });

  // ------------------------------------------------------------ bulk bar
  const bulkCount = h('strong', { 'data-testid': 'bulk-count' });
  const bulkTag = h('input', { type: 'text', id: 'bulk-tag', placeholder: 'Tag', 'aria-label': 'Tag for the selected contacts', list: 'contacts-tags-in-view', autocomplete: 'off', 'data-testid': 'bulk-tag' });
  const bulkStatus = h('span', { class: 'small muted', role: 'status', 'data-testid': 'bulk-status' });
  const bulkBar = h('div', { class: 'bulk-bar', role: 'region', 'aria-label': 'Selected contacts', hidden: true, 'data-testid': 'bulk-bar' },
    bulkCount,
    h('span', { class: 'bulk-group' }, bulkTag,
      h('button', { type: 'button', class: 'secondary small', 'data-testid': 'bulk-add-tag', onclick: () => bulkTags('add_tag') }, 'Add tag'),
      h('button', { type: 'button', class: 'secondary small', 'data-testid': 'bulk-remove-tag', onclick: () => bulkTags('remove_tag') }, 'Remove tag')),
    h('span', { class: 'bulk-group', 'data-slot': 'bulk-actions' }, lists.bulkEl),
    h('button', { type: 'button', class: 'link danger', 'data-testid': 'bulk-delete', onclick: bulkDelete }, 'Delete'),
    h('button', { type: 'button', class: 'link', 'data-testid': 'bulk-clear', onclick: () => { clearSelection(); } }, 'Clear selection'),
    bulkStatus);

  // ------------------------------------------------------------ table
  const selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select all contacts on the page', 'data-testid': 'contacts-select-all' });
  selectAll.addEventListener('change', () => {
    for (const id of rows.keys()) {
      if (selectAll.checked) selected.add(id);
      else selected.delete(id);
    }
    for (const [id, tr] of rows) tr.querySelector('input[type=checkbox]').checked = selected.has(id);
    renderSelection();
  });
  const body = h('tbody', { 'data-testid': 'contacts-rows' });
  const empty = h('p', { class: 'empty muted', hidden: true, 'data-testid': 'contacts-empty' }, 'No contacts match.');
  const more = h('button', { type: 'button', class: 'secondary load-more', hidden: true, 'data-testid': 'contacts-load-more' }, `Load ${PAGE} more`);
  const shown = h('span', { class: 'small muted', 'data-testid': 'contacts-shown' });
  const detailHost = h('aside', { class: 'contact-detail', 'aria-label': 'Contact', hidden: true, 'data-testid': 'contact-detail' });

  const newBtn = h('button', { type: 'button', class: 'primary', 'data-testid': 'contact-new', onclick: newContact }, 'New contact');
  main.replaceChildren(h('div', { class: 'contacts-page', 'data-testid': 'contacts-page' },
    h('div', { class: 'contacts-main' },
      h('div', { class: 'contacts-head' },
        h('h1', null, 'Contacts'),
        h('div', { class: 'contacts-head-actions', 'data-slot': 'head-actions' },
          h('button', { type: 'button', class: 'secondary', 'data-testid': 'contacts-import', onclick: () => openImport({ onDone: () => reload() }) }, 'Import CSV'),
          lists.manageButton,
          isAdmin ? h('a', { class: 'button secondary', 'data-testid': 'contacts-export', href: exportUrl(f), onclick: (e) => { e.currentTarget.href = exportUrl(f); } }, 'Export CSV') : null,
          newBtn)),
      h('div', { class: 'contacts-toolbar', role: 'search' },
        search, tagInput, tagsInView, sort,
        h('span', { 'data-slot': 'filters' }, lists.filterEl),
        h('fieldset', { class: 'segmented', 'data-testid': 'contacts-view' },
          h('legend', { class: 'sr-only' }, 'Show'),
          viewActive, h('label', { for: 'contacts-view-active' }, 'Contacts'),
          viewDeleted, h('label', { for: 'contacts-view-deleted' }, 'Deleted'))),
      activeFilters, notice, bulkBar,
      h('div', { class: 'table-wrap' },
        h('table', { class: 'contacts-table', 'data-testid': 'contacts-table' },
          h('thead', null, h('tr', null,
            h('th', { class: 'sel' }, selectAll), h('th', null, 'Name'), h('th', null, 'Phone'), h('th', null, 'Email'),
            h('th', null, 'Company'), h('th', null, 'Tags'), h('th', null, 'Status'), h('th', null, 'Last activity'), h('th', null, h('span', { class: 'sr-only' }, 'Actions')))),
          body)),
      empty,
      h('div', { class: 'contacts-foot' }, shown, more)),
    detailHost));

  const detail = contactDetail(detailHost, {
    changed: (c) => upsert(c),
    remove: (c) => deleteOne(c),
    restore: (c) => restoreOne(c),
    purge: isAdmin ? (c) => purgeOne(c) : null,
    close: () => closeDetail(true),
    lists: (c) => lists.panel(c),
  });
  lists.bulkTo((action, done) => runBulk(action, done), () => [...selected]);

  // ------------------------------------------------------------ rows
  function row(c) {
    contacts.set(c.id, c);
    const tr = drawRow(c);
    rows.set(c.id, tr);
    return tr;
  }

  function drawRow(c) {
    const check = f.deleted ? null : h('input', { type: 'checkbox', 'aria-label': `Select ${c.name || c.phone}`, checked: selected.has(c.id), 'data-testid': 'contact-select' });
    if (check) check.addEventListener('change', () => { if (check.checked) selected.add(c.id); else selected.delete(c.id); renderSelection(); });
    const open = (e) => { e.preventDefault(); openDetail(c.id, true); };
    const actions = f.deleted
      ? [h('button', { type: 'button', class: 'link', 'data-testid': 'contact-row-restore', onclick: () => restoreOne(c) }, 'Restore'),
        isAdmin ? h('button', { type: 'button', class: 'link danger', 'data-testid': 'contact-row-purge', onclick: () => purgeOne(c) }, 'Purge…') : null]
      : [];
    return h('tr', { 'data-testid': 'contact-row', 'data-contact-id': c.id, class: detail && detail.contactId() === c.id ? 'is-open' : '' },
      h('td', { class: 'sel' }, check),
      h('td', null, h('a', { href: `/contacts/${encodeURIComponent(c.id)}`, class: 'contact-name', 'data-testid': 'contact-row-name', onclick: open }, c.name || displayPhone(c.phone))),
      h('td', { class: 'nowrap', 'data-testid': 'contact-row-phone' }, displayPhone(c.phone)),
      h('td', { 'data-testid': 'contact-row-email' }, c.email || ''),
      h('td', { 'data-testid': 'contact-row-company' }, c.company || ''),
      h('td', { 'data-testid': 'contact-row-tags' }, h('span', { class: 'tags' }, ...(c.tags || []).map((t) =>
        h('button', { type: 'button', class: 'tag', title: `Show contacts tagged ${t}`, onclick: () => setTag(t) }, t)))),
      h('td', null, c.opted_out_at ? h('span', { class: 'badge badge-off', title: c.opt_out_reason || 'Opted out', 'data-testid': 'contact-row-opted-out' }, 'Opted out') : null),
      h('td', { class: 'nowrap muted', 'data-testid': 'contact-row-activity' }, c.last_activity_at ? timeEl(c.last_activity_at, relTime(c.last_activity_at)) : '—'),
      h('td', { class: 'actions' }, ...actions));
  }

  /** Redraws a loaded contact's row (and the panel) with the contact as it is now. */
  function upsert(c) {
    if (rows.has(c.id)) {
      contacts.set(c.id, c);
      const tr = drawRow(c);
      rows.get(c.id).replaceWith(tr);
      rows.set(c.id, tr);
      renderTagsInView();
    }
    detail.update(c);
  }

  function drop(id) {
    const tr = rows.get(id);
    if (tr) tr.remove();
    rows.delete(id);
    contacts.delete(id);
    selected.delete(id);
    empty.hidden = body.children.length > 0;
    renderSelection();
    renderShown();
  }

  function prepend(c) {
    if (rows.has(c.id)) return upsert(c);
    body.prepend(row(c));
    empty.hidden = true;
    renderShown();
    renderTagsInView();
  }

  // ------------------------------------------------------------ loading
  const load = keysetPager({
    path: () => `/api/contacts${qs({ search: f.search, tag: f.tag, list_id: f.list_id, sort: f.sort, deleted: f.deleted ? 'true' : '', limit: PAGE })}`,
    body, empty, more, row, what: 'contacts',
    after: () => { renderShown(); renderSelection(); renderTagsInView(); },
  });

  function reload() {
    rows.clear();
    contacts.clear();
    notice.hidden = true;
    renderFilters();
    return load();
  }

  function renderShown() {
    shown.textContent = rows.size ? `${rows.size} shown${more.hidden ? '' : ' · more below'}` : '';
  }

  function renderTagsInView() {
    const tags = new Set();
    for (const c of contacts.values()) for (const t of c.tags || []) tags.add(t);
    tagsInView.replaceChildren(...[...tags].sort().map((t) => h('option', { value: t })));
  }

  function setTag(tag) {
    tagInput.value = tag;
    if (f.tag === tag) return;
    f.tag = tag;
    clearSelection();
    reload();
  }

  function renderFilters() {
    activeFilters.replaceChildren(...(f.tag ? [h('span', { class: 'chip is-on', 'data-testid': 'contacts-tag-chip' }, `Tag: ${f.tag}`,
      h('button', { type: 'button', class: 'link', 'aria-label': `Clear the tag filter ${f.tag}`, onclick: () => setTag('') }, '×'))] : []));
  }

  function renderSelection() {
    const n = selected.size;
    bulkBar.hidden = n === 0 || f.deleted;
    bulkCount.textContent = `${n} selected`;
    const onPage = [...rows.keys()].filter((id) => selected.has(id)).length;
    selectAll.checked = rows.size > 0 && onPage === rows.size;
    selectAll.indeterminate = onPage > 0 && onPage < rows.size;
    selectAll.disabled = f.deleted || rows.size === 0;
  }

  function clearSelection() {
    selected.clear();
    for (const tr of rows.values()) {
      const box = tr.querySelector('input[type=checkbox]');
      if (box) box.checked = false;
    }
    renderSelection();
  }

  // ------------------------------------------------------------ acts
  async function newContact() {
    const c = await openContactForm(null);
    if (!c) return;
    toast(`${c.name || displayPhone(c.phone)} added.`);
    if (!f.deleted) prepend(c);
    openDetail(c.id, true, c);
  }

  async function bulkTags(kind) {
    const tag = bulkTag.value.trim();
    if (!tag) {
      bulkStatus.textContent = 'Type a tag first.';
      bulkTag.focus();
      return;
    }
    await runBulk({ action: kind, tag }, kind === 'add_tag' ? `Tag “${tag}” added` : `Tag “${tag}” removed`);
  }

  async function bulkDelete() {
    const n = selected.size;
    const ok = await confirmDialog({ title: `Delete ${n} contact${n === 1 ? '' : 's'}?`, text: 'They are hidden from the list and search; their conversations stay readable. You can restore them from the Deleted view.', ok: 'Delete', danger: true, testid: 'bulk-delete-dialog' });
    if (ok) await runBulk({ action: 'delete' }, 'Deleted');
  }

  async function runBulk(action, done) {
    const ids = [...selected];
    bulkStatus.textContent = 'Working…';
    for (const b of bulkBar.querySelectorAll('button')) b.disabled = true;
    try {
      const res = await bulkApply(ids, action, contacts);
      for (const c of res.changed) upsert(c);
      for (const id of res.deleted) drop(id);
      const n = res.affected;
      bulkStatus.textContent = res.failed.length ? `${res.failed.length} failed: ${res.failed[0].message}` : '';
      toast(`${done}: ${n} contact${n === 1 ? '' : 's'}.`, res.failed.length ? { kind: 'error' } : undefined);
      if (!res.failed.length) {
        bulkTag.value = '';
        clearSelection();
      }
    } finally {
      for (const b of bulkBar.querySelectorAll('button')) b.disabled = false;
    }
  }

  async function deleteOne(c) {
    try {
      await api('DELETE', `/api/contacts/${encodeURIComponent(c.id)}`);
    } catch (err) {
      toast(`Could not delete: ${err.message}`, { kind: 'error' });
      return;
    }
    drop(c.id);
    closeDetail(true);
    toast(`${c.name || displayPhone(c.phone)} deleted.`, { action: { label: 'Undo', run: () => restoreOne(c) } });
  }

  async function restoreOne(c) {
    let back;
    try {
      back = await api('POST', `/api/contacts/${encodeURIComponent(c.id)}/restore`);
    } catch (err) {
      toast(`Could not restore: ${err.message}`, { kind: 'error' });
      return;
    }
    if (f.deleted) drop(c.id);
    else prepend(back);
    detail.update(back);
    toast(`${back.name || displayPhone(back.phone)} restored.`);
  }

  async function purgeOne(c) {
    const ok = await confirmDialog({
      title: `Purge ${c.name || displayPhone(c.phone)}?`,
      text: 'This deletes the contact for good with all their conversations and their history (messages, notes) for everyone on the team. It cannot be undone.',
      ok: 'Purge for good', danger: true, testid: 'purge-dialog',
    });
    if (!ok) return;
    try {
      await api('DELETE', `/api/contacts/${encodeURIComponent(c.id)}?purge=true`);
    } catch (err) {
      toast(`Could not purge: ${err.message}`, { kind: 'error' });
      return;
    }
    drop(c.id);
    if (detail.contactId() === c.id) closeDetail(true);
    toast('Purged.');
  }

  // ------------------------------------------------------------ the panel and the URL
  async function openDetail(id, push, known) {
    if (push && window.location.pathname !== `/contacts/${id}`) history.pushState({ contactId: id }, '', `/contacts/${id}`);
    let c = known || contacts.get(id);
    if (!c) {
      try {
        c = await api('GET', `/api/contacts/${encodeURIComponent(id)}`);
      } catch (err) {
        toast(`Could not open the contact: ${err.message}`, { kind: 'error' });
        closeDetail(true);
        return;
      }
    }
    detail.show(c);
    for (const [rid, tr] of rows) tr.classList.toggle('is-open', rid === id);
    document.title = `${c.name || c.phone} · Contacts`;
  }

  function closeDetail(push) {
    detail.show(null);
    for (const tr of rows.values()) tr.classList.remove('is-open');
    if (push && window.location.pathname !== '/contacts') history.pushState({}, '', '/contacts');
    document.title = `Contacts · ${team.name || 'Switchboard'}`;
  }

  window.addEventListener('popstate', () => {
    const m = window.location.pathname.match(/^\/contacts\/([^/]+)/);
    if (m) openDetail(decodeURIComponent(m[1]), false);
    else closeDetail(false);
  });

  // ------------------------------------------------------------ live
  const refreshPanel = debounce(async () => {
    const id = detail.contactId();
    if (!id) return;
    try {
      detail.update(await api('GET', `/api/contacts/${encodeURIComponent(id)}`));
    } catch (_) { /* purged: the contact.changed event closes it */ }
    detail.refreshThreads();
  }, 300);

  function onContactChanged(data) {
    if (!data || !data.id) return;
    const c = data.contact;
    switch (data.action) {
      case 'updated':
        if (c) upsert(c);
        break;
      case 'created':
      case 'restored':
        if (c && !f.deleted) {
          if (f.sort === 'created' && !f.search && !f.tag && !f.list_id && data.action === 'created') prepend(c);
          else if (rows.has(c.id)) upsert(c);
          else showNotice();
        } else if (f.deleted) drop(data.id);
        if (c) detail.update(c);
        break;
      case 'deleted':
        if (!f.deleted) drop(data.id);
        else if (!rows.has(data.id)) showNotice();
        if (c) detail.update(c);
        break;
      case 'purged':
        drop(data.id);
        if (detail.contactId() === data.id) {
          closeDetail(true);
          toast('That contact was purged by a teammate.');
        }
        break;
      default:
    }
  }

  function showNotice() {
    notice.replaceChildren('Contacts changed since the list was loaded. ',
      h('button', { type: 'button', class: 'link', 'data-testid': 'contacts-notice-reload', onclick: () => reload() }, 'Reload'));
    notice.hidden = false;
  }

  /** A thread summary: its contact's opt-out and last activity, and the panel's conversations. */
  function onSummary(t) {
    const brief = t && t.contact;
    if (!brief || !brief.id) return;
    const c = contacts.get(brief.id);
    if (c) {
      const at = t.last_message_at;
      const newer = at && (!c.last_activity_at || new Date(at) > new Date(c.last_activity_at));
      if (newer || (c.opted_out_at || null) !== (brief.opted_out_at || null) || c.name !== brief.name) {
        upsert(Object.assign({}, c, { name: brief.name, phone: brief.phone, opted_out_at: brief.opted_out_at || null }, newer ? { last_activity_at: at } : {}));
      }
    }
    if (detail.contactId() === brief.id) refreshPanel();
  }

  /**
   * A new thread: perhaps a new contact too (someone texted in for the first time: inbound
   * messages make contacts without the contacts API). Newest first and unfiltered, it goes on top.
   */
  async function onThreadCreated(t) {
    onSummary(t);
    const brief = t && t.contact;
    if (!brief || !brief.id || contacts.has(brief.id) || f.deleted || f.search || f.tag || f.list_id || f.sort !== 'created') return;
    let c;
    try {
      c = await api('GET', `/api/contacts/${encodeURIComponent(brief.id)}`);
    } catch (_) {
      return;
    }
    // It belongs on top only if it is newer than every row (an older contact's new thread is not
    // a new contact).
    let newest = 0;
    for (const row of contacts.values()) newest = Math.max(newest, new Date(row.created_at).getTime());
    if (!c.deleted_at && new Date(c.created_at).getTime() > newest) prepend(c);
  }

  await loadPhoneLib();
  connect();
  if (pusher) {
    const ch = pusher.subscribe(`presence-team-${team.id || me.team_id}`);
    ch.bind('contact.changed', onContactChanged);
    lists.bind(ch);
    // A teammate's import changed many contacts at once: read the list again.
    ch.bind('contacts.imported', () => reload());
    ch.bind('thread.created', onThreadCreated);
    ch.bind('thread.updated', onSummary);
    ch.bind('thread.deleted', () => { if (detail.contactId()) refreshPanel(); });
  }
  onReconnect(() => {
    lists.load().catch(() => {});
    reload();
    refreshPanel();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && detail.contactId() && !document.querySelector('dialog[open]')) closeDetail(true);
  });
  // Relative times age: redraw the last-activity cells now and then.
  setInterval(() => {
    for (const [id, tr] of rows) {
      const c = contacts.get(id);
      const cell = tr.querySelector('[data-testid="contact-row-activity"]');
      if (c && c.last_activity_at && cell) cell.replaceChildren(timeEl(c.last_activity_at, relTime(c.last_activity_at)));
    }
  }, 60000);

  renderFilters();
  await Promise.all([load(), lists.load().catch((err) => toast(`Could not load lists: ${err.message}`, { kind: 'error' }))]);
  const initial = boot.contact_id || (window.location.pathname.match(/^\/contacts\/([^/]+)/) || [])[1];
  if (initial) openDetail(decodeURIComponent(initial), false);
}
