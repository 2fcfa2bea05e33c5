// The bell in the top bar, on every app page: my notifications (mentions, threads assigned to
// me, inbound messages on my threads, snoozes ending, my failed sends) with the unread count,
// a dropdown to read them (clicking one marks it read and opens its thread), "Mark all read",
// the unread count in the tab's title, opt-in browser notifications (the Notification API)
// while the tab is hidden, and my preferences (a dialog). Live through private-user-{me}:
// notification.created carries the server's unread count, so every tab shows the same number;
// notification.read and notification.preferences keep my other tabs in step. The list is read
// again once the channel is heard (a notification made between the first read and the
// subscription would otherwise wait for the next one; when the inbox subscribed first, at once
// after binding), and a read that a live event overtook is read again (its older count must
// not win).

import { api, qs } from './api.js';
import { h, timeEl, toast } from './dom.js';
import { emit } from './events.js';
import { relTime } from './format.js';
import { onReconnect, pusher } from './realtime.js';
import { me, page } from './session.js';

const KINDS = [
  ['mention', 'Someone mentions me in a note'],
  ['assigned', 'A conversation is assigned to me'],
  ['inbound', 'A customer writes on my conversations'],
  ['snooze_ended', 'My snoozed conversation opens again'],
  ['send_failed', 'A message I sent fails'],
  ['follow_up_due', 'A follow-up of mine comes due'],
];

const state = { items: [], unread: 0, next: null, prefs: null, open: false, heard: 0 };
const els = {};
const baseTitle = document.title.replace(/^\(\d+\)\s*/, '');

/** Draws the bell and starts following my notifications. */
export function startBell() {
  const nav = document.querySelector('.topbar-right');
  if (!nav || !me.id) return;
  els.count = h('span', { class: 'bell-count', 'data-testid': 'bell-count', hidden: true });
  els.button = h('button', { type: 'button', class: 'ghost bell', id: 'bell', 'data-testid': 'bell', 'aria-haspopup': 'true', 'aria-expanded': 'false', 'aria-label': 'Notifications', onclick: () => toggle() },
    h('span', { 'aria-hidden': 'true' }, '🔔'), els.count);
  els.list = h('ul', { class: 'bell-list', 'data-testid': 'bell-list' });
  els.more = h('button', { type: 'button', class: 'ghost', hidden: true, 'data-testid': 'bell-more', onclick: () => load(true) }, 'Load more');
  els.empty = h('p', { class: 'muted empty', 'data-testid': 'bell-empty' }, 'Nothing new.');
  els.panel = h('div', { class: 'bell-panel', 'data-testid': 'bell-panel', role: 'dialog', 'aria-label': 'Notifications', hidden: true },
    h('div', { class: 'bell-head' },
      h('strong', null, 'Notifications'),
      h('button', { type: 'button', class: 'link', 'data-testid': 'bell-mark-all', onclick: () => markRead({ all: true }) }, 'Mark all read'),
      h('button', { type: 'button', class: 'link', 'data-testid': 'bell-preferences', onclick: openPreferences }, 'Preferences')),
    els.list, els.empty, els.more);
  els.wrap = h('span', { class: 'bell-wrap' }, els.button, els.panel);
  nav.insertBefore(els.wrap, document.getElementById('me-name'));
  document.addEventListener('click', (e) => { if (state.open && !els.wrap.contains(e.target)) toggle(false); });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && state.open) { toggle(false); els.button.focus(); } });
  load(false);
  api('GET', '/api/notifications/preferences').then((p) => { state.prefs = p; }).catch(() => {});
  follow(0);
  onReconnect(() => load(false));
}

/** Subscribes to my channel once the page has connected (pages connect after the header). */
function follow(tries) {
  if (!pusher) {
    if (tries < 50) setTimeout(() => follow(tries + 1), 200);
    return;
  }
  const ch = pusher.subscribe(`private-user-${me.id}`);
  ch.bind('pusher:subscription_succeeded', () => load(false));
  ch.bind('notification.created', (data) => {
    if (!data || !data.notification) return;
    state.heard += 1;
    const n = data.notification;
    if (!state.items.some((x) => x.id === n.id)) state.items.unshift(n);
    setUnread(data.unread);
    render();
    browserNotify(n);
  });
  ch.bind('notification.read', (data) => {
    if (!data) return;
    state.heard += 1;
    const now = new Date().toISOString();
    for (const n of state.items) if (!n.read_at && (data.all || (data.ids || []).includes(n.id))) n.read_at = now;
    setUnread(data.unread);
    render();
  });
  ch.bind('notification.preferences', (data) => { if (data && data.preferences) state.prefs = data.preferences; });
  // The inbox may have subscribed to this channel first: its subscription_succeeded is past,
  // and a notification it brought before these bindings was not heard. Read now.
  if (ch.subscribed) load(false);
}

async function load(more) {
  try {
    const heard = state.heard;
    const data = await api('GET', `/api/notifications${qs({ cursor: more ? state.next : '' })}`);
    if (!more && heard !== state.heard) {
      load(false);
      return;
    }
    state.items = more ? state.items.concat(data.items || []) : (data.items || []);
    state.next = data.next_cursor || null;
    setUnread(data.unread);
    render();
  } catch (err) {
    if (err.status !== 401) toast(`Could not load notifications: ${err.message}`, { kind: 'error' });
  }
}

function setUnread(n) {
  state.unread = Math.max(0, Number(n) || 0);
  els.count.textContent = state.unread > 99 ? '99+' : String(state.unread);
  els.count.hidden = state.unread === 0;
  els.button.setAttribute('aria-label', state.unread ? `Notifications, ${state.unread} unread` : 'Notifications');
  document.title = state.unread ? `(${state.unread}) ${baseTitle}` : baseTitle;
}

function toggle(force) {
  state.open = force === undefined ? !state.open : force;
  els.panel.hidden = !state.open;
  els.button.setAttribute('aria-expanded', String(state.open));
}

/** What a notification says, in a sentence. */
function describe(n) {
  const c = (n.data && n.data.contact) || {};
  const who = c.name || c.phone || 'a contact';
  const by = n.actor_name || 'Someone';
  switch (n.kind) {
    case 'mention': return `${by} mentioned you on ${who}`;
    case 'assigned': return `${by} assigned ${who} to you`;
    case 'inbound': return `New message from ${who}`;
    case 'snooze_ended': return `${who} is open again (snooze ended)`;
    case 'send_failed': return `A message to ${who} failed`;
    case 'follow_up_due': return `Follow-up due: ${who}`;
    default: return `Update on ${who}`;
  }
}

function render() {
  els.list.replaceChildren(...state.items.map((n) => h('li', null,
    h('button', { type: 'button', class: `bell-item${n.read_at ? '' : ' is-unread'}`, 'data-testid': 'notification-item', 'data-kind': n.kind, 'data-unread': n.read_at ? 'false' : 'true', onclick: () => choose(n) },
      h('span', { class: 'bell-title' }, describe(n)),
      n.data && n.data.preview ? h('span', { class: 'bell-preview muted' }, n.data.preview) : null,
      h('span', { class: 'bell-time muted' }, timeEl(n.created_at, relTime(n.created_at)))))));
  els.empty.hidden = state.items.length > 0;
  els.more.hidden = !state.next;
}

async function markRead(body) {
  try {
    const data = await api('POST', '/api/notifications/read', body);
    setUnread(data.unread);
  } catch (err) {
    toast(err.message, { kind: 'error' });
  }
}

/** Opens a notification's thread (here on the inbox, else on the inbox page) and marks it read. */
function choose(n) {
  toggle(false);
  if (!n.read_at) {
    n.read_at = new Date().toISOString();
    render();
    markRead({ ids: [n.id] });
  }
  if (!n.thread_id) return;
  if (page === 'inbox') emit('open-thread', { id: n.thread_id, push: true });
  else window.location.assign(`/threads/${encodeURIComponent(n.thread_id)}`);
}

/** A system notification while this tab is hidden, when I opted in and the browser allows it. */
function browserNotify(n) {
  if (!state.prefs || !state.prefs.browser || !document.hidden) return;
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    const note = new Notification(describe(n), { body: (n.data && n.data.preview) || '', tag: n.id });
    note.onclick = () => { window.focus(); choose(n); note.close(); };
  } catch (_) { /* some browsers allow them only from a service worker */ }
}

// ---------------------------------------------------------------- preferences

async function openPreferences() {
  toggle(false);
  let prefs = state.prefs;
  try {
    prefs = await api('GET', '/api/notifications/preferences');
  } catch (err) {
    toast(err.message, { kind: 'error' });
    return;
  }
  const boxes = KINDS.map(([kind, label]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'kind', value: kind, checked: prefs.kinds.includes(kind), 'data-testid': `pref-${kind}` }), ` ${label}`));
  const unassigned = h('input', { type: 'checkbox', checked: prefs.inbound_unassigned, 'data-testid': 'pref-inbound-unassigned' });
  const browser = h('input', { type: 'checkbox', checked: prefs.browser, 'data-testid': 'pref-browser' });
  const dialog = h('dialog', { class: 'dialog', 'data-testid': 'notification-preferences', 'aria-label': 'Notification preferences' });
  const save = async (e) => {
    e.preventDefault();
    if (browser.checked && 'Notification' in window && Notification.permission === 'default') {
      try { await Notification.requestPermission(); } catch (_) { /* answered below */ }
    }
    if (browser.checked && (!('Notification' in window) || Notification.permission === 'denied')) {
      toast('This browser blocks notifications for Switchboard: allow them in its site settings.', { kind: 'error' });
      browser.checked = false;
    }
    const body = {
      kinds: [...dialog.querySelectorAll('input[name=kind]:checked')].map((i) => i.value),
      inbound_unassigned: unassigned.checked,
      browser: browser.checked,
    };
    try {
      state.prefs = await api('PUT', '/api/notifications/preferences', body);
      dialog.close();
      toast('Notification preferences saved.');
    } catch (err) {
      toast(err.message, { kind: 'error' });
    }
  };
  dialog.append(h('form', { method: 'dialog', onsubmit: save },
    h('h2', null, 'Notify me when'),
    ...boxes,
    h('label', { class: 'check' }, unassigned, ' A customer writes on an unassigned conversation'),
    h('label', { class: 'check' }, browser, ' Show browser notifications when this tab is hidden'),
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'ghost', onclick: () => dialog.close() }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'pref-save' }, 'Save'))));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
