//! The send guard: every rule between "an agent pressed send" and "the carrier got it" that is
//! not about one thread: the trial guard (verified numbers only), opt-out, one rate budget per
//! sender as Twilio counts it, and the node's slots for scheduled sends in flight.

use crate::domain::Channel;
use crate::error::{DomainError, DomainResult};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Rules and budgets for outbound messages on this node.
pub struct SendGuard {
    limiter: DefaultKeyedRateLimiter<String>,
    /// Scheduled sends this node may have with the carrier at once; the rest wait in Postgres,
    /// where another node may claim them.
    pub slots: Arc<Semaphore>,
    /// Trial guard: when set, only these E.164 numbers may be sent to.
    verified: Option<HashSet<String>>,
}

impl SendGuard {
    /// `per_second` messages per sender, `concurrency` scheduled sends in flight.
    pub fn new(per_second: u32, concurrency: usize, verified: Option<HashSet<String>>) -> Self {
        let rate = NonZeroU32::new(per_second.max(1)).expect("max(1)");
        SendGuard { limiter: RateLimiter::keyed(Quota::per_second(rate)), slots: Arc::new(Semaphore::new(concurrency.max(1))), verified }
    }

    /// Whether `to` may get a message at all: not opted out, and verified when the trial guard
    /// is on.
    pub fn allows(&self, to: &str, opted_out: bool) -> DomainResult<()> {
        if opted_out {
            return Err(DomainError::OptedOut);
        }
        match &self.verified {
            Some(set) if !set.contains(to) => Err(DomainError::NotVerified(to.to_owned())),
            _ => Ok(()),
        }
    }

    /// Waits until `channel`'s sender has budget for one more message.
    pub async fn until_ready(&self, channel: &Channel) {
        self.limiter.until_key_ready(&sender_key(channel)).await;
    }

    /// Forgets the budgets of senders that were quiet for a while (governor keeps a key each).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}

/// One budget per sender as Twilio counts it: the messaging service, else the number on this
/// channel kind (an SMS burst must not slow the same number's WhatsApp).
pub fn sender_key(channel: &Channel) -> String {
    match &channel.messaging_service_sid {
        Some(service) => service.clone(),
        None => format!("{}:{}", channel.kind, channel.number),
    }
}

/// The carrier code and reason a guard refusal is recorded with when a send is refused at
/// dispatch time (Twilio's own codes for the same refusals).
pub fn refusal_code(e: &DomainError) -> Option<i32> {
    match e {
        DomainError::OptedOut => Some(21610),
        DomainError::NotVerified(_) => Some(21608),
        _ => None,
    }
}
