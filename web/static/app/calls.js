// Calls in the open conversation: each call to the thread's number is a `call` event
// ({call_sid, direction, status: answered|missed|voicemail, duration, recording_url?}) shown in
// the message timeline, a voicemail with an <audio> player.

import { h, timeEl } from './dom.js';
import { safeUrl, shortTime } from './format.js';
import { view } from './state.js';

const TITLE = { answered: 'Answered call', missed: 'Missed call', voicemail: 'Voicemail' };

/** Keeps a call of the open thread (from the snapshot or a `call` event). */
export function upsertCall(c) {
  if (!view || !c || c.thread_id !== view.id || !c.call_sid) return false;
  view.calls.set(c.call_sid, c);
  return true;
}

function duration(secs) {
  const s = Math.max(0, Number(secs) || 0);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A call's item in the messages list. */
export function callItem(c) {
  const parts = [h('span', { class: 'call-icon', 'aria-hidden': 'true' }, '📞'), h('strong', null, TITLE[c.status] || 'Call')];
  if (c.status !== 'missed' && c.duration) parts.push(h('span', { class: 'muted' }, ` · ${duration(c.duration)}`));
  const body = h('div', { class: 'call-body' }, ...parts);
  const url = c.recording_url ? safeUrl(c.recording_url) : null;
  const audio = url ? h('audio', { controls: true, preload: 'none', src: url, 'data-testid': 'voicemail-audio' }) : null;
  return h('li', { class: `call call-${c.status}`, 'data-testid': 'call', 'data-call-status': c.status, 'data-call-sid': c.call_sid },
    body, audio, h('div', { class: 'meta muted' }, timeEl(c.created_at, shortTime(c.created_at))));
}
