// The reply composer of the open thread: SMS / WhatsApp switch (which opens the contact's thread
// on that channel), body and media URLs, send now or at a time (optionally cancelled by a reply),
// and its inline errors. Typing signals go out through presence.js; the switch opens the other
// thread with an 'open-thread' event (events.js), as thread.js imports this module.
// Canned replies: "/" opens the picker (replies-picker.js); the reply picked is rendered for this
// conversation by the server (POST /api/replies/preview) and put in the composer. A variable with
// no value keeps its {{placeholder}}, listed in a warning; Send stays off until every one is
// replaced. A text with anything that looks like a variable is sent with `render: true`, so the
// server fills it in and refuses it (422 missing_variables) if a value is still missing.
// WhatsApp: the 24-hour window's line (whatsapp-window.js) turns free-form sending off while the
// window is closed; the Templates button (templates-picker.js) sends an approved template any time.

import { api } from './api.js';
import { h } from './dom.js';
import { emit } from './events.js';
import { PLACEHOLDER, safeUrl, toLocalInput } from './format.js';
import { upsertThread } from './list.js';
import { renderMessages, upsertMessage } from './messages.js';
import { sendTyping } from './presence.js';
import { attachReplyPicker } from './replies-picker.js';
import { els, view } from './state.js';
import { buildTemplatePicker } from './templates-picker.js';
import { buildWindowLine } from './whatsapp-window.js';

/** The WhatsApp window's line and the template picker of the composer. */
let windowLine = null;
let templatePicker = null;
/** Whether the open WhatsApp thread's window is closed (free-form sending is off). */
let windowClosed = false;

/** Builds the composer form (its elements go to els). */
export function buildComposer() {
  els.chanSms = h('input', { type: 'radio', name: 'composer-channel', id: 'composer-sms', value: 'sms', 'data-testid': 'composer-channel-sms' });
  els.chanWa = h('input', { type: 'radio', name: 'composer-channel', id: 'composer-wa', value: 'whatsapp', 'data-testid': 'composer-channel-whatsapp' });
  for (const r of [els.chanSms, els.chanWa]) r.addEventListener('change', () => { if (r.checked) switchChannel(r.value); });
  els.body = h('textarea', { id: 'composer-body', rows: '2', placeholder: 'Write a reply…  (Ctrl+Enter to send, / for canned replies)', 'data-testid': 'composer-body' });
  // Before the composer's own keys: Enter in the open picker inserts, it does not send.
  const picker = attachReplyPicker(els.body, insertReply);
  els.body.addEventListener('input', onComposerInput);
  els.body.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      sendMessage(false);
    }
  });
  els.media = h('input', { type: 'url', id: 'composer-media', placeholder: 'https://… (image or file URL, optional)', 'data-testid': 'composer-media' });
  els.sendAt = h('input', { type: 'datetime-local', id: 'composer-send-at', 'data-testid': 'send-at' });
  els.cancelOnReply = h('input', { type: 'checkbox', id: 'composer-cancel-on-reply', 'data-testid': 'cancel-on-reply' });
  els.sendBtn = h('button', { type: 'submit', class: 'primary', 'data-testid': 'send' }, 'Send');
  els.sendLaterBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'send-later', onclick: () => sendMessage(true) }, 'Send later');
  els.composerError = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'composer-error', hidden: true });
  els.missingVars = h('div', { class: 'banner warn missing-vars', role: 'status', 'data-testid': 'missing-variables', hidden: true });
  templatePicker = buildTemplatePicker({
    kind: () => (view && view.thread ? (view.thread.channel ? view.thread.channel.kind : 'sms') : null),
    target: () => (view && view.id ? { thread_id: view.id } : null),
    onSent: (msg) => {
      if (view && msg && msg.thread_id === view.id) {
        upsertMessage(msg, null);
        renderMessages(true);
      }
    },
  });
  windowLine = buildWindowLine((closed) => { windowClosed = closed; showMissing(); }, () => templatePicker.open());
  els.optOutBanner = h('p', { class: 'banner warn', 'data-testid': 'opted-out-banner', hidden: true }, 'This contact has opted out (replied STOP). Messages to them are blocked until they opt back in.');
  return h('form', { class: 'composer', 'data-testid': 'composer', 'aria-label': 'Reply', novalidate: true, onsubmit: (e) => { e.preventDefault(); sendMessage(false); } },
    els.optOutBanner,
    windowLine.el,
    templatePicker.el,
    h('div', { class: 'composer-top' },
      h('fieldset', { class: 'segmented', 'data-testid': 'composer-channel' },
        h('legend', { class: 'sr-only' }, 'Send with'),
        els.chanSms, h('label', { for: 'composer-sms' }, 'SMS'),
        els.chanWa, h('label', { for: 'composer-wa' }, 'WhatsApp')),
      h('label', { for: 'composer-body', class: 'composer-label' }, 'Reply')),
    h('div', { class: 'composer-input' }, els.body, picker.el),
    els.missingVars,
    h('div', { class: 'composer-row' },
      h('label', { for: 'composer-media', class: 'inline-label' }, 'Media URL'), els.media),
    h('div', { class: 'composer-row composer-actions' },
      h('span', { class: 'later' },
        h('label', { for: 'composer-send-at', class: 'inline-label' }, 'Send at'), els.sendAt,
        h('label', { class: 'check', for: 'composer-cancel-on-reply' }, els.cancelOnReply, ' cancel if they reply')),
      h('span', { class: 'buttons' }, templatePicker.button, els.sendLaterBtn, els.sendBtn)),
    els.composerError);
}

function onComposerInput() {
  hideComposerError();
  showMissing();
  sendTyping();
}

/**
 * The canned reply last inserted in this thread's composer: the composer's text with the reply's
 * template in place of its rendering (`source`), the text as shown then (`shown`), and the
 * variables that had no value. Null when the text did not come from a reply.
 */
let templated = null;

/** Inserts `reply` over the "/query" at `range`, rendered for the open conversation. */
async function insertReply(reply, range) {
  if (!view || !view.id) return;
  const id = view.id;
  hideComposerError();
  let rendered;
  try {
    rendered = await api('POST', '/api/replies/preview', { body: reply.body, thread_id: id });
  } catch (err) {
    showComposerError(`Could not insert /${reply.shortcut}: ${err.message}`);
    return;
  }
  if (!view || view.id !== id) return;
  const text = els.body.value;
  // The "/query" the agent typed, unless they changed the text meanwhile (then: at the caret).
  const typed = text.slice(range.start, range.end).startsWith('/') ? range : { start: els.body.selectionStart, end: els.body.selectionEnd };
  const before = text.slice(0, typed.start);
  const after = text.slice(typed.end);
  els.body.value = before + rendered.text + after;
  const keep = templated && templated.threadId === id ? templated.missing : [];
  templated = { threadId: id, source: before + reply.body + after, shown: els.body.value, missing: [...new Set([...keep, ...rendered.missing])] };
  els.body.focus();
  // The caret goes to the first placeholder to fill in (selected), or after the inserted text.
  const first = rendered.missing.length ? els.body.value.indexOf(`{{${rendered.missing[0]}}}`, before.length) : -1;
  if (first >= 0) els.body.setSelectionRange(first, first + rendered.missing[0].length + 4);
  else els.body.setSelectionRange(before.length + rendered.text.length, before.length + rendered.text.length);
  showMissing();
  sendTyping();
}

/** The variables of the inserted reply whose placeholder is still in the text. */
function missingLeft() {
  if (!templated || !view || templated.threadId !== view.id) return [];
  return templated.missing.filter((name) => els.body.value.includes(`{{${name}}}`));
}

/** Shows which placeholders are left to fill in, and holds Send back while any is (and while the
 * conversation loads: a send pressed then would have nowhere to go). */
function showMissing() {
  const left = missingLeft();
  const blocked = left.length > 0;
  const loading = !view || !view.thread;
  els.sendBtn.disabled = loading || blocked || sending || windowClosed;
  els.sendLaterBtn.disabled = loading || blocked || sending || windowClosed;
  els.sendBtn.title = windowClosed ? 'The WhatsApp window is closed: send a template' : '';
  els.body.classList.toggle('has-missing', blocked);
  if (blocked) els.body.setAttribute('aria-invalid', 'true');
  else els.body.removeAttribute('aria-invalid');
  els.missingVars.hidden = !blocked;
  if (!blocked) {
    els.missingVars.replaceChildren();
    return;
  }
  els.missingVars.replaceChildren(
    h('span', null, 'No value for this conversation: replace '),
    ...left.flatMap((name, i) => [i ? ', ' : '', h('button', { type: 'button', class: 'link mono placeholder', 'data-testid': 'missing-variable', 'data-variable': name,
      title: 'Select it in the reply', onclick: () => {
        const at = els.body.value.indexOf(`{{${name}}}`);
        els.body.focus();
        if (at >= 0) els.body.setSelectionRange(at, at + name.length + 4);
      } }, `{{${name}}}`)]),
    h('span', null, ' before sending.'));
}

export function clearComposer(all) {
  templated = null;
  els.body.value = '';
  els.media.value = '';
  els.sendAt.value = '';
  els.cancelOnReply.checked = false;
  if (all) hideComposerError();
  showMissing();
}

function showComposerError(message) {
  els.composerError.textContent = message;
  els.composerError.hidden = false;
}

function hideComposerError() {
  if (!els.composerError.hidden) {
    els.composerError.hidden = true;
    els.composerError.textContent = '';
  }
}

export function setComposerChannel() {
  const kind = view && view.thread && view.thread.channel ? view.thread.channel.kind : 'sms';
  els.chanSms.checked = kind !== 'whatsapp';
  els.chanWa.checked = kind === 'whatsapp';
  els.sendAt.min = toLocalInput(new Date());
  if (templatePicker) templatePicker.close();
  if (windowLine) windowLine.update();
  showMissing();
}

async function switchChannel(kind) {
  if (!view || !view.thread) return;
  if (view.thread.channel && view.thread.channel.kind === kind) return;
  const contactId = view.thread.contact && view.thread.contact.id;
  const draft = els.body.value;
  const inserted = templated; // the same contact: what the reply filled in stays right
  try {
    const t = await api('POST', '/api/threads/for-contact', { contact_id: contactId, channel: kind });
    upsertThread(t, { keepUnread: true });
    await emit('open-thread', { id: t.id, push: true });
    els.body.value = draft;
    if (inserted && view && view.id === t.id) templated = Object.assign({}, inserted, { threadId: t.id });
    showMissing();
  } catch (err) {
    setComposerChannel();
    showComposerError(err.message);
  }
}

/** A `{{root.field}}` variable of the template syntax (docs/api.md, Templates). */

let sending = false;
async function sendMessage(later) {
  if (!view || !view.thread || sending) return;
  hideComposerError();
  if (windowClosed) {
    showComposerError('The WhatsApp window is closed: the contact has not written for 24 hours. Send an approved template.');
    return;
  }
  const body = els.body.value.trim();
  const mediaUrls = els.media.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  if (!body && !mediaUrls.length) {
    showComposerError('Write a message (or add a media URL) first.');
    els.body.focus();
    return;
  }
  for (const u of mediaUrls) {
    if (!safeUrl(u)) {
      showComposerError(`Not a valid http(s) URL: ${u}`);
      els.media.focus();
      return;
    }
  }
  const left = missingLeft();
  if (left.length) {
    showComposerError(`Replace ${left.map((n) => `{{${n}}}`).join(', ')} before sending: this conversation has no value for ${left.length === 1 ? 'it' : 'them'}.`);
    return;
  }
  const payload = { thread_id: view.id, body, media_urls: mediaUrls };
  if (templated && templated.threadId === view.id && els.body.value === templated.shown) {
    // Unchanged since the insert: the server renders the reply itself (a value that happens to
    // contain braces is never read as a variable).
    payload.body = templated.source.trim();
  }
  // Anything that looks like a variable is the server's to fill in, or to refuse while it has
  // no value: a placeholder never goes out raw, whatever happened to the text on the way.
  if (PLACEHOLDER.test(payload.body)) payload.render = true;
  if (later) {
    if (!els.sendAt.value) {
      showComposerError('Pick a date and time in “Send at” to send later.');
      els.sendAt.focus();
      return;
    }
    const when = new Date(els.sendAt.value); // the input is in the agent's own time zone
    if (Number.isNaN(when.getTime())) {
      showComposerError('Pick a valid date and time.');
      return;
    }
    if (when.getTime() <= Date.now()) {
      showComposerError('Pick a time in the future to send later.');
      return;
    }
    payload.send_at = when.toISOString();
    payload.cancel_on_reply = els.cancelOnReply.checked;
  }
  const id = view.id;
  sending = true;
  els.sendBtn.disabled = true;
  els.sendLaterBtn.disabled = true;
  try {
    const msg = await api('POST', '/api/messages', payload);
    if (view && view.id === id) {
      clearComposer(false);
      view.lastTypingSent = 0;
      if (msg && msg.id) upsertMessage(msg, null);
      renderMessages(true);
    }
  } catch (err) {
    if (view && view.id === id) showComposerError(err.message);
  } finally {
    sending = false;
    showMissing();
  }
}
