//! The core's clock: wall-clock time, except under tokio's paused time (the actor tests), where it
//! moves only as the test moves tokio's clock. So a message scheduled ten seconds ahead falls due
//! when a test advances time by ten seconds, not ten real seconds later. Every "now" the core
//! compares with a stored time comes from here.
//!
//! In a running server tokio's clock and the OS's monotonic clock move together, and this is
//! plain `OffsetDateTime::now_utc()`: a wall clock that jumps (NTP, a resumed VM) is followed.

use std::sync::OnceLock;
use time::OffsetDateTime;

/// Wall-clock time, tokio's instant and the OS's instant, read together at first use.
static ANCHOR: OnceLock<(OffsetDateTime, tokio::time::Instant, std::time::Instant)> = OnceLock::new();

/// How far tokio's clock may run apart from the OS's before we take it for paused time.
const PAUSED: std::time::Duration = std::time::Duration::from_millis(500);

/// Now.
pub fn now() -> OffsetDateTime {
    if tokio::runtime::Handle::try_current().is_err() {
        return OffsetDateTime::now_utc();
    }
    let (wall, tokio_at, os_at) =
        *ANCHOR.get_or_init(|| (OffsetDateTime::now_utc(), tokio::time::Instant::now(), std::time::Instant::now()));
    let tokio_moved = tokio::time::Instant::now().saturating_duration_since(tokio_at);
    let os_moved = std::time::Instant::now().saturating_duration_since(os_at);
    if tokio_moved.abs_diff(os_moved) < PAUSED {
        return OffsetDateTime::now_utc();
    }
    wall + tokio_moved
}
