// The composer's canned replies picker: typing "/" at the start of the reply or after a space
// opens a list of the team's replies and one's own, filtered as one types by a fuzzy match on
// shortcut and title (fuzzy.js). Arrow keys move, Enter or Tab inserts, Escape closes, a click
// inserts. The replies are loaded once per page and kept live by reply.changed / reply.deleted
// on the team and user channels (bindReplyEvents, from sync.js); after a reconnect they are read
// again on next use. What inserting does (rendering for the conversation) is the composer's.

import { api } from './api.js';
import { h } from './dom.js';
import { rankReplies } from './fuzzy.js';
import { onReconnect } from './realtime.js';

/** The replies this agent may use, by id. */
const replies = new Map();
let loading = null;
const listeners = new Set();

async function fetchAll() {
  const all = [];
  let cursor = null;
  do {
    const data = await api('GET', `/api/replies?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    all.push(...((data && data.items) || []));
    cursor = data && data.next_cursor;
  } while (cursor);
  replies.clear();
  for (const r of all) replies.set(r.id, r);
}

/** Loads the replies once (again after a failure or a reconnect). */
export function loadReplies() {
  if (!loading) loading = fetchAll().catch((err) => { loading = null; throw err; });
  return loading;
}

onReconnect(() => { loading = null; });

const changed = () => { for (const fn of listeners) fn(); };

/** Follows reply changes on a channel (the team's for team replies, one's own for personal). */
export function bindReplyEvents(channel) {
  channel.bind('reply.changed', (data) => {
    if (data && data.reply && data.reply.id) {
      replies.set(data.reply.id, data.reply);
      changed();
    }
  });
  channel.bind('reply.deleted', (data) => {
    if (data && replies.delete(data.id)) changed();
  });
}

/** The "/query" being typed just before the caret, or null. */
function trigger(textarea) {
  const caret = textarea.selectionStart;
  if (caret === null || caret !== textarea.selectionEnd) return null;
  const m = /(^|\s)\/([a-z0-9_-]{0,32})$/i.exec(textarea.value.slice(0, caret));
  return m ? { start: caret - m[2].length - 1, end: caret, query: m[2] } : null;
}

/**
 * Adds the picker to `textarea`; `onPick(reply, {start, end})` inserts a reply over the
 * "/query" range. Call before the textarea's own keydown handlers: keys the open picker uses
 * go no further. Returns {el} (the list, to place beside the textarea).
 */
export function attachReplyPicker(textarea, onPick) {
  const list = h('ul', { id: 'reply-picker', class: 'reply-picker', role: 'listbox', 'aria-label': 'Canned replies', hidden: true, 'data-testid': 'reply-picker' });
  let open = null; // {start, end, query, items, active}

  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-controls', list.id);
  textarea.setAttribute('aria-expanded', 'false');

  function close() {
    open = null;
    list.hidden = true;
    list.replaceChildren();
    textarea.setAttribute('aria-expanded', 'false');
    textarea.removeAttribute('aria-activedescendant');
  }

  function pick(reply) {
    const range = { start: open.start, end: open.end };
    close();
    onPick(reply, range);
  }

  function option(r, i) {
    const el = h('li', { id: `reply-option-${i}`, role: 'option', class: 'reply-option', 'aria-selected': String(i === open.active), 'data-testid': 'reply-option', 'data-shortcut': r.shortcut,
      onmousedown: (e) => e.preventDefault(), // keep the focus in the composer
      onclick: () => pick(r) },
    h('span', { class: 'reply-shortcut' }, `/${r.shortcut}`),
    h('span', { class: 'reply-title' }, r.title),
    r.scope === 'personal' ? h('span', { class: 'role-tag' }, 'mine') : null,
    h('span', { class: 'reply-body muted' }, r.body));
    return el;
  }

  function render() {
    if (!open) return;
    if (!open.items.length) {
      const what = replies.size ? `No reply matches “/${open.query}”.` : 'No canned replies yet.';
      list.replaceChildren(h('li', { class: 'reply-empty muted', 'data-testid': 'reply-picker-empty' }, `${what} `,
        h('a', { href: '/replies', onmousedown: (e) => e.preventDefault() }, 'Manage replies')));
      textarea.removeAttribute('aria-activedescendant');
    } else {
      list.replaceChildren(...open.items.map(option));
      textarea.setAttribute('aria-activedescendant', `reply-option-${open.active}`);
      const active = list.children[open.active];
      if (active && active.scrollIntoView) active.scrollIntoView({ block: 'nearest' });
    }
    list.hidden = false;
    textarea.setAttribute('aria-expanded', 'true');
  }

  async function update() {
    let t = trigger(textarea);
    if (!t) return close();
    try {
      await loadReplies();
    } catch (err) {
      list.replaceChildren(h('li', { class: 'reply-empty form-error' }, `Could not load replies: ${err.message}`));
      list.hidden = false;
      return undefined;
    }
    t = trigger(textarea); // the agent may have typed on meanwhile
    if (!t) return close();
    const items = rankReplies(t.query, [...replies.values()]);
    const keep = open && open.query === t.query ? Math.min(open.active, Math.max(items.length - 1, 0)) : 0;
    open = Object.assign(t, { items, active: keep });
    render();
    return undefined;
  }

  listeners.add(() => { if (open) update(); });
  textarea.addEventListener('input', update);
  textarea.addEventListener('click', update);
  textarea.addEventListener('keyup', (e) => { if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) update(); });
  textarea.addEventListener('blur', close);
  textarea.addEventListener('keydown', (e) => {
    if (!open) return;
    const n = open.items.length;
    let handled = true;
    if (e.key === 'ArrowDown' && n) open.active = (open.active + 1) % n;
    else if (e.key === 'ArrowUp' && n) open.active = (open.active - 1 + n) % n;
    else if ((e.key === 'Enter' || e.key === 'Tab') && !e.ctrlKey && !e.metaKey && !e.shiftKey && n) pick(open.items[open.active]);
    else if (e.key === 'Escape') close();
    else handled = false;
    if (!handled) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    render();
  });

  return { el: list, close };
}
