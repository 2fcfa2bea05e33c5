//! How the agents' own requests fare, for the work that should yield to them. The edge records
//! the time each agent-facing API request took (`record`); the campaign runner reads and resets
//! the counts once a tick (`take`) and sends less while some were slow
//! (`rules::campaigns::next_share`): a campaign may use what the agents leave, never what they
//! need. Counters only: recording costs two atomic adds. `CAMPAIGN_YIELD_MS` sets what counts
//! as slow (25 ms by default; 0 turns yielding off).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What counts as slow by default: an agent's request slower than this was held up.
pub const SLOW: Duration = Duration::from_millis(25);

/// The node's agent requests since the last `take`.
pub struct AgentLoad {
    /// A request this slow or slower counts as slow; `None`: nothing does (no yielding).
    slow_after: Option<Duration>,
    requests: AtomicU64,
    slow: AtomicU64,
}

impl Default for AgentLoad {
    fn default() -> Self {
        AgentLoad::new(Some(SLOW))
    }
}

/// What `take` found: requests since the last one, and how many of them were slow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    pub requests: u64,
    pub slow: u64,
}

impl AgentLoad {
    pub fn new(slow_after: Option<Duration>) -> Self {
        AgentLoad { slow_after, requests: AtomicU64::new(0), slow: AtomicU64::new(0) }
    }

    /// Whether something that took `took` was held up (never, with yielding off).
    pub fn is_slow(&self, took: Duration) -> bool {
        self.slow_after.is_some_and(|slow| took >= slow)
    }

    /// One agent request that took `took`.
    pub fn record(&self, took: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if self.is_slow(took) {
            self.slow.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts since the last call, reset.
    pub fn take(&self) -> Sample {
        Sample { requests: self.requests.swap(0, Ordering::Relaxed), slow: self.slow.swap(0, Ordering::Relaxed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_and_the_slow_ones_then_starts_again() {
        let load = AgentLoad::default();
        load.record(Duration::from_millis(3));
        load.record(SLOW);
        load.record(Duration::from_millis(400));
        assert_eq!(load.take(), Sample { requests: 3, slow: 2 });
        assert_eq!(load.take(), Sample::default());
        let off = AgentLoad::new(None);
        off.record(Duration::from_secs(3));
        assert_eq!(off.take(), Sample { requests: 1, slow: 0 }, "yielding off: nothing is slow");
    }
}
