// Switchboard agent app: the team inbox (thread list, open thread, contact + notes panel), the
// team dashboard (live numbers, who is online, CSV export) and the admin settings page. Plain JS, no build step; realtime through the vendored pusher-js against the
// server's Pusher-protocol gateway. The HTTP + realtime contract is docs/api.md.
//
// Realtime model, in short:
// - presence-team-{team}: thread.created / thread.updated (a ThreadSummary) keep the inbox list live
//   and make the dashboard refetch its numbers; its members are who is online.
// - presence-thread-{thread}: viewers (presence members), typing (client-typing) and the thread's
//   events (ThreadEvent with a per-thread seq). Everything is applied as an idempotent upsert keyed
//   by message / note id, so the tab that made a change and the socket event never show it twice.
// - private-user-{me}: my private notes, read markers from my other tabs, mentions.
// After a reconnect the open thread asks /events?after={highest seq} and the inbox is reloaded.
(function () {
  'use strict';

  // ---------------------------------------------------------------- boot
  const bootEl = document.getElementById('boot');
  let boot = {};
  try {
    boot = JSON.parse((bootEl && bootEl.textContent) || '{}') || {};
  } catch (_) {
    boot = {};
  }
  const me = boot.user || {};
  const team = boot.team || {};
  const role = boot.role || me.role || 'agent';
  const isAdmin = role === 'admin';
  const page = document.body.dataset.page || 'inbox';
  const main = document.getElementById('main');

  // ---------------------------------------------------------------- small helpers

  /** Creates an element: attrs may hold class, text, data-*, aria-*, on<event> handlers and props. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === 'class') el.className = value;
        else if (key === 'text') el.textContent = value;
        else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
        else if (key === 'value' || key === 'checked' || key === 'selected' || key === 'disabled' || key === 'hidden') el[key] = value;
        else if (value === true) el.setAttribute(key, '');
        else el.setAttribute(key, String(value));
      }
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function $(sel, root) {
    return (root || document).querySelector(sel);
  }

  class ApiError extends Error {
    constructor(message, status, code, field) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = field;
    }
  }

  /** JSON request to our own API (session cookie). Throws ApiError with the server's message. */
  async function api(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (_) {
      throw new ApiError('Could not reach the server. Check your connection.', 0, 'network');
    }
    if (res.status === 401) {
      window.location.assign('/sign-in');
      throw new ApiError('Your session ended. Please sign in again.', 401, 'unauthorized');
    }
    if (res.status === 204) return null;
    let data = null;
    try {
      data = await res.json();
    } catch (_) {
      data = null;
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(err.message || `Request failed (HTTP ${res.status}).`, res.status, err.code, err.field);
    }
    return data;
  }

  function qs(params) {
    const parts = [];
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined || v === null || v === '' || v === false) continue;
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
    }
    return parts.length ? `?${parts.join('&')}` : '';
  }

  function debounce(fn, ms) {
    let t = null;
    return (...args) => {
      clearTimeout(t);
      t = setTimeout(() => fn(...args), ms);
    };
  }

  function initials(name) {
    const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return '?';
    const first = parts[0][0] || '';
    const last = parts.length > 1 ? parts[parts.length - 1][0] : '';
    return (first + last).toUpperCase();
  }

  /** A stable hue per id so each agent keeps one avatar colour. */
  function hueOf(id) {
    let x = 0;
    for (const c of String(id)) x = (x * 31 + c.charCodeAt(0)) >>> 0;
    return x % 360;
  }

  function avatar(id, name, extra) {
    return h('span', Object.assign({
      class: 'avatar',
      style: `--hue:${hueOf(id)}`,
      title: name,
      'aria-label': name,
      role: 'img',
    }, extra || {}), initials(name));
  }

  function channelLabel(kind) {
    return kind === 'whatsapp' ? 'WhatsApp' : 'SMS';
  }

  function channelTag(kind) {
    return h('span', { class: `chan chan-${kind === 'whatsapp' ? 'wa' : 'sms'}`, 'data-testid': 'channel-label' },
      h('span', { class: 'chan-icon', 'aria-hidden': 'true' }, kind === 'whatsapp' ? '◉' : '✉'), channelLabel(kind));
  }

  function toDate(iso) {
    if (!iso) return null;
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  function relTime(iso) {
    const d = toDate(iso);
    if (!d) return '';
    const s = Math.round((Date.now() - d.getTime()) / 1000);
    if (s < 45) return 'now';
    if (s < 3600) return `${Math.max(1, Math.round(s / 60))}m`;
    if (s < 86400) return `${Math.round(s / 3600)}h`;
    if (s < 7 * 86400) return `${Math.round(s / 86400)}d`;
    return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  }

  function fullTime(iso) {
    const d = toDate(iso);
    return d ? d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '';
  }

  function shortTime(iso) {
    const d = toDate(iso);
    if (!d) return '';
    const today = new Date();
    const sameDay = d.toDateString() === today.toDateString();
    return sameDay
      ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
      : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  }

  function timeEl(iso, text) {
    return h('time', { datetime: iso || '', title: fullTime(iso) }, text);
  }

  /** "YYYY-MM-DDTHH:mm" in the agent's time zone, for datetime-local inputs. */
  function toLocalInput(date) {
    const p = (n) => String(n).padStart(2, '0');
    return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}`;
  }

  function safeUrl(url) {
    try {
      const u = new URL(url, window.location.href);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch (_) {
      return null;
    }
  }

  function toast(text, opts) {
    const box = document.getElementById('toasts');
    if (!box) return;
    const item = h('div', { class: `toast ${(opts && opts.kind) || ''}`, role: 'status', 'data-testid': 'toast' },
      h('span', { class: 'toast-text' }, text));
    if (opts && opts.action) {
      item.append(h('button', { type: 'button', class: 'link', onclick: () => { opts.action.run(); item.remove(); } }, opts.action.label));
    }
    item.append(h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×'));
    box.append(item);
    setTimeout(() => item.remove(), (opts && opts.ms) || 8000);
  }

  // ---------------------------------------------------------------- header

  function renderHeader() {
    const teamName = document.getElementById('team-name');
    if (teamName) {
      teamName.textContent = team.name || 'Switchboard';
      teamName.title = teamName.textContent; // the phone header may cut it short
    }
    const sim = document.getElementById('simulator-badge');
    if (sim) sim.hidden = !team.simulator_mode;
    const settingsLink = document.getElementById('settings-link');
    if (settingsLink) {
      settingsLink.hidden = !isAdmin;
      if (!isAdmin) settingsLink.remove();
      else if (page === 'settings') settingsLink.setAttribute('aria-current', 'page');
    }
    const inboxLink = document.getElementById('inbox-link');
    if (inboxLink && page === 'inbox') inboxLink.setAttribute('aria-current', 'page');
    const dashboardLink = document.getElementById('dashboard-link');
    if (dashboardLink && page === 'dashboard') dashboardLink.setAttribute('aria-current', 'page');
    const meName = document.getElementById('me-name');
    if (meName) {
      meName.replaceChildren(avatar(me.id, me.name || me.email || 'Me', { 'data-testid': 'me-avatar' }),
        h('span', { class: 'me-text' }, me.name || me.email || ''), h('span', { class: 'role-tag' }, role));
    }
    const out = document.getElementById('sign-out');
    if (out) {
      out.addEventListener('click', async () => {
        out.disabled = true;
        try {
          if (pusher) pusher.disconnect();
          await fetch('/api/auth/sign-out', { method: 'POST', credentials: 'same-origin' });
        } catch (_) { /* we leave anyway */ }
        window.location.assign('/sign-in');
      });
    }
  }

  // ---------------------------------------------------------------- shared state

  /** Team members by id: {id, name, email, role, online}. */
  const members = new Map();
  let membersList = [];

  async function loadMembers() {
    try {
      const data = await api('GET', '/api/team/members');
      membersList = (data && data.members) || [];
      members.clear();
      for (const m of membersList) members.set(m.id, m);
    } catch (err) {
      if (err.status !== 401) toast(`Could not load team members: ${err.message}`, { kind: 'error' });
    }
  }

  function memberName(id) {
    const m = members.get(id);
    return m ? m.name : null;
  }

  // ---------------------------------------------------------------- realtime connection

  let pusher = null;
  let everConnected = false;
  let wasDown = false;
  const onReconnect = [];

  function connectPusher() {
    if (!window.Pusher || !boot.pusher || !boot.pusher.key) return null;
    const p = new window.Pusher(boot.pusher.key, {
      wsHost: boot.pusher.ws_host,
      wsPort: boot.pusher.ws_port,
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
      cluster: 'local',
      channelAuthorization: { endpoint: boot.pusher.auth_endpoint || '/pusher/auth', transport: 'ajax' },
    });
    const stateEl = document.getElementById('connection-state');
    p.connection.bind('state_change', (states) => {
      const current = states.current;
      if (stateEl) {
        const label = { connecting: everConnected ? 'Reconnecting…' : 'Connecting…', unavailable: 'Offline, retrying…', disconnected: 'Disconnected', failed: 'Realtime unavailable' }[current];
        stateEl.textContent = label || '';
        stateEl.dataset.state = current;
      }
      if (current === 'connected') {
        if (everConnected && wasDown) {
          wasDown = false;
          for (const fn of onReconnect) {
            try {
              fn();
            } catch (_) { /* one failing resync must not stop the others */ }
          }
        }
        everConnected = true;
      } else if (everConnected && (current === 'unavailable' || current === 'disconnected' || current === 'connecting' || current === 'failed')) {
        wasDown = true;
      }
    });
    return p;
  }

  // ================================================================= INBOX

  const inbox = {
    threads: new Map(), // id -> ThreadSummary
    nextCursor: null,
    filters: { unread: false, scheduled: false, channel: '', status: '', mine: false, search: '' },
    loadSeq: 0,
  };

  /** Highest applied seq per thread. */
  const seqs = new Map();

  /** The open thread's live view. */
  let openId = null;
  let view = null;
  let threadChannel = null;
  const els = {};

  function newView(id) {
    return {
      id,
      thread: null,
      messages: new Map(),
      msgSeq: new Map(),
      notes: new Map(),
      applied: new Set(),
      baseline: 0,
      loading: true,
      buffer: [],
      contact: null,
      nextCursor: null,
      editing: null,
      editDraft: null,
      typers: new Map(), // user id -> timeout
      lastTypingSent: 0,
    };
  }

  function buildInbox() {
    const f = inbox.filters;
    // Left pane: filters + list + simulator.
    els.search = h('input', { type: 'search', id: 'thread-search', 'aria-label': 'Search threads', placeholder: 'Search name, phone, text…', 'data-testid': 'thread-search', autocomplete: 'off' });
    els.search.addEventListener('input', debounce(() => { f.search = els.search.value.trim(); loadThreads(); }, 250));
    const check = (key, label, testid) => {
      const input = h('input', { type: 'checkbox', id: `filter-${key}`, 'data-testid': testid });
      input.addEventListener('change', () => { f[key] = input.checked; loadThreads(); });
      return h('label', { class: 'chip', for: `filter-${key}` }, input, h('span', null, label));
    };
    els.channelFilter = h('select', { id: 'filter-channel', 'aria-label': 'Channel', 'data-testid': 'filter-channel' },
      h('option', { value: '' }, 'All channels'), h('option', { value: 'sms' }, 'SMS'), h('option', { value: 'whatsapp' }, 'WhatsApp'));
    els.channelFilter.addEventListener('change', () => { f.channel = els.channelFilter.value; loadThreads(); });
    els.statusFilter = h('select', { id: 'filter-status', 'aria-label': 'Status', 'data-testid': 'filter-status' },
      h('option', { value: '' }, 'Any status'), ...['open', 'pending', 'resolved', 'snoozed'].map((s) => h('option', { value: s }, s[0].toUpperCase() + s.slice(1))));
    els.statusFilter.addEventListener('change', () => { f.status = els.statusFilter.value; loadThreads(); });

    els.list = h('ul', { class: 'thread-list', 'data-testid': 'thread-list', 'aria-label': 'Conversations' });
    els.listEmpty = h('p', { class: 'empty muted', 'data-testid': 'thread-list-empty', hidden: true }, 'No conversations match.');
    els.loadMore = h('button', { type: 'button', class: 'ghost load-more', hidden: true, 'data-testid': 'load-more', onclick: () => loadThreads(true) }, 'Load more');

    const listPane = h('section', { class: 'pane list-pane', 'aria-label': 'Conversations', 'data-testid': 'list-pane' },
      h('div', { class: 'filters', role: 'search' },
        els.search,
        h('div', { class: 'chips' }, check('unread', 'Unread', 'filter-unread'), check('scheduled', 'Scheduled', 'filter-scheduled'), check('mine', 'Assigned to me', 'filter-mine')),
        h('div', { class: 'selects' }, els.channelFilter, els.statusFilter)),
      els.list, els.listEmpty, els.loadMore,
      team.simulator_mode ? buildSimulator() : null);

    // Middle pane: the open thread.
    els.placeholder = h('div', { class: 'placeholder', 'data-testid': 'no-thread' },
      h('div', { class: 'placeholder-icon', 'aria-hidden': 'true' }, '✉'),
      h('p', null, 'Select a conversation to read and reply.'),
      team.simulator_mode ? h('p', { class: 'muted' }, 'Simulator mode: use “Simulate an inbound message” to create one.') : null);

    els.back = h('button', { type: 'button', class: 'ghost back', 'data-testid': 'back', 'aria-label': 'Back to conversations', onclick: () => closeThread(true) }, '← Back');
    els.threadTitle = h('h2', { class: 'thread-title', 'data-testid': 'thread-title' });
    els.threadSub = h('div', { class: 'thread-sub muted' });
    els.viewers = h('div', { class: 'viewers', 'data-testid': 'viewers', 'aria-label': 'Also viewing' });
    els.statusSelect = h('select', { id: 'thread-status', 'aria-label': 'Thread status', 'data-testid': 'thread-status' },
      ...['open', 'pending', 'resolved', 'snoozed'].map((s) => h('option', { value: s }, s[0].toUpperCase() + s.slice(1))));
    els.statusSelect.addEventListener('change', () => patchThread({ status: els.statusSelect.value }));
    els.assigneeSelect = h('select', { id: 'thread-assignee', 'aria-label': 'Assignee', 'data-testid': 'thread-assignee' });
    els.assigneeSelect.addEventListener('change', () => patchThread({ assignee_id: els.assigneeSelect.value || null }));

    els.loadEarlier = h('button', { type: 'button', class: 'ghost load-earlier', hidden: true, 'data-testid': 'load-earlier', onclick: loadEarlier }, 'Load earlier messages');
    els.messages = h('ol', { class: 'messages', 'data-testid': 'messages', 'aria-label': 'Messages', 'aria-live': 'polite' });
    els.messagesWrap = h('div', { class: 'messages-wrap', tabindex: '0', 'aria-label': 'Message history' }, els.loadEarlier, els.messages);
    els.typing = h('div', { class: 'typing', 'data-testid': 'typing', hidden: true, 'aria-live': 'polite' });

    // Composer.
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
    els.composer = h('form', { class: 'composer', 'data-testid': 'composer', 'aria-label': 'Reply', novalidate: true, onsubmit: (e) => { e.preventDefault(); sendMessage(false); } },
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

    els.threadView = h('div', { class: 'thread-view', hidden: true, 'data-testid': 'thread-view' },
      h('header', { class: 'thread-header' },
        h('div', { class: 'thread-head-left' }, els.back, h('div', { class: 'thread-names' }, els.threadTitle, els.threadSub)),
        h('div', { class: 'thread-head-right' }, els.viewers,
          h('label', { class: 'sr-only', for: 'thread-status' }, 'Status'), els.statusSelect,
          h('label', { class: 'sr-only', for: 'thread-assignee' }, 'Assignee'), els.assigneeSelect)),
      els.messagesWrap, els.typing, els.composer);
    els.threadNotFound = h('div', { class: 'placeholder', hidden: true, 'data-testid': 'thread-error' });

    const threadPane = h('section', { class: 'pane thread-pane', 'aria-label': 'Conversation', 'data-testid': 'thread-pane' },
      els.placeholder, els.threadNotFound, els.threadView);

    // Right pane: contact + notes.
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

    els.notes = h('ol', { class: 'notes', 'data-testid': 'notes', 'aria-label': 'Notes' });
    els.notesEmpty = h('p', { class: 'muted small', 'data-testid': 'notes-empty' }, 'No notes yet. Notes are internal: the contact never sees them.');
    els.noteBody = h('textarea', { id: 'note-body', rows: '3', placeholder: 'Add a note… type @ to mention a teammate', 'data-testid': 'note-body', 'aria-autocomplete': 'list', 'aria-controls': 'mention-list', 'aria-expanded': 'false' });
    els.mentionList = h('ul', { id: 'mention-list', class: 'mention-list', role: 'listbox', 'aria-label': 'Mention a teammate', 'data-testid': 'mention-list', hidden: true });
    els.noteVisibility = h('select', { id: 'note-visibility', 'data-testid': 'note-visibility' },
      h('option', { value: 'public' }, 'Public (team)'), h('option', { value: 'private' }, 'Private (only me)'));
    els.noteError = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'note-error', hidden: true });
    els.noteForm = h('form', { class: 'note-form', 'data-testid': 'note-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); addNote(); } },
      h('label', { for: 'note-body' }, 'New note'),
      h('div', { class: 'mention-wrap' }, els.noteBody, els.mentionList),
      h('div', { class: 'note-actions' },
        h('label', { for: 'note-visibility', class: 'sr-only' }, 'Visibility'), els.noteVisibility,
        h('button', { type: 'submit', class: 'secondary', 'data-testid': 'add-note' }, 'Add note')),
      els.noteError);
    setupMentions();

    els.contactPane = h('aside', { class: 'pane contact-pane', 'aria-label': 'Contact and notes', 'data-testid': 'contact-pane', hidden: true },
      h('section', { class: 'card' }, h('h2', null, 'Contact'), els.contactForm),
      h('section', { class: 'card' }, h('h2', null, 'Notes'), els.notesEmpty, els.notes, els.noteForm));

    els.inbox = h('div', { class: 'inbox', 'data-testid': 'inbox' }, listPane, threadPane, els.contactPane);
    main.replaceChildren(els.inbox);
    renderAssigneeOptions();
  }

  // ---------------------------------------------------------------- simulator

  function buildSimulator() {
    const from = h('input', { type: 'tel', id: 'sim-from', value: '+14155550123', required: true, pattern: '\\+[1-9][0-9]{6,14}', 'data-testid': 'sim-from', autocomplete: 'off' });
    const channel = h('select', { id: 'sim-channel', 'data-testid': 'sim-channel' }, h('option', { value: 'sms' }, 'SMS'), h('option', { value: 'whatsapp' }, 'WhatsApp'));
    const body = h('textarea', { id: 'sim-body', rows: '2', 'data-testid': 'sim-body', placeholder: 'Hi, is my order on its way?' });
    const status = h('p', { class: 'form-note', role: 'status', 'data-testid': 'sim-status' });
    const button = h('button', { type: 'submit', class: 'secondary', 'data-testid': 'sim-send' }, 'Simulate');
    const form = h('form', { class: 'sim-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      status.textContent = '';
      status.classList.remove('error');
      const number = from.value.trim();
      if (!/^\+[1-9]\d{6,14}$/.test(number)) {
        status.textContent = 'Use an E.164 number such as +14155550123.';
        status.classList.add('error');
        return;
      }
      if (!body.value.trim()) {
        status.textContent = 'Write the message the contact sends.';
        status.classList.add('error');
        return;
      }
      button.disabled = true;
      try {
        await api('POST', '/api/simulator/inbound', { from: number, channel: channel.value, body: body.value.trim() });
        status.textContent = 'Sent: it shows up in the inbox in a moment.';
        body.value = '';
      } catch (err) {
        status.textContent = err.message;
        status.classList.add('error');
      } finally {
        button.disabled = false;
      }
    } },
    h('label', { for: 'sim-from' }, 'From (E.164)'), from,
    h('label', { for: 'sim-channel' }, 'Channel'), channel,
    h('label', { for: 'sim-body' }, 'Message'), body,
    button, status);
    return h('details', { class: 'simulator', 'data-testid': 'simulator' },
      h('summary', null, 'Simulate an inbound message'),
      h('p', { class: 'muted small' }, 'Simulator mode: this team has no Twilio credentials yet. Messages go through the real webhook path, and outbound messages are “delivered” by the simulator.'),
      form);
  }

  // ---------------------------------------------------------------- thread list

  function sortKey(t) {
    const d = toDate(t.last_message_at) || toDate(t.created_at);
    return d ? d.getTime() : 0;
  }

  function sortedThreads() {
    return [...inbox.threads.values()].sort((a, b) => (sortKey(b) - sortKey(a)) || (a.id < b.id ? 1 : -1));
  }

  function matchesFilters(t) {
    const f = inbox.filters;
    if (t.id === openId) return true; // never yank the open conversation out of the list
    if (f.unread && !(t.unread_count > 0)) return false;
    if (f.scheduled && !(t.scheduled_count > 0)) return false;
    if (f.channel && t.channel && t.channel.kind !== f.channel) return false;
    if (f.status && t.status !== f.status) return false;
    if (f.mine && t.assignee_id !== me.id) return false;
    if (f.search) {
      const c = t.contact || {};
      const hay = [c.name, c.phone, t.last_preview].join(' ').toLowerCase();
      if (!hay.includes(f.search.toLowerCase())) return false;
    }
    return true;
  }

  async function loadThreads(more) {
    const f = inbox.filters;
    const seq = ++inbox.loadSeq;
    const params = {
      unread: f.unread ? 'true' : '',
      scheduled: f.scheduled ? 'true' : '',
      channel: f.channel,
      status: f.status,
      assignee: f.mine ? 'me' : '',
      search: f.search,
      limit: 50,
      cursor: more ? inbox.nextCursor : '',
    };
    try {
      const data = await api('GET', `/api/threads${qs(params)}`);
      if (seq !== inbox.loadSeq) return; // a newer filter won
      if (!more) {
        const open = openId ? inbox.threads.get(openId) : null;
        inbox.threads.clear();
        if (open) inbox.threads.set(open.id, open);
      }
      for (const t of (data && data.items) || []) {
        if (t.id === openId) t.unread_count = 0;
        inbox.threads.set(t.id, t);
      }
      inbox.nextCursor = (data && data.next_cursor) || null;
      renderList();
    } catch (err) {
      if (err.status !== 401) toast(`Could not load conversations: ${err.message}`, { kind: 'error' });
    }
  }

  /** Inserts or replaces a thread summary from any source and re-sorts the list. */
  function upsertThread(t, opts) {
    if (!t || !t.id) return;
    if (t.id === openId) {
      // The open conversation never shows a badge (threadRow hides it); it is read for real as
      // soon as this tab is visible, which clears it for the other tabs and agents too.
      if (t.unread_count > 0 && !(opts && opts.keepUnread)) scheduleMarkRead();
      if (view && view.thread) {
        view.thread = t;
        renderThreadHeader();
      }
    }
    if (matchesFilters(t)) inbox.threads.set(t.id, t);
    else inbox.threads.delete(t.id);
    scheduleRenderList();
  }

  let listFrame = 0;
  function scheduleRenderList() {
    if (listFrame) return;
    listFrame = requestAnimationFrame(() => { listFrame = 0; renderList(); });
  }

  function renderList() {
    if (!els.list) return;
    const focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.threadId : null;
    const rows = sortedThreads().map(threadRow);
    els.list.replaceChildren(...rows);
    els.listEmpty.hidden = rows.length > 0;
    els.loadMore.hidden = !inbox.nextCursor;
    if (focusedId) {
      const again = els.list.querySelector(`[data-thread-id="${CSS.escape(focusedId)}"]`);
      if (again) again.focus();
    }
    renderCounts();
  }

  function threadRow(t) {
    const c = t.contact || {};
    const kind = (t.channel && t.channel.kind) || 'sms';
    const unread = t.id === openId ? 0 : (t.unread_count || 0);
    const name = c.name || c.phone || 'Unknown';
    const btn = h('button', {
      type: 'button',
      class: `thread-row${unread ? ' is-unread' : ''}${t.id === openId ? ' is-open' : ''}`,
      'data-testid': 'thread-row',
      'data-thread-id': t.id,
      'data-unread': String(unread),
      'aria-current': t.id === openId ? 'true' : null,
      onclick: () => openThread(t.id, true),
    },
    h('span', { class: 'row-top' },
      h('span', { class: 'row-name', 'data-testid': 'thread-name' }, name),
      channelTag(kind),
      h('span', { class: 'row-time muted' }, timeEl(t.last_message_at || t.created_at, relTime(t.last_message_at || t.created_at)))),
    h('span', { class: 'row-preview', 'data-testid': 'thread-preview' }, t.last_preview || (c.name ? c.phone : '') || 'No messages yet'),
    h('span', { class: 'row-meta' },
      h('span', { class: `status status-${t.status}`, 'data-testid': 'thread-status-label' }, t.status),
      t.assignee_name ? h('span', { class: 'assignee', 'data-testid': 'thread-assignee-name', title: `Assigned to ${t.assignee_name}` }, avatar(t.assignee_id, t.assignee_name, { class: 'avatar avatar-xs' }), t.assignee_name) : null,
      t.scheduled_count > 0 ? h('span', { class: 'scheduled-count', title: `${t.scheduled_count} scheduled`, 'data-testid': 'scheduled-count' }, `◷ ${t.scheduled_count}`) : null,
      c.opted_out_at ? h('span', { class: 'opted-out-tag' }, 'opted out') : null,
      unread ? h('span', { class: 'unread-badge', 'data-testid': 'unread-badge', 'aria-label': `${unread} unread` }, String(unread)) : null));
    return h('li', null, btn);
  }

  function renderCounts() {
    const el = document.getElementById('counts');
    if (!el) return;
    let unread = 0;
    let open = 0;
    for (const t of inbox.threads.values()) {
      if (t.id !== openId && t.unread_count > 0) unread += 1;
      if (t.status === 'open') open += 1;
    }
    el.textContent = `${open} open · ${unread} unread`;
  }

  // ---------------------------------------------------------------- open / close a thread

  async function openThread(id, push) {
    if (!id) return;
    if (openId === id && view && !view.failed) {
      document.body.classList.add('thread-open');
      return;
    }
    leaveThread();
    openId = id;
    view = newView(id);
    if (push && window.location.pathname !== `/threads/${id}`) history.pushState({ threadId: id }, '', `/threads/${id}`);
    document.body.classList.add('thread-open');
    els.placeholder.hidden = true;
    els.threadNotFound.hidden = true;
    els.threadView.hidden = false;
    els.contactPane.hidden = false;
    els.threadTitle.textContent = 'Loading…';
    els.threadSub.textContent = '';
    els.messages.replaceChildren();
    els.notes.replaceChildren();
    els.viewers.replaceChildren();
    clearComposer(true);
    renderTyping();
    const known = inbox.threads.get(id);
    if (known) inbox.threads.set(id, Object.assign({}, known, { unread_count: 0 }));
    renderList();
    subscribeThread(id);

    let data;
    try {
      data = await api('GET', `/api/threads/${encodeURIComponent(id)}`);
    } catch (err) {
      if (openId !== id) return;
      view.failed = true;
      els.threadView.hidden = true;
      els.contactPane.hidden = true;
      els.threadNotFound.hidden = false;
      els.threadNotFound.replaceChildren(h('p', null, err.status === 404 ? 'This conversation does not exist or was deleted.' : `Could not open the conversation: ${err.message}`));
      return;
    }
    if (openId !== id) return;
    const thread = Object.assign({}, data.thread, { unread_count: 0 });
    view.thread = thread;
    view.baseline = Number(thread.last_seq) || 0;
    seqs.set(id, Math.max(seqs.get(id) || 0, view.baseline));
    for (const m of data.messages || []) {
      view.messages.set(m.id, m);
      view.msgSeq.set(m.id, view.baseline);
    }
    for (const n of data.notes || []) view.notes.set(n.id, n);
    view.nextCursor = data.next_cursor || null;
    view.loading = false;
    inbox.threads.set(id, thread);
    renderList();
    renderThreadHeader();
    renderMessages(true);
    renderNotes();
    setComposerChannel();
    // Events that came on the socket while we loaded: keep those the snapshot does not have.
    const buffered = view.buffer;
    view.buffer = [];
    for (const [ev, name] of buffered) applyEvent(ev, name);
    markRead(id);
    loadContact(thread.contact && thread.contact.id);
    if (view.subscribedOnce) catchUp(id);
    if (window.matchMedia('(min-width: 761px)').matches) els.body.focus({ preventScroll: true });
  }

  function closeThread(push) {
    leaveThread();
    openId = null;
    view = null;
    document.body.classList.remove('thread-open');
    els.threadView.hidden = true;
    els.contactPane.hidden = true;
    els.threadNotFound.hidden = true;
    els.placeholder.hidden = false;
    if (push && window.location.pathname !== '/') history.pushState({}, '', '/');
    renderList();
  }

  function leaveThread() {
    if (view) {
      for (const t of view.typers.values()) clearTimeout(t);
      view.typers.clear();
    }
    if (threadChannel && pusher) {
      threadChannel.unbind_all();
      pusher.unsubscribe(threadChannel.name);
    }
    threadChannel = null;
  }

  let markReadTimer = null;
  function scheduleMarkRead() {
    if (!openId || document.visibilityState !== 'visible') return;
    clearTimeout(markReadTimer);
    const id = openId;
    markReadTimer = setTimeout(() => { if (openId === id) markRead(id); }, 400);
  }

  async function markRead(id) {
    try {
      const t = await api('POST', `/api/threads/${encodeURIComponent(id)}/read`);
      if (t && t.id) upsertThread(t);
    } catch (_) { /* the badge is already cleared locally */ }
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && openId) {
      const t = inbox.threads.get(openId);
      if (t && t.unread_count > 0) scheduleMarkRead();
    }
  });

  async function loadEarlier() {
    if (!view || !view.nextCursor) return;
    const id = view.id;
    els.loadEarlier.disabled = true;
    try {
      const data = await api('GET', `/api/threads/${encodeURIComponent(id)}${qs({ cursor: view.nextCursor })}`);
      if (!view || view.id !== id) return;
      for (const m of data.messages || []) {
        if (!view.messages.has(m.id)) {
          view.messages.set(m.id, m);
          view.msgSeq.set(m.id, view.baseline);
        }
      }
      view.nextCursor = data.next_cursor || null;
      const wrap = els.messagesWrap;
      const fromBottom = wrap.scrollHeight - wrap.scrollTop;
      renderMessages(false);
      wrap.scrollTop = wrap.scrollHeight - fromBottom;
    } catch (err) {
      toast(err.message, { kind: 'error' });
    } finally {
      els.loadEarlier.disabled = false;
    }
  }

  // ---------------------------------------------------------------- thread channel

  function subscribeThread(id) {
    if (!pusher) return;
    const ch = pusher.subscribe(`presence-thread-${id}`);
    ch.unbind_all(); // a channel object pusher-js reuses must not keep an older thread's handlers
    threadChannel = ch;
    ch.bind('pusher:subscription_succeeded', () => {
      if (openId !== id || !view) return;
      renderViewers();
      // Events committed between our snapshot and the subscription would be lost: ask for them.
      view.subscribedOnce = true;
      if (!view.loading) catchUp(id);
    });
    ch.bind('pusher:subscription_error', (status) => {
      if (openId !== id) return;
      const code = status && status.status;
      toast(`Live updates for this conversation are unavailable${code ? ` (${code})` : ''}.`, { kind: 'error' });
    });
    ch.bind('pusher:member_added', () => { if (openId === id) renderViewers(); });
    ch.bind('pusher:member_removed', (member) => {
      if (openId !== id) return;
      if (member && view && view.typers.has(member.id)) {
        clearTimeout(view.typers.get(member.id));
        view.typers.delete(member.id);
        renderTyping();
      }
      renderViewers();
    });
    for (const name of ['message.created', 'message.updated', 'note.created', 'thread.updated']) {
      ch.bind(name, (data) => onThreadEvent(data, name, id));
    }
    ch.bind('client-typing', (data, meta) => { if (openId === id) onTyping(data, meta); });
    if (ch.subscribed) renderViewers();
  }

  function onThreadEvent(ev, name, channelThread) {
    if (!ev || typeof ev !== 'object') return;
    const tid = ev.thread_id || channelThread;
    if (!view || tid !== view.id) {
      // Not the open thread: remember its seq, the inbox learns the rest from the team channel.
      return;
    }
    if (view.loading) {
      view.buffer.push([ev, name]);
      return;
    }
    applyEvent(ev, name);
  }

  /** Applies one ThreadEvent to the open thread: idempotent, duplicates and stale seqs ignored. */
  function applyEvent(ev, name) {
    if (!view) return;
    const seq = Number(ev.seq);
    if (Number.isFinite(seq)) {
      if (seq <= view.baseline || view.applied.has(seq)) return; // already in the snapshot or applied
      view.applied.add(seq);
      if (seq > (seqs.get(view.id) || 0)) seqs.set(view.id, seq);
    }
    const type = ev.type || name;
    const data = ev.data;
    if (!data) return;
    if (type === 'message.created' || type === 'message.updated') {
      upsertMessage(data, Number.isFinite(seq) ? seq : null);
      if (data.direction === 'inbound' && type === 'message.created') {
        scheduleMarkRead();
        const wrap = els.messagesWrap;
        if (wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight > 200) {
          toast('New message below', { ms: 3000 });
        }
      }
    } else if (type === 'note.created') {
      upsertNote(data);
    } else if (type === 'thread.updated') {
      upsertThread(data);
    }
  }

  const STATUS_RANK = { scheduled: 0, queued: 1, sending: 2, sent: 3, delivered: 4, read: 5, undelivered: 5, failed: 5, canceled: 5, received: 5 };

  /** Upserts a message; with a seq, only a newer event wins; without one (an HTTP answer), only progress. */
  function upsertMessage(m, seq) {
    if (!view || !m || m.thread_id !== view.id) return;
    const old = view.messages.get(m.id);
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

  function upsertNote(n) {
    if (!view || !n || n.thread_id !== view.id) return;
    const isNew = !view.notes.has(n.id);
    view.notes.set(n.id, n);
    renderNotes(isNew);
  }

  // ---------------------------------------------------------------- thread rendering

  function renderThreadHeader() {
    if (!view || !view.thread) return;
    const t = view.thread;
    const c = t.contact || {};
    const kind = (t.channel && t.channel.kind) || 'sms';
    els.threadTitle.replaceChildren(h('span', null, c.name || c.phone || 'Unknown'), channelTag(kind));
    els.threadSub.textContent = [c.name ? c.phone : '', t.channel ? `via ${channelLabel(kind)} ${t.channel.number}` : ''].filter(Boolean).join(' · ');
    els.statusSelect.value = t.status;
    renderAssigneeOptions();
    els.assigneeSelect.value = t.assignee_id || '';
    els.optOutBanner.hidden = !c.opted_out_at;
    document.title = `${c.name || c.phone || 'Conversation'} · Switchboard`;
  }

  function renderAssigneeOptions() {
    if (!els.assigneeSelect) return;
    const current = els.assigneeSelect.value;
    els.assigneeSelect.replaceChildren(h('option', { value: '' }, 'Unassigned'),
      ...membersList.map((m) => h('option', { value: m.id }, m.id === me.id ? `${m.name} (me)` : m.name)));
    els.assigneeSelect.value = current;
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

  function renderMessages(scrollToEnd) {
    if (!view) return;
    const list = sortedMessages();
    const items = list.map(messageItem);
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
    if (m.status === 'scheduled' && view.editing !== m.id) {
      li.append(h('div', { class: 'msg-actions' },
        h('button', { type: 'button', class: 'link', 'data-testid': 'message-edit', onclick: () => startEdit(m) }, 'Edit'),
        h('button', { type: 'button', class: 'link danger', 'data-testid': 'message-cancel', onclick: () => cancelScheduled(m) }, 'Cancel')));
    }
    return li;
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

  function renderViewers() {
    if (!threadChannel || !threadChannel.members) return;
    const others = [];
    threadChannel.members.each((m) => {
      if (m.id !== me.id) others.push(m);
    });
    els.viewers.replaceChildren(...others.map((m) => {
      const name = (m.info && m.info.name) || memberName(m.id) || 'Teammate';
      return avatar(m.id, name, { class: 'avatar viewer', 'data-testid': 'viewer', 'data-user-id': m.id, title: `${name} is viewing`, 'aria-label': `${name} is viewing` });
    }));
  }

  // ---------------------------------------------------------------- typing

  function onComposerInput() {
    hideComposerError();
    if (!threadChannel || !threadChannel.subscribed || !view) return;
    if (!els.body.value.trim()) return;
    const now = Date.now();
    if (now - view.lastTypingSent < 2000) return;
    view.lastTypingSent = now;
    threadChannel.trigger('client-typing', { typing: true });
  }

  function onTyping(data, meta) {
    if (!view) return;
    const uid = (data && data.user_id) || (meta && meta.user_id);
    if (!uid || uid === me.id) return;
    clearTimeout(view.typers.get(uid));
    if (data && data.typing) {
      view.typers.set(uid, setTimeout(() => {
        if (!view) return;
        view.typers.delete(uid);
        renderTyping();
      }, 8000));
    } else {
      view.typers.delete(uid);
    }
    renderTyping();
  }

  function typerName(uid) {
    if (threadChannel && threadChannel.members) {
      const m = threadChannel.members.get(uid);
      if (m && m.info && m.info.name) return m.info.name;
    }
    return memberName(uid) || 'Someone';
  }

  function renderTyping() {
    if (!els.typing) return;
    const names = view ? [...view.typers.keys()].map(typerName) : [];
    if (!names.length) {
      els.typing.hidden = true;
      els.typing.textContent = '';
      return;
    }
    els.typing.textContent = names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} are typing…`;
    els.typing.hidden = false;
  }

  // ---------------------------------------------------------------- composer

  function clearComposer(all) {
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

  function setComposerChannel() {
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
      await openThread(t.id, true);
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

  async function patchThread(patch) {
    if (!view || !view.thread) return;
    const id = view.id;
    try {
      const t = await api('PATCH', `/api/threads/${encodeURIComponent(id)}`, patch);
      if (t && t.id) upsertThread(t);
    } catch (err) {
      toast(err.message, { kind: 'error' });
      if (view && view.id === id) renderThreadHeader();
    }
  }

  // ---------------------------------------------------------------- contact

  async function loadContact(contactId) {
    if (!contactId || !view) return;
    const id = view.id;
    const brief = view.thread.contact || {};
    fillContact(Object.assign({ tags: [] }, brief));
    try {
      const c = await api('GET', `/api/contacts/${encodeURIComponent(contactId)}`);
      if (view && view.id === id) fillContact(c);
    } catch (_) { /* the brief from the thread is enough to show */ }
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
    els.contactMsg.textContent = '';
    els.contactMsg.classList.remove('error');
    try {
      const c = await api('PATCH', `/api/contacts/${encodeURIComponent(contact.id)}`, patch);
      if (!view) return;
      fillContact(c);
      els.contactMsg.textContent = what === 'opt' ? (c.opted_out_at ? 'Marked as opted out.' : 'Opted back in.') : 'Saved.';
      // Reflect the name / opt-out in the list and the header right away.
      if (view.thread) {
        const t = Object.assign({}, view.thread, { contact: Object.assign({}, view.thread.contact, { name: c.name, phone: c.phone, opted_out_at: c.opted_out_at }) });
        upsertThread(t);
      }
    } catch (err) {
      els.contactMsg.textContent = err.message;
      els.contactMsg.classList.add('error');
      if (what === 'opt') els.contactOptOut.checked = !!contact.opted_out_at;
    }
  }

  // ---------------------------------------------------------------- notes + mentions

  function renderNotes(scrollToEnd) {
    if (!view) return;
    const notes = [...view.notes.values()].sort((a, b) => {
      const da = toDate(a.created_at);
      const db = toDate(b.created_at);
      return ((da ? da.getTime() : 0) - (db ? db.getTime() : 0)) || (a.id < b.id ? -1 : 1);
    });
    els.notes.replaceChildren(...notes.map(noteItem));
    els.notesEmpty.hidden = notes.length > 0;
    if (scrollToEnd && els.notes.lastElementChild) els.notes.lastElementChild.scrollIntoView({ block: 'nearest' });
  }

  function mentionPattern() {
    const names = membersList.map((m) => m.name).filter(Boolean).sort((a, b) => b.length - a.length);
    if (!names.length) return null;
    const esc = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp(`@(${esc.join('|')})`, 'g');
  }

  function noteBody(text) {
    const out = h('div', { class: 'note-body', 'data-testid': 'note-body-text' });
    const re = mentionPattern();
    if (!re) {
      out.textContent = text;
      return out;
    }
    let last = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) out.append(text.slice(last, m.index));
      out.append(h('span', { class: 'mention' }, m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) out.append(text.slice(last));
    return out;
  }

  function noteItem(n) {
    const priv = n.visibility === 'private';
    return h('li', { class: `note${priv ? ' private' : ''}`, 'data-testid': 'note', 'data-note-id': n.id, 'data-visibility': n.visibility },
      h('div', { class: 'note-head' },
        avatar(n.author_id, n.author_name || memberName(n.author_id) || '?', { class: 'avatar avatar-xs' }),
        h('strong', null, n.author_name || memberName(n.author_id) || 'Someone'),
        priv ? h('span', { class: 'private-tag', 'data-testid': 'note-private' }, 'Private') : null,
        h('span', { class: 'muted small' }, timeEl(n.created_at, shortTime(n.created_at)))),
      noteBody(n.body || ''));
  }

  async function addNote() {
    if (!view) return;
    const body = els.noteBody.value.trim();
    els.noteError.hidden = true;
    if (!body) {
      els.noteError.textContent = 'Write the note first.';
      els.noteError.hidden = false;
      return;
    }
    const id = view.id;
    try {
      const note = await api('POST', `/api/threads/${encodeURIComponent(id)}/notes`, { body, visibility: els.noteVisibility.value });
      if (view && view.id === id) {
        els.noteBody.value = '';
        closeMentions();
        if (note && note.id) upsertNote(note);
      }
    } catch (err) {
      els.noteError.textContent = err.message;
      els.noteError.hidden = false;
    }
  }

  const mention = { open: false, start: -1, items: [], active: 0 };

  function setupMentions() {
    const ta = els.noteBody;
    ta.addEventListener('input', updateMentions);
    ta.addEventListener('click', updateMentions);
    ta.addEventListener('blur', () => setTimeout(closeMentions, 150));
    ta.addEventListener('keydown', (e) => {
      if (!mention.open) {
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          addNote();
        }
        return;
      }
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = mention.items.length;
        mention.active = (mention.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        renderMentionList();
      } else if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        chooseMention(mention.items[mention.active]);
      } else if (e.key === 'Escape') {
        e.preventDefault();
        closeMentions();
      }
    });
  }

  function updateMentions() {
    const ta = els.noteBody;
    const caret = ta.selectionStart;
    const before = ta.value.slice(0, caret);
    const at = before.lastIndexOf('@');
    if (at < 0 || (at > 0 && !/\s/.test(before[at - 1]))) return closeMentions();
    const query = before.slice(at + 1);
    if (query.length > 30 || /[\n@]/.test(query)) return closeMentions();
    const q = query.toLowerCase();
    const items = membersList.filter((m) => m.name && (m.name.toLowerCase().startsWith(q) || m.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)))).slice(0, 8);
    if (!items.length) return closeMentions();
    mention.open = true;
    mention.start = at;
    mention.items = items;
    mention.active = Math.min(mention.active, items.length - 1);
    renderMentionList();
  }

  function renderMentionList() {
    els.mentionList.replaceChildren(...mention.items.map((m, i) => h('li', {
      role: 'option',
      id: `mention-opt-${i}`,
      class: i === mention.active ? 'active' : '',
      'aria-selected': i === mention.active ? 'true' : 'false',
      'data-testid': 'mention-option',
      'data-user-id': m.id,
      onmousedown: (e) => { e.preventDefault(); chooseMention(m); },
    }, avatar(m.id, m.name, { class: 'avatar avatar-xs' }), h('span', null, m.name), h('span', { class: 'muted small' }, m.email || ''))));
    els.mentionList.hidden = false;
    els.noteBody.setAttribute('aria-expanded', 'true');
    els.noteBody.setAttribute('aria-activedescendant', `mention-opt-${mention.active}`);
  }

  function chooseMention(m) {
    if (!m) return;
    const ta = els.noteBody;
    const caret = ta.selectionStart;
    const insert = `@${m.name} `;
    ta.value = ta.value.slice(0, mention.start) + insert + ta.value.slice(caret);
    const pos = mention.start + insert.length;
    ta.setSelectionRange(pos, pos);
    closeMentions();
    ta.focus();
  }

  function closeMentions() {
    mention.open = false;
    mention.items = [];
    mention.active = 0;
    if (els.mentionList) els.mentionList.hidden = true;
    if (els.noteBody) {
      els.noteBody.setAttribute('aria-expanded', 'false');
      els.noteBody.removeAttribute('aria-activedescendant');
    }
  }

  // ---------------------------------------------------------------- team + user channels

  function subscribeTeamAndUser() {
    if (!pusher) return;
    const teamCh = pusher.subscribe(`presence-team-${team.id || me.team_id}`);
    const onSummary = (t) => upsertThread(t);
    teamCh.bind('thread.created', onSummary);
    teamCh.bind('thread.updated', onSummary);
    const markOnline = () => {
      for (const m of membersList) m.online = !!(teamCh.members && teamCh.members.get(m.id));
    };
    teamCh.bind('pusher:subscription_succeeded', markOnline);
    teamCh.bind('pusher:member_added', markOnline);
    teamCh.bind('pusher:member_removed', markOnline);

    const userCh = pusher.subscribe(`private-user-${me.id}`);
    userCh.bind('thread.read', (data) => {
      if (!data) return;
      const id = data.thread_id || (data.thread && data.thread.id);
      if (data.thread && data.thread.id) upsertThread(data.thread);
      const t = inbox.threads.get(id);
      if (t && t.unread_count) {
        inbox.threads.set(id, Object.assign({}, t, { unread_count: 0 }));
        scheduleRenderList();
      }
    });
    userCh.bind('note.created', (ev) => onThreadEvent(ev, 'note.created', ev && ev.thread_id));
    userCh.bind('mention', (data) => {
      if (!data) return;
      const by = data.by || (data.note && data.note.author_name) || 'Someone';
      const t = inbox.threads.get(data.thread_id);
      const where = t && t.contact ? ` in ${t.contact.name || t.contact.phone}` : '';
      toast(`${by} mentioned you${where}`, { action: { label: 'Open', run: () => openThread(data.thread_id, true) } });
    });
  }

  async function resync() {
    loadThreads();
    if (!view || view.loading || view.failed) return;
    await catchUp(view.id);
  }

  /** Applies what the open thread missed since its highest seq (or reloads it when told to). */
  async function catchUp(id) {
    if (!view || view.id !== id || view.loading) return;
    const after = seqs.get(id) || view.baseline || 0;
    try {
      const data = await api('GET', `/api/threads/${encodeURIComponent(id)}/events${qs({ after })}`);
      if (!view || view.id !== id) return;
      if (data.reset_required) {
        await reloadThread(id);
        return;
      }
      for (const ev of data.events || []) applyEvent(ev, ev.type);
      if (Number(data.last_seq) > (seqs.get(id) || 0)) seqs.set(id, Number(data.last_seq));
    } catch (err) {
      if (err.status !== 401) await reloadThread(id);
    }
  }

  /** Replaces the open thread's state with a fresh snapshot, without a page reload. */
  async function reloadThread(id) {
    try {
      const data = await api('GET', `/api/threads/${encodeURIComponent(id)}`);
      if (!view || view.id !== id) return;
      view.thread = Object.assign({}, data.thread, { unread_count: 0 });
      view.baseline = Number(data.thread.last_seq) || 0;
      view.applied.clear();
      seqs.set(id, view.baseline);
      view.messages.clear();
      view.msgSeq.clear();
      for (const m of data.messages || []) {
        view.messages.set(m.id, m);
        view.msgSeq.set(m.id, view.baseline);
      }
      view.notes.clear();
      for (const n of data.notes || []) view.notes.set(n.id, n);
      view.nextCursor = data.next_cursor || null;
      inbox.threads.set(id, view.thread);
      renderList();
      renderThreadHeader();
      renderMessages(true);
      renderNotes();
    } catch (err) {
      toast(`Could not refresh the conversation: ${err.message}`, { kind: 'error' });
    }
  }

  // ---------------------------------------------------------------- inbox start

  /** A read-only handle for debugging in the console and for the browser tests (reconnects). */
  function exposeDebugHandle() {
    window.switchboard = Object.freeze({
      get pusher() { return pusher; },
      get openThreadId() { return openId; },
      seq(threadId) { return seqs.get(threadId) || 0; },
    });
  }

  async function startInbox() {
    buildInbox();
    pusher = connectPusher();
    exposeDebugHandle();
    onReconnect.push(resync);
    await loadMembers();
    renderAssigneeOptions();
    subscribeTeamAndUser();
    await loadThreads();
    const initial = boot.thread_id || (window.location.pathname.match(/^\/threads\/([^/]+)/) || [])[1];
    if (initial) {
      history.replaceState({ threadId: initial }, '', `/threads/${initial}`);
      openThread(initial, false);
    }
    window.addEventListener('popstate', () => {
      const m = window.location.pathname.match(/^\/threads\/([^/]+)/);
      if (m) openThread(decodeURIComponent(m[1]), false);
      else closeThread(false);
    });
    // Relative times age; refresh them without touching anything else.
    setInterval(() => scheduleRenderList(), 30000);
  }

  // ================================================================= SETTINGS

  async function startSettings() {
    if (!isAdmin) {
      main.replaceChildren(h('div', { class: 'settings' }, h('h1', null, 'Settings'), h('p', { 'data-testid': 'settings-forbidden' }, 'Only admins can change the team’s settings.')));
      return;
    }
    const channelsBody = h('tbody', { 'data-testid': 'channels' });
    const channelsEmpty = h('p', { class: 'muted', hidden: true, 'data-testid': 'channels-empty' }, 'No Twilio numbers yet: the team runs in simulator mode.');
    const verified = h('ul', { class: 'plain-list', 'data-testid': 'verified-numbers' });
    const simState = h('p', { 'data-testid': 'simulator-state' });
    const webhooks = h('div', { class: 'webhooks small' });
    const membersBody = h('tbody', { 'data-testid': 'members' });

    // --- Add a channel
    const kind = h('select', { id: 'ch-kind', 'data-testid': 'channel-kind' }, h('option', { value: 'sms' }, 'SMS'), h('option', { value: 'whatsapp' }, 'WhatsApp'));
    const number = h('input', { id: 'ch-number', type: 'tel', placeholder: '+14155550100', 'data-testid': 'channel-number', autocomplete: 'off' });
    const sid = h('input', { id: 'ch-sid', type: 'text', placeholder: 'AC…', 'data-testid': 'channel-account-sid', autocomplete: 'off' });
    const token = h('input', { id: 'ch-token', type: 'password', 'data-testid': 'channel-auth-token', autocomplete: 'new-password' });
    const mss = h('input', { id: 'ch-mss', type: 'text', placeholder: 'MG… (optional)', 'data-testid': 'channel-messaging-service-sid', autocomplete: 'off' });
    const chErr = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'channel-error' });
    const chForm = h('form', { class: 'grid-form', 'data-testid': 'channel-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      chErr.hidden = true;
      const payload = { kind: kind.value, number: number.value.trim(), account_sid: sid.value.trim(), auth_token: token.value };
      if (mss.value.trim()) payload.messaging_service_sid = mss.value.trim();
      if (!payload.number || !payload.account_sid || !payload.auth_token) {
        chErr.textContent = 'Number, Account SID and Auth token are required.';
        chErr.hidden = false;
        return;
      }
      try {
        await api('POST', '/api/channels', payload);
        number.value = '';
        sid.value = '';
        token.value = '';
        mss.value = '';
        toast('Channel added.');
        await Promise.all([loadChannels(), loadSettings()]);
      } catch (err) {
        chErr.textContent = err.message;
        chErr.hidden = false;
      }
    } },
    h('label', { for: 'ch-kind' }, 'Kind'), kind,
    h('label', { for: 'ch-number' }, 'Number (E.164)'), number,
    h('label', { for: 'ch-sid' }, 'Account SID'), sid,
    h('label', { for: 'ch-token' }, 'Auth token'), token,
    h('label', { for: 'ch-mss' }, 'Messaging service SID'), mss,
    h('span'), h('button', { type: 'submit', class: 'primary', 'data-testid': 'channel-add' }, 'Add channel'),
    chErr);

    // --- Invite
    const invEmail = h('input', { id: 'inv-email', type: 'email', placeholder: 'teammate@example.com (optional)', 'data-testid': 'invite-email', autocomplete: 'off' });
    const invRole = h('select', { id: 'inv-role', 'data-testid': 'invite-role' }, h('option', { value: 'agent' }, 'Agent'), h('option', { value: 'admin' }, 'Admin'));
    const invErr = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'invite-error' });
    const invUrl = h('input', { id: 'inv-url', type: 'text', readonly: true, 'data-testid': 'invite-url' });
    const copyBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'invite-copy', onclick: async () => {
      invUrl.select();
      try {
        await navigator.clipboard.writeText(invUrl.value);
        copyBtn.textContent = 'Copied';
      } catch (_) {
        copyBtn.textContent = 'Press Ctrl+C';
      }
      setTimeout(() => { copyBtn.textContent = 'Copy'; }, 2000);
    } }, 'Copy');
    const invResult = h('div', { class: 'invite-result', hidden: true, 'data-testid': 'invite-result' },
      h('label', { for: 'inv-url' }, 'Invite link (share it with your teammate)'), h('div', { class: 'row' }, invUrl, copyBtn));
    const invForm = h('form', { class: 'grid-form', 'data-testid': 'invite-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      invErr.hidden = true;
      const payload = { role: invRole.value };
      if (invEmail.value.trim()) payload.email = invEmail.value.trim();
      try {
        const res = await api('POST', '/api/invites', payload);
        invUrl.value = res.url || '';
        invResult.hidden = false;
        invEmail.value = '';
      } catch (err) {
        invErr.textContent = err.message;
        invErr.hidden = false;
      }
    } },
    h('label', { for: 'inv-email' }, 'Email'), invEmail,
    h('label', { for: 'inv-role' }, 'Role'), invRole,
    h('span'), h('button', { type: 'submit', class: 'primary', 'data-testid': 'invite-create' }, 'Create invite link'),
    invErr);

    async function loadChannels() {
      try {
        const data = await api('GET', '/api/channels');
        const list = (data && data.channels) || [];
        channelsBody.replaceChildren(...list.map((c) => h('tr', { 'data-testid': 'channel-row', 'data-channel-id': c.id },
          h('td', null, channelTag(c.kind)),
          h('td', { class: 'mono' }, c.number),
          h('td', { class: 'mono' }, c.account_sid || ''),
          h('td', { class: 'mono' }, c.messaging_service_sid || '—'),
          h('td', null, c.simulated ? h('span', { class: 'badge badge-sim' }, 'Simulated') : 'Twilio'),
          h('td', null, h('button', { type: 'button', class: 'link danger', 'data-testid': 'channel-delete', 'aria-label': `Delete channel ${c.number}`, onclick: async () => {
            try {
              await api('DELETE', `/api/channels/${encodeURIComponent(c.id)}`);
              toast('Channel removed.');
              await Promise.all([loadChannels(), loadSettings()]);
            } catch (err) {
              toast(err.message, { kind: 'error' });
            }
          } }, 'Delete')))));
        channelsEmpty.hidden = list.length > 0;
      } catch (err) {
        toast(`Could not load channels: ${err.message}`, { kind: 'error' });
      }
    }

    async function loadSettings() {
      try {
        const s = await api('GET', '/api/settings');
        simState.replaceChildren(h('strong', null, s.simulator_mode ? 'Simulator mode is on.' : 'Simulator mode is off.'), ' ',
          s.simulator_mode
            ? 'This team has no Twilio credentials yet, so outbound messages are not sent to real phones: the built-in simulator accepts them and reports them delivered after a moment, and “Simulate an inbound message” in the inbox plays the contact’s side through the same signed webhook path Twilio uses. Add a Twilio number below to leave simulator mode.'
            : 'Messages go out through Twilio. Remove every Twilio number to go back to simulator mode.');
        const base = s.public_base_url || window.location.origin;
        const hooks = s.webhooks || {};
        webhooks.replaceChildren(h('p', null, 'Point your Twilio numbers (or messaging service) at these webhooks:'),
          h('ul', { class: 'plain-list mono', 'data-testid': 'webhooks' },
            h('li', null, `Incoming messages: ${hooks.messages || `${base}/webhooks/twilio/messages`}`),
            h('li', null, `Status callbacks: ${hooks.status || `${base}/webhooks/twilio/status`}`)));
        if (Array.isArray(s.verified_numbers)) {
          verified.replaceChildren(...(s.verified_numbers.length
            ? s.verified_numbers.map((n) => h('li', { class: 'mono', 'data-testid': 'verified-number' }, typeof n === 'string' ? n : (n.phone_number || n.number || JSON.stringify(n))))
            : [h('li', { class: 'muted' }, 'No verified numbers.')]));
        } else {
          verified.replaceChildren(h('li', { class: 'muted' }, s.simulator_mode ? 'Not needed in simulator mode.' : 'Not a trial account: any number can be messaged.'));
        }
      } catch (err) {
        toast(`Could not load settings: ${err.message}`, { kind: 'error' });
      }
    }

    async function loadMembersTable() {
      await loadMembers();
      membersBody.replaceChildren(...membersList.map((m) => h('tr', { 'data-testid': 'member-row', 'data-user-id': m.id },
        h('td', null, h('span', { class: 'member-name' }, avatar(m.id, m.name, { class: 'avatar avatar-xs' }), m.name, m.id === me.id ? h('span', { class: 'muted' }, ' (you)') : null)),
        h('td', null, m.email),
        h('td', null, h('span', { class: `role-tag role-${m.role}` }, m.role)),
        h('td', null, m.online ? h('span', { class: 'online' }, '● online') : h('span', { class: 'muted' }, 'offline')))));
    }

    const table = (caption, head, body) => h('div', { class: 'table-wrap' }, h('table', null,
      h('caption', { class: 'sr-only' }, caption),
      h('thead', null, h('tr', null, ...head.map((x) => h('th', { scope: 'col' }, x)))), body));

    main.replaceChildren(h('div', { class: 'settings', 'data-testid': 'settings' },
      h('h1', null, 'Settings'),
      h('section', { class: 'card' },
        h('h2', null, 'Twilio channels'),
        h('p', { class: 'muted small' }, 'Each number the team sends from. The auth token is kept on the server and never shown again.'),
        table('Twilio channels', ['Kind', 'Number', 'Account SID', 'Messaging service', 'Mode', h('span', { class: 'sr-only' }, 'Actions')], channelsBody),
        channelsEmpty,
        h('h3', null, 'Add a channel'), chForm),
      h('section', { class: 'card' },
        h('h2', null, 'Simulator mode'), simState, webhooks,
        h('h3', null, 'Verified numbers'),
        h('p', { class: 'muted small' }, 'A Twilio trial account can only message numbers verified in its console; sends to other numbers are refused with “not verified”.'),
        verified),
      h('section', { class: 'card' },
        h('h2', null, 'Team members'),
        table('Team members', ['Name', 'Email', 'Role', 'Status'], membersBody),
        h('h3', null, 'Invite a teammate'), invForm, invResult)));

    pusher = connectPusher();
    if (pusher) {
      const teamCh = pusher.subscribe(`presence-team-${team.id || me.team_id}`);
      const refresh = () => {
        for (const m of membersList) m.online = !!(teamCh.members && teamCh.members.get(m.id));
        for (const row of membersBody.querySelectorAll('tr')) {
          const m = members.get(row.dataset.userId);
          const cell = row.lastElementChild;
          if (m && cell) cell.replaceChildren(m.online ? h('span', { class: 'online' }, '● online') : h('span', { class: 'muted' }, 'offline'));
        }
      };
      teamCh.bind('pusher:subscription_succeeded', refresh);
      teamCh.bind('pusher:member_added', refresh);
      teamCh.bind('pusher:member_removed', refresh);
    }
    await Promise.all([loadChannels(), loadSettings(), loadMembersTable()]);
  }

  // ================================================================= DASHBOARD

  const intFormat = new Intl.NumberFormat();
  const pctFormat = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });

  function fmtCount(n) {
    return typeof n === 'number' && Number.isFinite(n) ? intFormat.format(n) : '—';
  }

  function fmtRate(rate) {
    return typeof rate === 'number' && Number.isFinite(rate) ? pctFormat.format(rate) : '—';
  }

  /** A duration in seconds as people say it: "45 s", "2 min 10 s", "3 h 5 min", "2 d 4 h"; "—" when unknown. */
  function fmtDuration(seconds) {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '—';
    const s = Math.round(seconds);
    const pair = (big, bigUnit, small, smallUnit) => (small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`);
    if (s < 60) return `${s} s`;
    if (s < 3600) return pair(Math.floor(s / 60), 'min', s % 60, 's');
    const m = Math.round(s / 60);
    if (m < 24 * 60) return pair(Math.floor(m / 60), 'h', m % 60, 'min');
    const hours = Math.round(s / 3600);
    return pair(Math.floor(hours / 24), 'd', hours % 24, 'h');
  }

  /** Most one summary request per this many ms, however busy the team channel is. */
  const DASHBOARD_MIN_INTERVAL = 2000;

  async function startDashboard() {
    const values = {};
    /** One labelled number: <dt> label, <dd> value (data-testid stat-{key}), optional <dd> hint. */
    const stat = (key, label, hint) => {
      values[key] = h('dd', { class: 'stat-value', 'data-testid': `stat-${key}` }, '…');
      if (hint) values[`${key}:hint`] = h('dd', { class: 'stat-hint', 'data-testid': `stat-${key}-hint` }, hint);
      return h('div', { class: 'stat' }, h('dt', { class: 'stat-label' }, label), values[key], hint ? values[`${key}:hint`] : null);
    };
    const section = (id, title, ...body) => h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body);

    const updated = h('p', { class: 'muted small dash-updated', 'data-testid': 'dashboard-updated' }, 'Loading…');
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'dashboard-error' });
    const onlineList = h('ul', { class: 'online-list', 'data-testid': 'online-members', 'aria-label': 'Online now' });
    const onlineNote = h('p', { class: 'muted small', 'data-testid': 'online-empty' }, pusherAvailable() ? 'Connecting…' : 'Realtime is unavailable.');

    main.replaceChildren(h('div', { class: 'dashboard', 'data-testid': 'dashboard' },
      h('div', { class: 'dash-head' },
        h('div', null, h('h1', null, 'Dashboard'), updated),
        h('a', { class: 'button secondary', href: '/api/analytics/export.csv?days=30', download: 'switchboard-messages.csv', 'data-testid': 'csv-link' },
          h('span', { 'aria-hidden': 'true' }, '⤓ '), 'Download CSV (last 30 days)')),
      error,
      section('dash-threads', 'Conversations',
        h('dl', { class: 'stats' },
          stat('open', 'Open'), stat('pending', 'Pending'), stat('resolved', 'Resolved'), stat('snoozed', 'Snoozed'),
          stat('unread', 'Unread'), stat('unassigned', 'Unassigned open'))),
      h('div', { class: 'dash-grid' },
        section('dash-messages', 'Messages',
          h('dl', { class: 'stats' },
            stat('inbound', 'Received', 'last 24 h'), stat('outbound', 'Sent', 'last 24 h'), stat('scheduled', 'Scheduled', 'waiting to go out'))),
        section('dash-quality', 'Last 7 days',
          h('dl', { class: 'stats' },
            stat('delivery', 'Delivery rate', ' '),
            stat('median', 'First response, median', 'half answered within this'),
            stat('p90', 'First response, p90', '9 in 10 answered within this')))),
      section('dash-online', 'Online now',
        h('div', { class: 'online-wrap' },
          h('dl', { class: 'stats stats-single' }, stat('online', 'Agents online')),
          h('div', { class: 'online-people' }, onlineList, onlineNote)))));

    let summary = null;
    let presence = null; // [{id, name, role}] once the team channel is subscribed

    function setValue(key, text) {
      const el = values[key];
      if (!el || el.textContent === text) return;
      const first = el.textContent === '…';
      el.textContent = text;
      if (!first) {
        // A short highlight so a change that arrives live is noticed.
        el.classList.remove('bumped');
        void el.offsetWidth;
        el.classList.add('bumped');
      }
    }

    function render() {
      if (summary) {
        const t = summary.threads || {};
        const m = summary.messages_24h || {};
        const d = summary.delivery_7d || {};
        const f = summary.first_response_7d || {};
        setValue('open', fmtCount(t.open));
        setValue('pending', fmtCount(t.pending));
        setValue('resolved', fmtCount(t.resolved));
        setValue('snoozed', fmtCount(t.snoozed));
        setValue('unread', fmtCount(t.unread));
        setValue('unassigned', fmtCount(t.unassigned_open));
        setValue('inbound', fmtCount(m.inbound));
        setValue('outbound', fmtCount(m.outbound));
        setValue('scheduled', fmtCount(summary.scheduled_pending));
        setValue('delivery', fmtRate(d.rate));
        values['delivery:hint'].textContent = typeof d.delivered === 'number'
          ? `${fmtCount(d.delivered)} delivered · ${fmtCount(d.failed)} failed`
          : '';
        setValue('median', fmtDuration(f.median_seconds));
        setValue('p90', fmtDuration(f.p90_seconds));
      }
      // Who is online: the live presence roster when we have it (it also counts other server
      // nodes), else the server's number.
      if (presence) setValue('online', fmtCount(presence.length));
      else if (summary) setValue('online', fmtCount(summary.online_agents));
    }

    function renderPresence() {
      if (!presence) return;
      const people = presence.slice().sort((a, b) => (a.id === me.id ? -1 : b.id === me.id ? 1 : a.name.localeCompare(b.name)));
      onlineList.replaceChildren(...people.map((p) => h('li', { class: 'online-member', 'data-testid': 'online-member', 'data-user-id': p.id },
        h('span', { class: 'online-avatar' }, avatar(p.id, p.name), h('span', { class: 'online-dot', 'aria-hidden': 'true' })),
        h('span', { class: 'online-text' },
          h('span', { class: 'online-name' }, p.name, p.id === me.id ? h('span', { class: 'muted' }, ' (you)') : null),
          p.role ? h('span', { class: `role-tag role-${p.role}` }, p.role) : null))));
      onlineNote.textContent = people.length ? '' : 'Nobody is online right now.';
      onlineNote.hidden = people.length > 0;
      render();
    }

    // --- the numbers: at most one request per DASHBOARD_MIN_INTERVAL, never two at once
    let lastLoad = 0;
    let timer = null;
    let inflight = false;
    let again = false;

    async function load() {
      if (inflight) {
        again = true;
        return;
      }
      inflight = true;
      lastLoad = Date.now();
      try {
        summary = await api('GET', '/api/analytics/summary');
        error.hidden = true;
        render();
        updated.textContent = `Updated ${new Date().toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`;
      } catch (err) {
        if (err.status !== 401) {
          error.textContent = `Could not load the numbers: ${err.message}`;
          error.hidden = false;
          if (!summary) updated.textContent = '';
        }
      } finally {
        inflight = false;
        if (again) {
          again = false;
          scheduleLoad();
        }
      }
    }

    /** Coalesces bursts of events into one refresh, and spaces refreshes at least 2 s apart. */
    function scheduleLoad() {
      if (timer) return;
      const wait = Math.max(250, lastLoad + DASHBOARD_MIN_INTERVAL - Date.now());
      timer = setTimeout(() => {
        timer = null;
        load();
      }, wait);
    }

    pusher = connectPusher();
    exposeDebugHandle();
    if (pusher) {
      const teamCh = pusher.subscribe(`presence-team-${team.id || me.team_id}`);
      teamCh.bind('thread.created', scheduleLoad);
      teamCh.bind('thread.updated', scheduleLoad);
      const readMembers = () => {
        const list = [];
        if (teamCh.members) {
          teamCh.members.each((m) => {
            const info = m.info || {};
            list.push({ id: m.id, name: info.name || 'Someone', role: info.role || '' });
          });
        }
        presence = list;
        renderPresence();
      };
      teamCh.bind('pusher:subscription_succeeded', readMembers);
      teamCh.bind('pusher:member_added', readMembers);
      teamCh.bind('pusher:member_removed', readMembers);
      teamCh.bind('pusher:subscription_error', () => {
        onlineNote.textContent = 'Could not join the team channel: who is online is unknown.';
        onlineNote.hidden = false;
      });
      // Events missed while offline: fetch fresh numbers once back.
      onReconnect.push(scheduleLoad);
    }
    // The 24 h and 7 day windows move on even when nothing happens.
    setInterval(scheduleLoad, 60000);
    await load();
  }

  function pusherAvailable() {
    return !!(window.Pusher && boot.pusher && boot.pusher.key);
  }

  // ---------------------------------------------------------------- start

  renderHeader();
  if (page === 'settings') startSettings();
  else if (page === 'dashboard') startDashboard();
  else startInbox();
})();
