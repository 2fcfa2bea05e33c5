// "New conversation": a dialog to message someone the team has not talked to here yet, or to
// start on another channel. One "To" field finds existing contacts by name, phone, email or tag
// (GET /api/contacts?search= and ?tag=, side by side) or takes a new number, formatted as it is
// typed and read as E.164 in the team's default country (phone.js); opted-out contacts are
// listed, marked, and cannot be picked. Then the channel (SMS / WhatsApp, the kinds the team has
// numbers for: GET /api/numbers) and, when the team has several numbers of that kind, which one
// sends; the message, a media URL, now or at a time (as the composer does). Sending creates the
// contact when the number is new (POST /api/contacts; an existing or deleted one with that number
// is found or restored instead), sends (POST /api/messages {contact_id, channel, channel_id}) and
// hands the new thread's id to `onSent` (the inbox opens it; other pages go to /threads/{id}).
// "Templates" sends an approved template instead (templates-picker.js; POST /api/messages
// {contact_id, channel, template_id, variables}): a first WhatsApp message must be one, since
// the contact has not opened WhatsApp's 24-hour window.
// Every teammate's inbox shows the thread live through the team channel's thread.created.

import { ApiError, api, qs } from './api.js';
import { debounce, h } from './dom.js';
import { channelLabel, safeUrl, toLocalInput } from './format.js';
import { defaultCountry, displayPhone, formatAsYouType, loadPhoneLib, looksLikePhone, readPhone } from './phone.js';
import { buildTemplatePicker } from './templates-picker.js';

let open = null; // the dialog while it is shown

/** Whether the dialog is open (the inbox's `c` shortcut does nothing then). */
export function newConversationOpen() {
  return !!open;
}

/**
 * Opens the dialog. `contact` preselects a contact (the contacts page's "Message" buttons),
 * `channel` a kind; `onSent(threadId)` runs after the send (default: go to the thread's page).
 */
export async function openNewConversation(opts) {
  if (open) {
    open.focusTo();
    return;
  }
  const o = opts || {};
  const onSent = o.onSent || ((id) => window.location.assign(`/threads/${encodeURIComponent(id)}`));
  const state = { contact: o.contact || null, numbers: [], sending: false, query: 0 };

  const to = h('input', { type: 'text', id: 'nc-to', autocomplete: 'off', spellcheck: 'false', role: 'combobox', 'aria-expanded': 'false', 'aria-controls': 'nc-results', 'aria-autocomplete': 'list', placeholder: 'Name, phone, email or tag — or a new number', 'data-testid': 'nc-to' });
  const toHint = h('p', { class: 'form-note', id: 'nc-to-hint', 'data-testid': 'nc-to-hint' });
  const results = h('ul', { class: 'nc-results', id: 'nc-results', role: 'listbox', 'aria-label': 'Matching contacts', 'data-testid': 'nc-results', hidden: true });
  const picked = h('div', { class: 'nc-picked', 'data-testid': 'nc-picked', hidden: true });
  const name = h('input', { type: 'text', id: 'nc-name', autocomplete: 'off', placeholder: 'Optional', 'data-testid': 'nc-name' });
  const nameRow = h('div', { class: 'nc-field', hidden: true }, h('label', { for: 'nc-name' }, 'Name for the new contact'), name);
  const channelBox = h('fieldset', { class: 'segmented', 'data-testid': 'nc-channel' }, h('legend', { class: 'sr-only' }, 'Channel'));
  const numberSel = h('select', { id: 'nc-number', 'data-testid': 'nc-number' });
  const numberRow = h('span', { class: 'nc-number', hidden: true }, h('label', { for: 'nc-number', class: 'inline-label' }, 'From'), numberSel);
  const body = h('textarea', { id: 'nc-body', rows: '3', placeholder: 'Write a message…  (Ctrl+Enter to send)', 'data-testid': 'nc-body' });
  const media = h('input', { type: 'url', id: 'nc-media', placeholder: 'https://… (image or file URL, optional)', 'data-testid': 'nc-media' });
  const sendAt = h('input', { type: 'datetime-local', id: 'nc-send-at', min: toLocalInput(new Date()), 'data-testid': 'nc-send-at' });
  const cancelOnReply = h('input', { type: 'checkbox', id: 'nc-cancel-on-reply', 'data-testid': 'nc-cancel-on-reply' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'nc-error' });
  const blocked = h('p', { class: 'banner warn', hidden: true, 'data-testid': 'nc-opted-out' });
  const sendBtn = h('button', { type: 'submit', class: 'primary', 'data-testid': 'nc-send' }, 'Send');
  const laterBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'nc-send-later', onclick: () => send(true) }, 'Send later');
  const cancelBtn = h('button', { type: 'button', class: 'ghost', 'data-testid': 'nc-cancel', onclick: () => dialog.close() }, 'Cancel');
  const waHint = h('p', { class: 'form-note', hidden: true, 'data-testid': 'nc-whatsapp-hint' },
    'WhatsApp: until the contact writes, only an approved template can be sent (Templates).');
  const checkedKind = () => (channelBox.querySelector('input:checked') || {}).value || null;
  /** Whom a message goes to: the picked contact on the chosen channel (and number). */
  const targetOf = (contact) => {
    const t = { contact_id: contact.id, channel: checkedKind() };
    if (!numberRow.hidden && numberSel.value) t.channel_id = numberSel.value;
    return t;
  };
  const templates = buildTemplatePicker({
    kind: checkedKind,
    target: () => (state.contact ? targetOf(state.contact) : null),
    sendTarget: async () => {
      hideError();
      const contact = await ready();
      if (!contact) throw new ApiError('This contact opted out of messages.', 409, 'conflict');
      return targetOf(contact);
    },
    onSent: async (msg) => {
      dialog.close();
      await onSent(msg.thread_id);
    },
  });

  const form = h('form', { class: 'nc-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); send(false); } },
    h('h2', { id: 'nc-title' }, 'New conversation'),
    h('div', { class: 'nc-field nc-to' },
      h('label', { for: 'nc-to' }, 'To'), picked, to, results, toHint),
    nameRow,
    h('div', { class: 'nc-row' }, channelBox, numberRow),
    blocked,
    waHint,
    templates.el,
    h('div', { class: 'nc-field' }, h('label', { for: 'nc-body' }, 'Message'), body),
    h('div', { class: 'nc-field' }, h('label', { for: 'nc-media' }, 'Media URL'), media),
    h('div', { class: 'nc-row' },
      h('label', { for: 'nc-send-at', class: 'inline-label' }, 'Send at'), sendAt,
      h('label', { class: 'check', for: 'nc-cancel-on-reply' }, cancelOnReply, ' cancel if they reply')),
    error,
    h('div', { class: 'dialog-actions' }, cancelBtn, templates.button, laterBtn, sendBtn));
  const dialog = h('dialog', { class: 'dialog nc-dialog', 'aria-labelledby': 'nc-title', 'data-testid': 'new-conversation' }, form);
  dialog.addEventListener('close', () => {
    dialog.remove();
    open = null;
  });
  open = { focusTo: () => (state.contact ? body : to).focus() };
  document.body.append(dialog);
  dialog.showModal();

  // ------------------------------------------------------------ the recipient

  const showError = (message, field) => {
    error.textContent = message;
    error.hidden = false;
    const target = { phone: to, body, media_urls: media, send_at: sendAt, name, channel_id: numberSel }[field];
    if (target) target.focus();
  };
  const hideError = () => { error.hidden = true; error.textContent = ''; };

  function renderPicked() {
    const c = state.contact;
    picked.hidden = !c;
    to.hidden = !!c;
    results.hidden = true;
    to.setAttribute('aria-expanded', 'false');
    toHint.textContent = '';
    if (!c) {
      picked.replaceChildren();
      renderBlocked();
      return;
    }
    picked.replaceChildren(
      h('span', { class: 'nc-chip' },
        h('strong', { 'data-testid': 'nc-picked-name' }, c.name || displayPhone(c.phone)),
        c.name ? h('span', { class: 'muted' }, ` ${displayPhone(c.phone)}`) : null,
        c.opted_out_at ? h('span', { class: 'badge badge-off', 'data-testid': 'nc-picked-opted-out' }, 'Opted out') : null),
      h('button', { type: 'button', class: 'link', 'aria-label': 'Choose someone else', 'data-testid': 'nc-unpick', onclick: () => {
        state.contact = null;
        renderPicked();
        to.focus();
      } }, 'Change'));
    nameRow.hidden = true;
    renderBlocked();
  }

  /** An opted-out contact: the send buttons are off, with the reason. */
  function renderBlocked() {
    const c = state.contact;
    const out = !!(c && c.opted_out_at);
    blocked.hidden = !out;
    blocked.textContent = out ? `${c.name || c.phone} opted out of messages${c.opt_out_reason ? ` (${c.opt_out_reason})` : ''}: they cannot be messaged until they opt back in.` : '';
    sendBtn.disabled = out || state.numbers.length === 0;
    laterBtn.disabled = sendBtn.disabled;
    templates.button.disabled = sendBtn.disabled;
    sendBtn.title = out ? 'This contact opted out' : '';
  }

  function pick(c) {
    if (c.opted_out_at) return; // listed for the agent to see, never picked
    state.contact = c;
    renderPicked();
    body.focus();
  }

  function option(c, i, why) {
    const out = !!c.opted_out_at;
    const li = h('li', {
      role: 'option',
      id: `nc-opt-${i}`,
      class: `nc-option${out ? ' is-disabled' : ''}`,
      'aria-disabled': out ? 'true' : null,
      'aria-selected': 'false',
      'data-testid': 'nc-result',
      'data-contact-id': c.id || '',
      'data-opted-out': out ? 'true' : 'false',
      title: out ? 'Opted out: cannot be messaged' : '',
      onmousedown: (e) => e.preventDefault(), // keep the focus in the field
      onclick: () => (c.id ? pick(c) : useNewNumber()),
    },
    h('span', { class: 'nc-option-name' }, c.id ? (c.name || displayPhone(c.phone)) : c.label),
    c.id ? h('span', { class: 'muted small' }, [displayPhone(c.phone), c.email].filter(Boolean).join(' · ')) : null,
    why ? h('span', { class: 'nc-why small muted' }, why) : null,
    out ? h('span', { class: 'badge badge-off', 'data-testid': 'nc-result-opted-out' }, 'Opted out') : null);
    return li;
  }

  let active = -1;
  function setActive(i) {
    const items = [...results.children];
    if (!items.length) return;
    active = (i + items.length) % items.length;
    items.forEach((li, j) => li.setAttribute('aria-selected', j === active ? 'true' : 'false'));
    to.setAttribute('aria-activedescendant', items[active].id);
    items[active].scrollIntoView({ block: 'nearest' });
  }

  function useNewNumber() {
    const read = readPhone(to.value);
    if (!read.e164) return;
    results.hidden = true;
    to.setAttribute('aria-expanded', 'false');
    nameRow.hidden = false;
    name.focus();
  }

  async function search() {
    const q = to.value.trim();
    const mine = ++state.query;
    const phoneLike = looksLikePhone(q);
    const read = phoneLike ? readPhone(q) : { e164: null };
    nameRow.hidden = !read.e164;
    if (read.e164) {
      toHint.textContent = read.valid ? `New number: ${read.e164}` : `${read.e164} does not look like a valid number yet`;
    } else if (phoneLike && !defaultCountry() && !q.startsWith('+')) {
      toHint.textContent = 'Type the number with its country code (+1…): the team has no default country.';
    } else {
      toHint.textContent = '';
    }
    if (!q) {
      results.replaceChildren();
      results.hidden = true;
      to.setAttribute('aria-expanded', 'false');
      return;
    }
    const term = q.replace(/^#/, '');
    const bySearch = q.startsWith('#') ? Promise.resolve({ items: [] }) : api('GET', `/api/contacts${qs({ search: read.e164 || q, limit: 8 })}`);
    const byTag = phoneLike ? Promise.resolve({ items: [] }) : api('GET', `/api/contacts${qs({ tag: term, limit: 8 })}`);
    let found;
    try {
      found = await Promise.all([bySearch, byTag]);
    } catch (err) {
      if (mine === state.query) toHint.textContent = err.message;
      return;
    }
    if (mine !== state.query) return; // a newer keystroke won
    const seen = new Set();
    const rows = [];
    for (const [i, page] of found.entries()) {
      for (const c of page.items || []) {
        if (seen.has(c.id)) continue;
        seen.add(c.id);
        rows.push([c, i === 1 ? `tag: ${term}` : '']);
      }
    }
    const exact = read.e164 && rows.some(([c]) => c.phone === read.e164);
    const items = rows.map(([c, why], i) => option(c, i, why));
    if (read.e164 && !exact) {
      items.unshift(option({ label: `Message ${formatAsYouType(q)} (new contact)` }, 'new', read.valid ? read.e164 : 'check the number'));
    }
    results.replaceChildren(...items);
    results.hidden = items.length === 0;
    to.setAttribute('aria-expanded', String(items.length > 0));
    active = -1;
  }
  const searchSoon = debounce(search, 200);

  to.addEventListener('input', (e) => {
    hideError();
    // Format a number as it is typed, when the caret is at the end (editing in the middle keeps
    // the text as is, or the caret would jump).
    if (looksLikePhone(to.value) && to.selectionStart === to.value.length && e.inputType !== 'deleteContentBackward') {
      const formatted = formatAsYouType(to.value);
      if (formatted && formatted !== to.value) to.value = formatted;
    }
    searchSoon();
  });
  to.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); setActive(active + 1); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); setActive(active - 1); }
    else if (e.key === 'Enter') {
      e.preventDefault();
      const li = results.children[active >= 0 ? active : 0];
      if (li && !results.hidden) li.click();
      else if (readPhone(to.value).e164) body.focus();
    }
  });
  body.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      send(false);
    }
  });
  for (const el of [body, media, sendAt, name]) el.addEventListener('input', hideError);

  // ------------------------------------------------------------ channel and number

  function renderNumbers() {
    const kind = checkedKind();
    waHint.hidden = kind !== 'whatsapp';
    templates.close();
    const ofKind = state.numbers.filter((n) => n.kind === kind);
    numberSel.replaceChildren(...ofKind.map((n) => h('option', { value: n.id }, `${displayPhone(n.number)}${n.simulated ? ' (simulator)' : ''}`)));
    numberRow.hidden = ofKind.length < 2;
  }

  async function loadNumbers() {
    try {
      const data = await api('GET', '/api/numbers');
      state.numbers = (data && data.numbers) || [];
    } catch (err) {
      showError(`Could not load the team's numbers: ${err.message}`);
    }
    const kinds = ['sms', 'whatsapp'].filter((k) => state.numbers.some((n) => n.kind === k));
    const want = kinds.includes(o.channel) ? o.channel : kinds[0];
    channelBox.replaceChildren(h('legend', { class: 'sr-only' }, 'Channel'), ...kinds.flatMap((k) => {
      const input = h('input', { type: 'radio', name: 'nc-channel', id: `nc-ch-${k}`, value: k, checked: k === want, 'data-testid': `nc-channel-${k}` });
      input.addEventListener('change', renderNumbers);
      return [input, h('label', { for: `nc-ch-${k}` }, channelLabel(k))];
    }));
    if (!kinds.length) showError('The team has no number to send from yet: an admin adds one in Settings.');
    renderNumbers();
    renderBlocked();
  }

  // ------------------------------------------------------------ send

  /** The contact to message: the picked one, or the new number's (created, found or restored). */
  async function recipient() {
    if (state.contact) return state.contact;
    const read = readPhone(to.value);
    const phone = read.e164 || to.value.trim();
    if (!phone) throw new ApiError('Choose a contact or type a phone number.', 422, 'invalid', 'phone');
    try {
      return await api('POST', '/api/contacts', { phone, name: name.value.trim() || undefined, source: 'manual' });
    } catch (err) {
      if (err.status !== 409) throw err;
      // The number is a contact already (perhaps deleted): message that one.
      const live = await api('GET', `/api/contacts${qs({ search: read.e164 || phone, limit: 5 })}`);
      let c = (live.items || []).find((x) => x.phone === (read.e164 || phone));
      if (!c) {
        const gone = await api('GET', `/api/contacts${qs({ search: read.e164 || phone, deleted: 'true', limit: 5 })}`);
        const d = (gone.items || []).find((x) => x.phone === (read.e164 || phone));
        if (d) c = await api('POST', `/api/contacts/${encodeURIComponent(d.id)}/restore`);
      }
      if (!c) throw err;
      return c;
    }
  }

  /** The recipient, created if new and shown as picked; null when they opted out. */
  async function ready() {
    const contact = await recipient();
    state.contact = contact; // a retry after a failed send does not create it again
    renderPicked();
    return contact.opted_out_at ? null : contact;
  }

  async function send(later) {
    if (state.sending) return;
    hideError();
    const text = body.value.trim();
    const mediaUrls = media.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
    if (!state.contact && !to.value.trim()) return showError('Choose a contact or type a phone number.', 'phone');
    if (!state.contact && !readPhone(to.value).e164 && !looksLikePhone(to.value)) return showError('Pick a contact from the list, or type a phone number.', 'phone');
    if (!text && !mediaUrls.length) return showError('Write a message (or add a media URL) first.', 'body');
    const bad = mediaUrls.find((u) => !safeUrl(u));
    if (bad) return showError(`Not a valid http(s) URL: ${bad}`, 'media_urls');
    const kind = checkedKind();
    if (!kind) return showError('The team has no number to send from yet.');
    const payload = { channel: kind, body: text, media_urls: mediaUrls };
    if (!numberRow.hidden && numberSel.value) payload.channel_id = numberSel.value;
    if (later) {
      const when = sendAt.value ? new Date(sendAt.value) : null;
      if (!when || Number.isNaN(when.getTime())) return showError('Pick a date and time in “Send at” to send later.', 'send_at');
      if (when.getTime() <= Date.now()) return showError('Pick a time in the future to send later.', 'send_at');
      payload.send_at = when.toISOString();
      payload.cancel_on_reply = cancelOnReply.checked;
    }
    state.sending = true;
    sendBtn.disabled = true;
    laterBtn.disabled = true;
    try {
      const contact = await ready();
      if (!contact) return;
      const msg = await api('POST', '/api/messages', Object.assign({ contact_id: contact.id }, payload));
      dialog.close();
      await onSent(msg.thread_id);
    } catch (err) {
      showError(err.message, err.field);
    } finally {
      state.sending = false;
      if (open) renderBlocked();
    }
  }

  renderPicked();
  await loadPhoneLib();
  if (state.contact) renderPicked(); // numbers now formatted
  await loadNumbers();
  open && open.focusTo();
}
