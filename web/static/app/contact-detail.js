// The contacts page's side panel: one contact with every field (first/last name, phone, email,
// company, source, notes, custom fields under the team's labels, tags), when it was added and
// last active, its opt-out state with when and why (switched here, with a reason), its
// conversations on every channel (GET /api/threads?contact_id=) and a "Message" button per
// channel that opens the New conversation dialog for it (disabled, with the reason, for an
// opted-out or deleted contact), and the lists it is in (the page's `lists(contact)`). Edit opens
// the contact form; delete, restore and purge are the page's (it keeps the table and the selection).

import { api, qs } from './api.js';
import { channelTag, h, timeEl } from './dom.js';
import { contactFields, openContactForm } from './contact-form.js';
import { fullTime, relTime } from './format.js';
import { openNewConversation } from './new-conversation.js';
import { displayPhone } from './phone.js';

/**
 * Builds the panel into `host`. `actions` are the page's: `changed(contact)` after a save here,
 * `remove(contact)`, `restore(contact)`, `purge(contact)` (admins), `close()`, `lists(contact)`
 * (an element listing the contact's lists).
 * Returns `{show(contact), refreshThreads(), contactId()}`.
 */
export function contactDetail(host, actions) {
  let contact = null;
  let threadsSeq = 0;
  const threadsList = h('ul', { class: 'cd-threads', 'data-testid': 'contact-threads' });

  function field(label, value, testid) {
    if (value === null || value === undefined || value === '') return null;
    return [h('dt', null, label), h('dd', { 'data-testid': testid }, value)];
  }

  async function render() {
    const c = contact;
    if (!c) {
      host.hidden = true;
      host.replaceChildren();
      return;
    }
    host.hidden = false;
    const fields = await contactFields();
    if (contact !== c) return; // another contact was opened meanwhile
    const deleted = !!c.deleted_at;
    const out = !!c.opted_out_at;
    const reason = h('input', { type: 'text', id: 'cd-reason', placeholder: 'Why? (optional)', 'data-testid': 'contact-opt-out-reason', autocomplete: 'off' });
    const optStatus = h('p', { class: 'form-note', role: 'status', 'data-testid': 'contact-opt-status' });
    const optOut = out
      ? h('div', { class: 'cd-optout is-out', 'data-testid': 'contact-opt-out-state' },
        h('p', null, h('span', { class: 'badge badge-off' }, 'Opted out'), ' ', timeEl(c.opted_out_at, fullTime(c.opted_out_at))),
        c.opt_out_reason ? h('p', { class: 'small', 'data-testid': 'contact-opt-out-reason-text' }, `Reason: ${c.opt_out_reason}`) : h('p', { class: 'small muted' }, 'No reason recorded.'),
        h('button', { type: 'button', class: 'secondary small', disabled: deleted, 'data-testid': 'contact-opt-in', onclick: () => setOptOut(false, null, optStatus) }, 'Opt back in'),
        optStatus)
      : h('div', { class: 'cd-optout', 'data-testid': 'contact-opt-out-state' },
        h('p', { class: 'small muted' }, 'Can be messaged.'),
        h('div', { class: 'cd-inline' }, reason,
          h('button', { type: 'button', class: 'secondary small', disabled: deleted, 'data-testid': 'contact-opt-out', onclick: () => setOptOut(true, reason.value.trim() || null, optStatus) }, 'Mark opted out')),
        optStatus);
    const custom = fields.map((f) => field(f.label || f.key, (c.custom_fields || {})[f.key], `contact-custom-${f.key}`));
    const why = deleted ? 'Deleted: restore the contact to message it.' : out ? 'Opted out: they cannot be messaged.' : '';
    const message = (kind) => h('button', {
      type: 'button', class: 'secondary small', disabled: deleted || out, title: why, 'data-testid': `contact-message-${kind}`,
      onclick: () => openNewConversation({ contact: c, channel: kind }),
    }, `Message on ${kind === 'whatsapp' ? 'WhatsApp' : 'SMS'}`);

    host.replaceChildren(...[
      h('div', { class: 'cd-head' },
        h('h2', { 'data-testid': 'contact-detail-name' }, c.name || displayPhone(c.phone)),
        h('button', { type: 'button', class: 'ghost', 'aria-label': 'Close', 'data-testid': 'contact-detail-close', onclick: () => actions.close() }, '×')),
      deleted ? h('p', { class: 'banner warn', 'data-testid': 'contact-deleted-banner' }, `Deleted ${relTime(c.deleted_at)} ago: hidden from the list; conversations stay readable.`) : null,
      h('div', { class: 'cd-actions' },
        message('sms'), message('whatsapp'),
        why ? h('p', { class: 'small muted', 'data-testid': 'contact-message-blocked' }, why) : null),
      h('dl', { class: 'cd-fields' },
        field('Phone', displayPhone(c.phone), 'contact-detail-phone'),
        field('First name', c.first_name, 'contact-detail-first-name'),
        field('Last name', c.last_name, 'contact-detail-last-name'),
        field('Email', c.email, 'contact-detail-email'),
        field('Company', c.company, 'contact-detail-company'),
        ...custom,
        field('Tags', (c.tags || []).length ? h('span', { class: 'tags' }, ...(c.tags || []).map((t) => h('span', { class: 'tag' }, t))) : null, 'contact-detail-tags'),
        field('Source', c.source, 'contact-detail-source'),
        field('Added', timeEl(c.created_at, fullTime(c.created_at)), 'contact-detail-created'),
        field('Last activity', c.last_activity_at ? timeEl(c.last_activity_at, fullTime(c.last_activity_at)) : 'Never messaged', 'contact-detail-activity')),
      c.notes ? h('div', { class: 'cd-notes' }, h('h3', null, 'Notes'), h('p', { 'data-testid': 'contact-detail-notes' }, c.notes)) : null,
      h('h3', null, 'Opt-out'), optOut,
      actions.lists ? [h('h3', null, 'Lists'), actions.lists(c)] : null,
      h('h3', null, 'Conversations'), threadsList,
      h('div', { class: 'cd-foot' },
        deleted
          ? [h('button', { type: 'button', class: 'secondary', 'data-testid': 'contact-restore', onclick: () => actions.restore(c) }, 'Restore'),
            actions.purge ? h('button', { type: 'button', class: 'danger', 'data-testid': 'contact-purge', onclick: () => actions.purge(c) }, 'Purge…') : null]
          : [h('button', { type: 'button', class: 'secondary', 'data-testid': 'contact-edit', onclick: edit }, 'Edit'),
            h('button', { type: 'button', class: 'link danger', 'data-testid': 'contact-delete', onclick: () => actions.remove(c) }, 'Delete')]),
    ].flat().filter(Boolean)); // replaceChildren would write a null as the text "null"
    refreshThreads();
  }

  async function edit() {
    const saved = await openContactForm(contact);
    if (saved) {
      contact = saved;
      actions.changed(saved);
      render();
    }
  }

  async function setOptOut(out, reason, status) {
    status.textContent = '';
    status.classList.remove('error');
    try {
      const c = await api('PATCH', `/api/contacts/${encodeURIComponent(contact.id)}`, out ? { opted_out: true, opt_out_reason: reason } : { opted_out: false });
      contact = c;
      actions.changed(c);
      render();
    } catch (err) {
      status.textContent = err.message;
      status.classList.add('error');
    }
  }

  async function refreshThreads() {
    if (!contact) return;
    const id = contact.id;
    const mine = ++threadsSeq;
    try {
      const data = await api('GET', `/api/threads${qs({ contact_id: id, limit: 50 })}`);
      if (mine !== threadsSeq || !contact || contact.id !== id) return;
      const items = data.items || [];
      threadsList.replaceChildren(...(items.length ? items.map((t) => h('li', null,
        h('a', { href: `/threads/${encodeURIComponent(t.id)}`, class: 'cd-thread', 'data-testid': 'contact-thread' },
          h('span', { class: 'row-top' }, channelTag(t.channel && t.channel.kind), h('span', { class: `status status-${t.status}` }, t.status),
            h('span', { class: 'muted small' }, t.channel ? `via ${displayPhone(t.channel.number)}` : ''),
            h('span', { class: 'muted small cd-when' }, timeEl(t.last_message_at || t.created_at, relTime(t.last_message_at || t.created_at)))),
          h('span', { class: 'row-preview' }, t.last_preview || 'No messages yet'))))
        : [h('li', { class: 'muted small', 'data-testid': 'contact-threads-empty' }, 'No conversations yet.')]));
    } catch (err) {
      if (mine === threadsSeq) threadsList.replaceChildren(h('li', { class: 'form-note error' }, `Could not load conversations: ${err.message}`));
    }
  }

  return {
    show(c) {
      contact = c;
      render();
    },
    /** The contact changed elsewhere (an event): redraw, unless the agent is typing a reason. */
    update(c) {
      if (!contact || contact.id !== c.id) return;
      contact = c;
      if (document.activeElement && host.contains(document.activeElement) && document.activeElement.tagName === 'INPUT') return;
      render();
    },
    refreshThreads,
    contactId: () => (contact ? contact.id : null),
  };
}
