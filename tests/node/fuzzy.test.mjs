// The reply picker's fuzzy matcher (web/static/app/fuzzy.js): a subsequence match on shortcut and
// title, runs and word starts first.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzyScore, rankReplies } from '../../web/static/app/fuzzy.js';

const replies = [
  { shortcut: 'thanks', title: 'Thank you' },
  { shortcut: 'refund', title: 'Refund policy' },
  { shortcut: 'prefer', title: 'Preferences' },
  { shortcut: 'hours', title: 'Opening hours' },
];

describe('fuzzy matching of replies', () => {
  it('matches subsequences and refuses the rest', () => {
    assert.notEqual(fuzzyScore('tk', 'thanks'), null);
    assert.equal(fuzzyScore('kt', 'thanks'), null);
    assert.equal(fuzzyScore('', 'anything'), 0);
  });

  it('puts prefixes and runs first, shortcut or title', () => {
    assert.deepEqual(rankReplies('ref', replies).map((r) => r.shortcut), ['refund', 'prefer']);
    assert.deepEqual(rankReplies('open', replies).map((r) => r.shortcut), ['hours']);
    assert.deepEqual(rankReplies('zz', replies), []);
  });

  it('lists everything by shortcut for an empty query, up to the limit', () => {
    assert.deepEqual(rankReplies('', replies, 3).map((r) => r.shortcut), ['hours', 'prefer', 'refund']);
  });
});
