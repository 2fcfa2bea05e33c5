// A tiny fuzzy matcher for short labels (the reply picker's shortcuts and titles): the query's
// characters must appear in order; runs of consecutive characters, word starts and a matching
// prefix score higher, so "/tk" finds "thanks" and "/ref" puts "refund" before "prefer".

/** How well `query` matches `text` (higher is better), or null when it does not match at all. */
export function fuzzyScore(query, text) {
  const q = String(query || '').toLowerCase();
  const t = String(text || '').toLowerCase();
  if (!q) return 0;
  let score = 0;
  let from = 0;
  let prev = -2;
  for (const ch of q) {
    const at = t.indexOf(ch, from);
    if (at < 0) return null;
    score += 1;
    if (at === prev + 1) score += 3; // a run
    if (at === 0 || /[\s_\-/.]/.test(t[at - 1])) score += 2; // a word start
    prev = at;
    from = at + 1;
  }
  if (t.startsWith(q)) score += 10;
  return score - t.length * 0.01; // of two equal matches, the shorter label
}

/**
 * The replies matching `query` by shortcut or title, best first (a shortcut match counts a
 * little more: it is what the agent types), then by shortcut; at most `limit`.
 */
export function rankReplies(query, replies, limit = 8) {
  const scored = [];
  for (const r of replies) {
    const byShortcut = fuzzyScore(query, r.shortcut);
    const byTitle = fuzzyScore(query, r.title);
    if (byShortcut === null && byTitle === null) continue;
    scored.push({ r, s: Math.max(byShortcut === null ? -Infinity : byShortcut * 1.2, byTitle === null ? -Infinity : byTitle) });
  }
  scored.sort((a, b) => (b.s - a.s) || (a.r.shortcut < b.r.shortcut ? -1 : a.r.shortcut > b.r.shortcut ? 1 : 0));
  return scored.slice(0, limit).map((x) => x.r);
}
