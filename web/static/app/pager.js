// A list read page by page from one of our `{items, next_cursor}` endpoints (keyset cursors):
// the first page replaces the rows, "Show more" appends the next one, and the empty note and
// the button follow what is left. Used by the invites card, the audit log, the replies page and the contacts page.

import { api } from './api.js';
import { toast } from './dom.js';

/**
 * `path` is the endpoint with its own query (`?` or not), or a function returning it (read at
 * each first page: a search box's query, a list's filters); `row(item)` draws one row into `body`;
 * `what` names the list in an error toast; `after(data, append)` (optional) runs once a page is
 * drawn. Returns `load()`, which reads the first page; of overlapping loads the newest wins.
 */
export function keysetPager({ path, body, empty, more, row, what, after }) {
  let cursor = null;
  let current = '';
  let seq = 0;
  async function page(append) {
    const mine = ++seq;
    more.disabled = true;
    try {
      if (!append) current = typeof path === 'function' ? path() : path;
      const sep = current.includes('?') ? '&' : '?';
      const data = await api('GET', append && cursor ? `${current}${sep}cursor=${encodeURIComponent(cursor)}` : current);
      if (mine !== seq) return; // a newer load (new filters) won
      const rows = (data.items || []).map(row);
      if (append) body.append(...rows);
      else body.replaceChildren(...rows);
      cursor = data.next_cursor || null;
      more.hidden = !cursor;
      empty.hidden = body.children.length > 0;
      if (after) after(data, append);
    } catch (err) {
      if (mine === seq) toast(`Could not load ${what}: ${err.message}`, { kind: 'error' });
    } finally {
      if (mine === seq) more.disabled = false;
    }
  }
  more.addEventListener('click', () => page(true));
  return () => page(false);
}
