// WhatsApp's 24-hour window in the composer: "Window closes in 5 h 12 m" while the contact's
// last message is less than a day old, "Window closed — send a template" after (or when they
// never wrote). The server's thread row carries `whatsapp_window_closes_at` (null: closed, or
// not WhatsApp), kept live by thread.updated; a time that has passed counts as closed. While
// the window is closed free-form sending is off (the server refuses it anyway: 422
// window_closed) and the template picker (templates-picker.js) is the way to write.

import { h } from './dom.js';
import { view } from './state.js';

/** The open thread's window: {kind: 'none'} off WhatsApp, else {kind: 'open', left} or {kind: 'closed'}. */
export function windowState(thread = view && view.thread, now = Date.now()) {
  if (!thread || !thread.channel || thread.channel.kind !== 'whatsapp') return { kind: 'none' };
  const closes = thread.whatsapp_window_closes_at ? Date.parse(thread.whatsapp_window_closes_at) : NaN;
  if (Number.isNaN(closes) || closes <= now) return { kind: 'closed' };
  return { kind: 'open', left: closes - now };
}

/** "5 h 12 m", "12 m", "under a minute". */
export function timeLeft(ms) {
  const minutes = Math.floor(ms / 60000);
  if (minutes < 1) return 'under a minute';
  const hours = Math.floor(minutes / 60);
  return hours ? `${hours} h ${minutes % 60} m` : `${minutes} m`;
}

/**
 * The window's line for the composer. `onChange(closed)` hears each change between open and
 * closed (the composer turns free-form sending off and on); `openTemplates()` is the closed
 * window's button. Returns {el, update}: update() redraws now (a thread opened or changed).
 */
export function buildWindowLine(onChange, openTemplates) {
  const text = h('span', { 'data-testid': 'wa-window-text' });
  const button = h('button', { type: 'button', class: 'link', 'data-testid': 'wa-window-template', hidden: true, onclick: () => openTemplates() }, 'Send a template');
  const el = h('p', { class: 'wa-window', role: 'status', 'data-testid': 'wa-window', hidden: true }, text, ' ', button);
  let last = null;
  function update() {
    const s = windowState();
    el.hidden = s.kind === 'none';
    el.classList.toggle('closed', s.kind === 'closed');
    if (s.kind === 'open') text.textContent = `Window closes in ${timeLeft(s.left)}`;
    else if (s.kind === 'closed') text.textContent = 'Window closed — send a template';
    button.hidden = s.kind !== 'closed';
    el.dataset.state = s.kind;
    const closed = s.kind === 'closed';
    if (closed !== last) {
      last = closed;
      onChange(closed);
    }
  }
  // The countdown moves by itself; a thread.updated (an inbound message) is seen within a second.
  setInterval(update, 1000);
  return { el, update };
}
