// The inbox's right pane and its contact card: name, phone, tags and opt-out of the open thread's
// contact, saved through the API and reflected at once in the list and the thread header; a
// change made elsewhere (another agent, the API) arrives as the thread's contact.updated event
// (sync.js) and shows the same way.

import { api } from './api.js';
import { h } from './dom.js';
import { upsertThread } from './list.js';
import { buildNotesCard } from './notes.js';
import { els, view } from './state.js';

/** Right pane: the contact card and the notes card (hidden until a thread is open). */
export function buildContactPane() {
  els.contactName = h('input', { type: 'text', id: 'contact-name', placeholder: 'Add a name', 'data-testid': 'contact-name', autocomplete: 'off' });
  els.contactPhone = h('span', { class: 'mono', 'data-testid': 'contact-phone' });
  els.contactTags = h('input', { type: 'text', id: 'contact-tags', placeholder: 'vip, billing', 'data-testid': 'contact-tags', autocomplete: 'off' });
  els.contactOptOut = h('input', { type: 'checkbox', id: 'contact-opted-out', 'data-testid': 'contact-opted-out' });
  els.contactOptOut.addEventListener('change', () => patchContact({ opted_out: els.contactOptOut.checked }, 'opt'));
  els.contactMsg = h('p', { class: 'form-note', role: 'status', 'data-testid': 'contact-status' });
  els.contactForm = h('form', { class: 'contact-form', 'data-testid': 'contact-form', novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    const tags = els.contactTags.value.split(',').map((t) => t.trim()).filter(Boolean);
    patchContact({ name: els.contactName.value.trim(), tags }, 'save');
  } },
  h('label', { for: 'contact-name' }, 'Name'), els.contactName,
  h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Phone'), els.contactPhone),
  h('label', { for: 'contact-tags' }, 'Tags (comma-separated)'), els.contactTags,
  h('label', { class: 'check', for: 'contact-opted-out' }, els.contactOptOut, ' Opted out of messages'),
  h('button', { type: 'submit', class: 'secondary', 'data-testid': 'contact-save' }, 'Save contact'),
  els.contactMsg);

  return h('aside', { class: 'pane contact-pane', 'aria-label': 'Contact and notes', 'data-testid': 'contact-pane', hidden: true },
    h('section', { class: 'card' }, h('h2', null, 'Contact'), els.contactForm),
    buildNotesCard());
}

export async function loadContact(contactId) {
  if (!contactId || !view) return;
  const id = view.id;
  const brief = view.thread.contact || {};
  fillContact(Object.assign({ tags: [] }, brief));
  const version = view.contactVersion;
  try {
    const c = await api('GET', `/api/contacts/${encodeURIComponent(contactId)}`);
    // A save or a contact.updated event while this was on its way is at least as new.
    if (view && view.id === id && view.contactVersion === version) fillContact(c);
  } catch (_) { /* the brief from the thread is enough to show */ }
}

/**
 * A contact.updated event of the open thread (data: the Contact as it is now): the card, the
 * thread header, the composer's opt-out banner and the inbox row show it at once. A field the
 * agent is typing in keeps what they typed.
 */
export function applyContactChange(c) {
  if (!view || !view.thread || !c || !c.id) return;
  const current = view.thread.contact;
  if (current && current.id && current.id !== c.id) return;
  view.contactVersion += 1;
  fillContact(c);
  showInThread(c);
}

function fillContact(c) {
  if (!view) return;
  view.contact = c;
  if (document.activeElement !== els.contactName) els.contactName.value = c.name || '';
  els.contactPhone.textContent = c.phone || '';
  if (document.activeElement !== els.contactTags) els.contactTags.value = (c.tags || []).join(', ');
  els.contactOptOut.checked = !!c.opted_out_at;
  els.optOutBanner.hidden = !c.opted_out_at;
}

async function patchContact(patch, what) {
  if (!view || !view.contact) return;
  const contact = view.contact;
  const id = view.id;
  els.contactMsg.textContent = '';
  els.contactMsg.classList.remove('error');
  try {
    const c = await api('PATCH', `/api/contacts/${encodeURIComponent(contact.id)}`, patch);
    if (!view || view.id !== id) return; // another thread was opened meanwhile
    view.contactVersion += 1;
    fillContact(c);
    els.contactMsg.textContent = what === 'opt' ? (c.opted_out_at ? 'Marked as opted out.' : 'Opted back in.') : 'Saved.';
    showInThread(c);
  } catch (err) {
    if (!view || view.id !== id) return;
    els.contactMsg.textContent = err.message;
    els.contactMsg.classList.add('error');
    if (what === 'opt') els.contactOptOut.checked = !!contact.opted_out_at;
  }
}

/** Puts the contact's brief into the open thread's summary: the list row and the header follow. */
function showInThread(c) {
  if (!view || !view.thread) return;
  const contact = Object.assign({}, view.thread.contact, { id: c.id, name: c.name, phone: c.phone, opted_out_at: c.opted_out_at });
  upsertThread(Object.assign({}, view.thread, { contact }));
}
