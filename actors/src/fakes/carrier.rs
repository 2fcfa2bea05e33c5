//! A fake carrier: what Twilio would be asked, recorded, so tests can count sends exactly; each
//! request answers a fresh sid after an optional delay (`tokio::time::sleep`, so paused time
//! applies), or the next scripted refusal.

use crate::ports::{Carrier, CarrierError, CarrierRequest};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Records every request; answers `Ok(sid)` or a scripted [`CarrierError`].
#[derive(Default)]
pub struct FakeCarrier {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    requests: Vec<CarrierRequest>,
    /// When each request arrived, by the wall clock (what due times are compared with).
    received_at: Vec<time::OffsetDateTime>,
    refusals: VecDeque<CarrierError>,
    delay: Option<Duration>,
    /// Delays for the next requests, one each, before falling back to `delay`.
    delays: VecDeque<Duration>,
    answers: Vec<Result<String, CarrierError>>,
}

impl FakeCarrier {
    /// A carrier that accepts everything at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every request waits `delay` before it is answered (`None`: answer at once).
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.lock().delay = delay;
    }

    /// The next requests wait these delays, one each, in order (then `set_delay`'s again).
    pub fn delay_next(&self, delays: impl IntoIterator<Item = Duration>) {
        self.lock().delays.extend(delays);
    }

    /// The next request is refused with `error` (refusals queue up, one per request).
    pub fn refuse_next(&self, error: CarrierError) {
        self.lock().refusals.push_back(error);
    }

    /// How many requests were received (answered or still waiting).
    pub fn count(&self) -> usize {
        self.lock().requests.len()
    }

    /// How many requests were answered.
    pub fn answered(&self) -> usize {
        self.lock().answers.len()
    }

    /// The sids given out, in order.
    pub fn sids(&self) -> Vec<String> {
        self.lock().answers.iter().filter_map(|a| a.as_ref().ok().cloned()).collect()
    }

    /// When each request arrived, by the wall clock, in order.
    pub fn received_at(&self) -> Vec<time::OffsetDateTime> {
        self.lock().received_at.clone()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<CarrierRequest> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Carrier for FakeCarrier {
    async fn send(&self, req: CarrierRequest) -> Result<String, CarrierError> {
        let delay = {
            let mut inner = self.lock();
            inner.requests.push(req);
            inner.received_at.push(crate::clock::now());
            inner.delays.pop_front().or(inner.delay)
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let mut inner = self.lock();
        let answer = match inner.refusals.pop_front() {
            Some(error) => Err(error),
            None => Ok(format!("SM{}", uuid::Uuid::new_v4().simple())),
        };
        inner.answers.push(answer.clone());
        answer
    }
}
