// The open thread's messages: upserting one from an HTTP answer or a socket event (a newer seq or
// further delivery progress wins), rendering the list with statuses, media and errors, and the
// edit / cancel actions of a scheduled message, and Retry on a failed send.

import { api } from './api.js';
import { callItem } from './calls.js';
import { ruleFiringItem } from './rule-firings.js';
import { h, timeEl, toast } from './dom.js';
import { PLACEHOLDER, fullTime, safeUrl, shortTime, toDate, toLocalInput } from './format.js';
import { memberName } from './session.js';
import { els, view } from './state.js';

const STATUS_RANK = { scheduled: 0, queued: 1, sending: 2, sent: 3, delivered: 4, read: 5, undelivered: 5, failed: 5, canceled: 5, received: 5 };

/**
 * Upserts a message; with a seq, only a newer event wins; without one (an HTTP answer), only
 * progress. A status callback's `message.updated` carries only what it moved (no `created_at`):
 * it is merged into the message held, and ignored for one this view does not hold.
 */
export function upsertMessage(change, seq) {
  if (!view || !change || change.thread_id !== view.id) return;
  const old = view.messages.get(change.id);
  const partial = change.created_at === undefined;
  if (partial && !old) return;
  const m = partial ? { ...old, ...change } : change;
  if (seq !== null && seq !== undefined) {
    if ((view.msgSeq.get(m.id) || 0) >= seq && old) return;
    view.msgSeq.set(m.id, seq);
  } else if (old) {
    const newer = (STATUS_RANK[m.status] || 0) > (STATUS_RANK[old.status] || 0) || (old.status === 'scheduled' && m.status === 'scheduled');
    if (!newer) return;
  }
  view.messages.set(m.id, m);
  if (view.editing === m.id && m.status !== 'scheduled') view.editing = null;
  renderMessages(!old && (m.direction === 'outbound' || isNearBottom()));
}

function isNearBottom() {
  const w = els.messagesWrap;
  return w.scrollHeight - w.scrollTop - w.clientHeight < 120;
}

function sortedMessages() {
  return [...view.messages.values()].sort((a, b) => {
    const da = toDate(a.created_at);
    const db = toDate(b.created_at);
    return ((da ? da.getTime() : 0) - (db ? db.getTime() : 0)) || (a.id < b.id ? -1 : 1);
  });
}

const STATUS_TEXT = {
  scheduled: 'Scheduled', queued: 'Queued', sending: 'Sending…', sent: 'Sent', delivered: 'Delivered', read: 'Read',
  undelivered: 'Undelivered', failed: 'Failed', canceled: 'Canceled', received: 'Received',
};

export function renderMessages(scrollToEnd) {
  if (!view) return;
  // Calls sit in the timeline among the messages, by time.
  const entries = sortedMessages().map((m) => ({ at: toDate(m.created_at), item: () => messageItem(m) }));
  for (const c of view.calls.values()) entries.push({ at: toDate(c.created_at), item: () => callItem(c) });
  for (const e of view.ruleFirings.values()) entries.push({ at: toDate(e.created_at), item: () => ruleFiringItem(e) });
  entries.sort((a, b) => (a.at ? a.at.getTime() : 0) - (b.at ? b.at.getTime() : 0));
  const items = entries.map((e) => e.item());
  if (!items.length) items.push(h('li', { class: 'empty muted' }, 'No messages yet. Say hello below.'));
  // Keep a half-typed edit of a scheduled message across re-renders.
  const editFocus = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.testid : null;
  const stick = scrollToEnd || isNearBottom();
  els.messages.replaceChildren(...items);
  els.loadEarlier.hidden = !view.nextCursor;
  if (editFocus === 'edit-body' || editFocus === 'edit-send-at') {
    const again = els.messages.querySelector(`[data-testid="${editFocus}"]`);
    if (again) again.focus();
  }
  if (stick) els.messagesWrap.scrollTop = els.messagesWrap.scrollHeight;
}

function messageItem(m) {
  const out = m.direction === 'outbound';
  const author = out ? (m.author_id ? (memberName(m.author_id) || 'Agent') : 'Automation') : null;
  const bubble = h('div', { class: 'bubble' });
  if (view.editing === m.id && m.status === 'scheduled') {
    bubble.append(editForm(m));
  } else {
    if (m.body) bubble.append(h('div', { class: 'msg-body', 'data-testid': 'message-body' }, m.body));
    for (const media of m.media || []) {
      const url = safeUrl(media.url);
      if (!url) continue;
      if ((media.content_type || '').startsWith('image/')) {
        const link = h('a', { class: 'media', href: url, target: '_blank', rel: 'noopener noreferrer' });
        const img = h('img', { src: url, alt: 'Image attachment', loading: 'lazy', 'data-testid': 'message-image' });
        // An image that cannot be loaded still leaves a usable link.
        img.addEventListener('error', () => { link.classList.add('media-link'); img.replaceWith('Image attachment (preview unavailable)'); });
        link.append(img);
        bubble.append(link);
      } else {
        bubble.append(h('a', { class: 'media-link', href: url, target: '_blank', rel: 'noopener noreferrer' }, `Attachment${media.content_type ? ` (${media.content_type})` : ''}`));
      }
    }
  }
  const meta = h('div', { class: 'msg-meta' });
  if (author) meta.append(h('span', { class: 'msg-author' }, author));
  // Sent with an approved template (WhatsApp's ContentSid): a retry sends the template again.
  if (m.content) meta.append(h('span', { class: 'badge', 'data-testid': 'message-template', title: `Approved template ${m.content.sid}` }, 'Template'));
  if (m.status === 'scheduled') {
    meta.append(h('span', { class: 'msg-status st-scheduled', 'data-testid': 'message-status' }, `◷ Scheduled for ${fullTime(m.scheduled_at)}`));
    if (m.cancel_on_reply) meta.append(h('span', { class: 'muted' }, 'cancels if they reply'));
  } else {
    meta.append(timeEl(m.sent_at || m.created_at, shortTime(m.sent_at || m.created_at)));
    if (out || m.status !== 'received') meta.append(h('span', { class: `msg-status st-${m.status}`, 'data-testid': 'message-status' }, STATUS_TEXT[m.status] || m.status));
  }
  const li = h('li', {
    class: `message ${out ? 'out' : 'in'} status-${m.status}`,
    'data-testid': 'message',
    'data-message-id': m.id,
    'data-status': m.status,
    'data-direction': m.direction,
  }, bubble, meta);
  if ((m.status === 'failed' || m.status === 'undelivered') && (m.error_reason || m.error_code)) {
    li.append(h('div', { class: 'msg-error', 'data-testid': 'message-error' },
      `⚠ ${m.error_reason || 'Delivery failed'}${m.error_code ? ` (error ${m.error_code})` : ''}`));
  }
  if (out && (m.status === 'failed' || m.status === 'undelivered')) {
    li.append(h('div', { class: 'msg-actions' },
      h('button', { type: 'button', class: 'link', 'data-testid': 'message-retry', title: 'Send it again as a new message', onclick: (e) => retry(m, e.target) }, 'Retry')));
  }
  if (m.status === 'scheduled' && view.editing !== m.id) {
    li.append(h('div', { class: 'msg-actions' },
      h('button', { type: 'button', class: 'link', 'data-testid': 'message-edit', onclick: () => startEdit(m) }, 'Edit'),
      h('button', { type: 'button', class: 'link danger', 'data-testid': 'message-cancel', onclick: () => cancelScheduled(m) }, 'Cancel')));
  }
  return li;
}

/** A failed send again: a new message (the failed one stays, with its error). */
async function retry(m, button) {
  button.disabled = true;
  try {
    const sent = await api('POST', `/api/messages/${encodeURIComponent(m.id)}/retry`);
    upsertMessage(sent, null);
  } catch (err) {
    toast(`Could not retry: ${err.message}`, { kind: 'error' });
    button.disabled = false;
  }
}

function startEdit(m) {
  view.editing = m.id;
  const when = toDate(m.scheduled_at);
  view.editDraft = { body: m.body || '', sendAt: when ? toLocalInput(when) : '' };
  renderMessages(false);
  const b = els.messages.querySelector('[data-testid="edit-body"]');
  if (b) b.focus();
}

function editForm(m) {
  const draft = view.editDraft || { body: m.body, sendAt: '' };
  const body = h('textarea', { rows: '2', 'aria-label': 'Edit scheduled message', 'data-testid': 'edit-body' });
  body.value = draft.body;
  body.addEventListener('input', () => { draft.body = body.value; });
  const at = h('input', { type: 'datetime-local', 'aria-label': 'New send time', 'data-testid': 'edit-send-at', value: draft.sendAt });
  at.addEventListener('input', () => { draft.sendAt = at.value; });
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
  return h('form', { class: 'edit-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const patch = { body: body.value.trim() };
    // A variable typed into the edit is filled in by the server, as on a send.
    if (PLACEHOLDER.test(patch.body)) patch.render = true;
    if (at.value) {
      const d = new Date(at.value);
      if (Number.isNaN(d.getTime())) {
        err.textContent = 'Pick a valid date and time.';
        err.hidden = false;
        return;
      }
      patch.send_at = d.toISOString();
    }
    try {
      const updated = await api('PATCH', `/api/messages/${encodeURIComponent(m.id)}`, patch);
      view.editing = null;
      view.editDraft = null;
      if (updated && updated.id) {
        view.messages.set(updated.id, updated);
      }
      renderMessages(false);
    } catch (ex) {
      err.textContent = ex.message;
      err.hidden = false;
    }
  } },
  body, at,
  h('div', { class: 'edit-actions' },
    h('button', { type: 'submit', class: 'primary small', 'data-testid': 'edit-save' }, 'Save'),
    h('button', { type: 'button', class: 'ghost small', onclick: () => { view.editing = null; view.editDraft = null; renderMessages(false); } }, 'Discard')),
  err);
}

async function cancelScheduled(m) {
  try {
    const updated = await api('DELETE', `/api/messages/${encodeURIComponent(m.id)}`);
    if (updated && updated.id) upsertMessage(updated, null);
  } catch (err) {
    toast(err.message, { kind: 'error' });
  }
}
