//! How many of the newest messages (and notes) a search reads before it asks the GIN index.
//!
//! The window pays off for words common enough that a page of matches is among the newest rows:
//! they are answered from it, newest first, without the index's long posting lists. For a word
//! found a few times in a million it is pure cost (reading 10,000 rows to find nothing), while
//! the index answers it at once: its posting list is short, and GIN's fast scan skips through a
//! common word's list beside it. Postgres already counts how common each word is:
//! `pg_stats.most_common_elems` of `search_tsv`, the words in at least a small share of rows,
//! with their share. A search whose rarest word is too rare for a page of matches in the window
//! skips it.
//!
//! A word Postgres did not list is rarer than its cut-off. `ANALYZE` counts the words of a
//! sample of rows with lossy counting (`ts_typanalyze.c`): it keeps a word seen more than
//! `9 × words in the sample / bucket width` times, bucket width `(10 × target + 10) × 1000 / 7`
//! for the statistics target, and lists at most `10 × target` of them. So when the list is
//! shorter than that, an unlisted word's share is below `9 × (words per row) / bucket width`
//! (the words per row at least the sum of the listed shares): about 0.06 % for SMS-length
//! bodies at the default target, far below the least listed word. When the list is full, the
//! least listed share is the bound. The figures are per table, not per team, and some minutes old: a wrong guess costs
//! time, never results (the index branch answers whatever the window did not).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a node keeps the statistics before it reads them again.
const REFRESH: Duration = Duration::from_secs(300);

/// The share of rows holding each common word of one table's `search_tsv`.
#[derive(Debug, Default)]
pub(crate) struct WordShares {
    shares: BTreeMap<String, f32>,
    /// The least share a listed word has: a word not listed is rarer than this (at most).
    floor: f32,
}

impl WordShares {
    /// From `most_common_elems` and `most_common_elem_freqs` (one share per word, then the
    /// least and the greatest of them) and the statistics target they were gathered with.
    pub(crate) fn from_stats(words: Vec<String>, freqs: &[f32], target: u32) -> WordShares {
        let listed = words.len();
        let shares: BTreeMap<String, f32> = words.into_iter().zip(freqs.iter().copied()).collect();
        if shares.is_empty() {
            return WordShares::default();
        }
        let least = shares.values().copied().fold(f32::INFINITY, f32::min);
        let most_listed = 10 * target.max(1) as usize;
        let floor = if listed >= most_listed {
            least
        } else {
            let bucket_width = (most_listed as f32 + 10.0) * 1000.0 / 7.0;
            let words_per_row = shares.values().sum::<f32>().max(1.0);
            (9.0 * words_per_row / bucket_width).min(least)
        };
        WordShares { shares, floor }
    }

    /// The share of rows holding `word` (at most): a prefix's is the sum of the listed words it
    /// starts, and a word not listed has the floor's.
    fn share(&self, word: &str, prefix: bool) -> f32 {
        if !prefix {
            return self.shares.get(word).copied().unwrap_or(self.floor);
        }
        let listed: f32 = self
            .shares
            .range::<str, _>((Bound::Included(word), Bound::Unbounded))
            .take_while(|(w, _)| w.starts_with(word))
            .map(|(_, s)| s)
            .sum();
        (listed + self.floor).min(1.0)
    }

    /// How many of the newest rows to read first for `words` (the last a prefix when
    /// `last_is_prefix`): `max`, or none when even the rarest word is expected fewer than
    /// `page` times among `max` rows. Without statistics (a new or small table), `max`.
    pub(crate) fn window(&self, words: &[String], last_is_prefix: bool, page: i64, max: i64) -> i64 {
        if self.shares.is_empty() || words.is_empty() {
            return max;
        }
        let last = words.len() - 1;
        let rarest = words.iter().enumerate().map(|(i, w)| self.share(w, last_is_prefix && i == last)).fold(1.0_f32, f32::min);
        if f64::from(rarest) * (max as f64) < page as f64 { 0 } else { max }
    }
}

/// Both tables' shares, as last read.
#[derive(Debug, Default)]
pub(crate) struct SearchStats {
    pub messages: WordShares,
    pub notes: WordShares,
}

/// A node's copy of the statistics, read again every [`REFRESH`].
#[derive(Debug, Default)]
pub(crate) struct StatsCache {
    held: Mutex<Option<(Instant, Arc<SearchStats>)>>,
}

impl StatsCache {
    /// The statistics if they are fresh.
    pub(crate) fn fresh(&self) -> Option<Arc<SearchStats>> {
        let held = self.held.lock().expect("the stats lock is never poisoned");
        held.as_ref().filter(|(at, _)| at.elapsed() < REFRESH).map(|(_, s)| s.clone())
    }

    pub(crate) fn put(&self, stats: SearchStats) -> Arc<SearchStats> {
        let stats = Arc::new(stats);
        *self.held.lock().expect("the stats lock is never poisoned") = Some((Instant::now(), stats.clone()));
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares() -> WordShares {
        // Shares as Postgres lists them: each word's, then the least and the greatest. A target
        // of 1 lists at most 10 words: these 5 are all the words above the cut-off.
        let words = ["appointment", "refund", "refunded", "reschedule", "thanks"].map(String::from).to_vec();
        WordShares::from_stats(words, &[0.02, 0.01, 0.004, 0.03, 0.3, 0.004, 0.3], 1)
    }
    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn common_words_read_the_window_and_rare_ones_skip_it() {
        let s = shares();
        assert_eq!(s.window(&words(&["thanks"]), false, 26, 10_000), 10_000);
        // Two common words: each alone would fill pages, so the window is worth a try.
        assert_eq!(s.window(&words(&["reschedule", "appointment"]), false, 26, 10_000), 10_000);
        // A word not listed is below the cut-off, 0.315 % of rows here (a_prefix_… below).
        assert_eq!(s.window(&words(&["xylophone"]), false, 26, 10_000), 10_000, "31 expected in 10,000");
        assert_eq!(s.window(&words(&["xylophone"]), false, 26, 4_000), 0, "12 expected in 4,000: fewer than a page");
        assert_eq!(s.window(&words(&["thanks", "48213"]), false, 26, 4_000), 0, "the rarest word decides");
    }

    #[test]
    fn a_prefix_counts_every_listed_word_it_starts() {
        let s = shares();
        // The floor here: 9 × 1 word per row / bucket width (20 × 1000 / 7) = 0.315 %.
        assert!((s.share("refu", true) - 0.01715).abs() < 1e-6, "refund + refunded + the floor: {}", s.share("refu", true));
        assert!((s.share("zz", true) - 0.00315).abs() < 1e-6, "none listed: the floor");
        assert!((s.share("refu", false) - 0.00315).abs() < 1e-6, "a whole word: not listed");
    }

    #[test]
    fn a_short_list_puts_unlisted_words_far_below_the_least_listed() {
        // The default target (100) lists up to 1,000 words; 135 listed, about 9.5 per row: an
        // unlisted word is in at most 9 × 9.5 / 144,286 ≈ 0.06 % of rows, not the least listed 3.3 %.
        let listed: Vec<String> = (0..135).map(|i| format!("w{i:03}")).collect();
        let mut freqs = vec![0.07_f32; 135];
        freqs[134] = 0.033;
        freqs.extend([0.033, 0.07]);
        let s = WordShares::from_stats(listed, &freqs, 100);
        assert!((s.share("xylophone", false) - 0.000_59).abs() < 0.000_01, "{}", s.share("xylophone", false));
        assert_eq!(s.window(&words(&["xylophone"]), false, 21, 10_000), 0, "about 6 expected in 10,000");
        assert_eq!(s.window(&words(&["w001", "w002"]), false, 21, 10_000), 10_000, "both listed");
    }

    #[test]
    fn without_statistics_the_window_is_read() {
        let none = WordShares::from_stats(vec![], &[], 100);
        assert_eq!(none.window(&words(&["anything"]), true, 26, 10_000), 10_000);
        assert_eq!(shares().window(&[], false, 26, 10_000), 10_000);
    }
}
