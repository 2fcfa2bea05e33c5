// The reply composer of the open thread: SMS / WhatsApp switch (which opens the contact's thread
// on that channel), body and media URLs, send now or at a time (optionally cancelled by a reply),
// and its inline errors. Typing signals go out through presence.js; the switch opens the other
// thread with an 'open-thread' event (events.js), as thread.js imports this module.

import { api } from './api.js';
import { h } from './dom.js';
import { emit } from './events.js';
import { safeUrl, toLocalInput } from './format.js';
import { upsertThread } from './list.js';
import { renderMessages, upsertMessage } from './messages.js';
import { sendTyping } from './presence.js';
import { els, view } from './state.js';

/** Builds the composer form (its elements go to els). */
export function buildComposer() {
  els.chanSms = h('input', { type: 'radio', name: 'composer-channel', id: 'composer-sms', value: 'sms', 'data-testid': 'composer-channel-sms' });
  els.chanWa = h('input', { type: 'radio', name: 'composer-channel', id: 'composer-wa', value: 'whatsapp', 'data-testid': 'composer-channel-whatsapp' });
  for (const r of [els.chanSms, els.chanWa]) r.addEventListener('change', () => { if (r.checked) switchChannel(r.value); });
  els.body = h('textarea', { id: 'composer-body', rows: '2', placeholder: 'Write a reply…  (Ctrl+Enter to send)', 'data-testid': 'composer-body' });
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
  els.optOutBanner = h('p', { class: 'banner warn', 'data-testid': 'opted-out-banner', hidden: true }, 'This contact has opted out (replied STOP). Messages to them are blocked until they opt back in.');
  return h('form', { class: 'composer', 'data-testid': 'composer', 'aria-label': 'Reply', novalidate: true, onsubmit: (e) => { e.preventDefault(); sendMessage(false); } },
    els.optOutBanner,
    h('div', { class: 'composer-top' },
      h('fieldset', { class: 'segmented', 'data-testid': 'composer-channel' },
        h('legend', { class: 'sr-only' }, 'Send with'),
        els.chanSms, h('label', { for: 'composer-sms' }, 'SMS'),
        els.chanWa, h('label', { for: 'composer-wa' }, 'WhatsApp')),
      h('label', { for: 'composer-body', class: 'composer-label' }, 'Reply')),
    els.body,
    h('div', { class: 'composer-row' },
      h('label', { for: 'composer-media', class: 'inline-label' }, 'Media URL'), els.media),
    h('div', { class: 'composer-row composer-actions' },
      h('span', { class: 'later' },
        h('label', { for: 'composer-send-at', class: 'inline-label' }, 'Send at'), els.sendAt,
        h('label', { class: 'check', for: 'composer-cancel-on-reply' }, els.cancelOnReply, ' cancel if they reply')),
      h('span', { class: 'buttons' }, els.sendLaterBtn, els.sendBtn)),
    els.composerError);
}

function onComposerInput() {
  hideComposerError();
  sendTyping();
}

export function clearComposer(all) {
  els.body.value = '';
  els.media.value = '';
  els.sendAt.value = '';
  els.cancelOnReply.checked = false;
  if (all) hideComposerError();
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
}

async function switchChannel(kind) {
  if (!view || !view.thread) return;
  if (view.thread.channel && view.thread.channel.kind === kind) return;
  const contactId = view.thread.contact && view.thread.contact.id;
  const draft = els.body.value;
  try {
    const t = await api('POST', '/api/threads/for-contact', { contact_id: contactId, channel: kind });
    upsertThread(t, { keepUnread: true });
    await emit('open-thread', { id: t.id, push: true });
    els.body.value = draft;
  } catch (err) {
    setComposerChannel();
    showComposerError(err.message);
  }
}

let sending = false;
async function sendMessage(later) {
  if (!view || !view.thread || sending) return;
  hideComposerError();
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
  const payload = { thread_id: view.id, body, media_urls: mediaUrls };
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
    els.sendBtn.disabled = false;
    els.sendLaterBtn.disabled = false;
  }
}
