//! A per-node copy of small per-team answers (a setting, a count, a yes/no), trusted for a
//! fixed time. Several services read such an answer on a hot path (every customer message,
//! every open inbox) where asking Postgres each time would cost a statement per event; they keep
//! the answer here instead. A change made on this node replaces or forgets the entry at once;
//! another node's change is seen when the entry expires. Time is tokio's, so tests on paused
//! time control expiry.

use dashmap::DashMap;
use std::future::Future;
use std::hash::Hash;
use std::time::Duration;
use tokio::time::Instant;

/// Entries past which stale ones are swept on insert (keys nobody asks for again go then).
const SWEEP_ABOVE: usize = 10_000;

/// Answers per key, each trusted for `ttl` after it was read.
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: DashMap<K, (Instant, V)>,
}

impl<K: Eq + Hash + Copy, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache { ttl, entries: DashMap::new() }
    }

    /// The answer for `key` if it is fresh.
    pub fn fresh(&self, key: &K) -> Option<V> {
        self.entries.get(key).filter(|e| e.0.elapsed() < self.ttl).map(|e| e.1.clone())
    }

    /// Keeps `value` as the answer for `key` from now.
    pub fn put(&self, key: K, value: V) {
        if self.entries.len() > SWEEP_ABOVE {
            self.entries.retain(|_, e| e.0.elapsed() < self.ttl);
        }
        self.entries.insert(key, (Instant::now(), value));
    }

    /// Drops the answer for `key`: the next read loads it.
    pub fn forget(&self, key: &K) {
        self.entries.remove(key);
    }

    /// The fresh answer for `key`, or the one `load` gives (then kept). A failed load keeps
    /// nothing.
    pub async fn get_or_load<E, F, Fut>(&self, key: K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        if let Some(hit) = self.fresh(&key) {
            return Ok(hit);
        }
        let value = load().await?;
        self.put(key, value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_answer_serves_until_it_expires_and_a_forgotten_one_is_read_again() {
        let cache: TtlCache<u8, u32> = TtlCache::new(Duration::from_secs(5));
        let loads = std::sync::atomic::AtomicU32::new(0);
        let load = || async { Ok::<_, ()>(loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1) };
        assert_eq!(cache.get_or_load(1, load).await, Ok(1));
        assert_eq!(cache.get_or_load(1, load).await, Ok(1), "fresh: not loaded again");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(cache.get_or_load(1, load).await, Ok(2), "expired: loaded again");
        cache.forget(&1);
        assert_eq!(cache.fresh(&1), None);
        assert_eq!(cache.get_or_load(1, load).await, Ok(3));
        cache.put(1, 7);
        assert_eq!(cache.fresh(&1), Some(7), "a local change is seen at once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_load_keeps_nothing() {
        let cache: TtlCache<u8, u32> = TtlCache::new(Duration::from_secs(5));
        assert_eq!(cache.get_or_load(1, || async { Err::<u32, _>("down") }).await, Err("down"));
        assert_eq!(cache.fresh(&1), None);
    }
}
