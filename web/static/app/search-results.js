// The inbox's search hits: while the search box has text, the messages and notes whose words
// match (GET /api/search: the server's full-text search, notes I may see only) are listed above
// the thread list, each with its snippet (matches in <mark>); choosing one opens its thread
// scrolled to that message or note, highlighted. Contacts matching by name or phone are the
// thread list's own rows, so they are not repeated here.

import { api, qs } from './api.js';
import { h, timeEl } from './dom.js';
import { emit } from './events.js';
import { relTime } from './format.js';

const state = { q: '', next: null, seq: 0 };
const els = {};

/** The (hidden) results section, for the list pane. */
export function buildSearchResults() {
  els.list = h('ul', { 'data-testid': 'search-hits' });
  els.more = h('button', { type: 'button', class: 'ghost', hidden: true, 'data-testid': 'search-more', onclick: () => search(state.q, true) }, 'More results');
  els.section = h('section', { class: 'search-results', 'data-testid': 'search-results', 'aria-label': 'Messages and notes that match', hidden: true },
    h('h3', null, 'In messages and notes'), els.list, els.more);
  return els.section;
}

/** Shows the hits of `q` (nothing for an empty one); `more` appends the next page. */
export async function search(q, more) {
  if (!els.section) return;
  const seq = ++state.seq;
  state.q = q;
  if (!q) {
    els.section.hidden = true;
    els.list.replaceChildren();
    return;
  }
  let data;
  try {
    data = await api('GET', `/api/search${qs({ q, cursor: more ? state.next : '' })}`);
  } catch (_) {
    if (seq === state.seq) els.section.hidden = true;
    return;
  }
  if (seq !== state.seq) return; // a newer query won
  const hits = (data.items || []).filter((hit) => hit.kind !== 'contact');
  state.next = data.next_cursor || null;
  if (!more) els.list.replaceChildren();
  els.list.append(...hits.map(hitRow));
  els.more.hidden = !state.next;
  els.section.hidden = els.list.childElementCount === 0 && !state.next;
}

/** The snippet as DOM: text and <mark> only, whatever the string holds. */
function snippet(html) {
  const t = document.createElement('template');
  t.innerHTML = html || '';
  const out = h('span', { class: 'snippet', 'data-testid': 'search-snippet' });
  for (const node of t.content.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) out.append(node.textContent);
    else if (node.nodeName === 'MARK') out.append(h('mark', null, node.textContent));
    else out.append(node.textContent || '');
  }
  return out;
}

function hitRow(hit) {
  const c = hit.contact || {};
  const focus = hit.message_id ? { message_id: hit.message_id } : { note_id: hit.note_id };
  return h('li', null, h('button', {
    type: 'button', class: 'search-hit', 'data-testid': 'search-hit', 'data-kind': hit.kind, 'data-thread-id': hit.thread_id,
    onclick: () => emit('open-thread', { id: hit.thread_id, push: true, focus }),
  },
  h('span', { class: 'row-top' }, h('strong', null, c.name || c.phone || 'Unknown'), hit.kind === 'note' ? h('span', { class: 'muted' }, ' · note') : null,
    h('span', { class: 'row-time muted' }, timeEl(hit.at, relTime(hit.at)))),
  snippet(hit.snippet)));
}
