// A list read page by page from one of our `{items, next_cursor}` endpoints (keyset cursors):
// the first page replaces the rows, "Show more" appends the next one, and the empty note and
// the button follow what is left. Used by the invites card, the audit log and the replies page.

import { api } from './api.js';
import { toast } from './dom.js';

/**
 * `path` is the endpoint with its own query (`?` or not), or a function answering it (read at
 * each first page: a search box's query); `row(item)` draws one row into
 * `body`; `what` names the list in an error toast. Returns `load()`, which reads the first page.
 */
export function keysetPager({ path, body, empty, more, row, what }) {
  let cursor = null;
  let base = '';
  async function page(append) {
    more.disabled = true;
    try {
      if (!append) base = typeof path === 'function' ? path() : path;
      const sep = base.includes('?') ? '&' : '?';
      const data = await api('GET', append && cursor ? `${base}${sep}cursor=${encodeURIComponent(cursor)}` : base);
      const rows = (data.items || []).map(row);
      if (append) body.append(...rows);
      else body.replaceChildren(...rows);
      cursor = data.next_cursor || null;
      more.hidden = !cursor;
      empty.hidden = body.children.length > 0;
    } catch (err) {
      toast(`Could not load ${what}: ${err.message}`, { kind: 'error' });
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => page(true));
  return () => page(false);
}
