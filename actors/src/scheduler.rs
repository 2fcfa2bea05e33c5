//! SchedulerActor: dispatches scheduled messages when they fall due.
//!
//! It keeps one timer, for the soonest due message it knows of; it learns of new ones from this
//! node's thread actors (`Due`) and, for messages scheduled through other nodes, by polling. When
//! a timer fires it claims due rows in Postgres (`FOR UPDATE SKIP LOCKED`, moving them to
//! `sending`), so several nodes never dispatch one message twice, and hands each to its thread
//! actor. It also fails messages stuck in `sending` after a crash: their outcome is unknown, so
//! sending them again could send twice.

use crate::core::Core;
use crate::thread::ThreadMsg;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

/// What the scheduler does.
pub enum SchedulerMsg {
    /// A message is due at this instant (sent by this node's thread actors).
    Due(OffsetDateTime),
    /// Timer: claim and dispatch what is due.
    Wake,
    /// Periodic: look for messages scheduled elsewhere, and fail stale sends.
    Poll,
}

/// A pending `send_after`, abortable when an earlier wake replaces it.
type Timer = JoinHandle<Result<(), ractor::MessagingErr<SchedulerMsg>>>;

/// The scheduler's state: the one armed timer.
pub struct SchedulerState {
    core: Arc<Core>,
    next_wake: Option<(OffsetDateTime, Timer)>,
}

/// The actor; its state is [`SchedulerState`].
pub struct SchedulerActor;

/// How many rows one claim takes at most; a wake claims until a batch comes back short.
const CLAIM_BATCH: i64 = 500;
/// When every send slot is busy, how soon to look again.
const BUSY_RETRY: time::Duration = time::Duration::milliseconds(50);

#[ractor::async_trait]
impl Actor for SchedulerActor {
    type Msg = SchedulerMsg;
    type State = SchedulerState;
    type Arguments = Arc<Core>;

    async fn pre_start(&self, myself: ActorRef<SchedulerMsg>, core: Arc<Core>) -> Result<SchedulerState, ActorProcessingErr> {
        myself.send_interval(core.config.scheduler_poll, || SchedulerMsg::Poll);
        // Load what is due soon right away (and dispatch what fell due while we were down).
        let _ = myself.cast(SchedulerMsg::Poll);
        Ok(SchedulerState { core, next_wake: None })
    }

    async fn handle(
        &self,
        myself: ActorRef<SchedulerMsg>,
        msg: SchedulerMsg,
        state: &mut SchedulerState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SchedulerMsg::Due(at) => state.arm(&myself, at),
            SchedulerMsg::Wake => {
                state.next_wake = None;
                state.dispatch_due(&myself).await;
                state.arm_next(&myself).await;
            }
            SchedulerMsg::Poll => {
                state.fail_stale().await;
                state.arm_next(&myself).await;
            }
        }
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<SchedulerMsg>, state: &mut SchedulerState) -> Result<(), ActorProcessingErr> {
        if let Some((_, timer)) = state.next_wake.take() {
            timer.abort();
        }
        Ok(())
    }
}

impl SchedulerState {
    /// Arms the timer for `at` unless one is already armed sooner.
    fn arm(&mut self, myself: &ActorRef<SchedulerMsg>, at: OffsetDateTime) {
        if let Some((armed, _)) = &self.next_wake
            && *armed <= at
        {
            return;
        }
        if let Some((_, timer)) = self.next_wake.take() {
            timer.abort();
        }
        let delay = (at - OffsetDateTime::now_utc()).try_into().unwrap_or(Duration::ZERO);
        let timer = myself.send_after(delay, || SchedulerMsg::Wake);
        self.next_wake = Some((at, timer));
    }

    /// Arms the timer for the soonest message due before the next poll (plus a margin).
    async fn arm_next(&mut self, myself: &ActorRef<SchedulerMsg>) {
        let horizon = OffsetDateTime::now_utc() + self.core.config.scheduler_poll * 2;
        match self.core.store.due_before(horizon, 1).await {
            Ok(due) => {
                if let Some((_, at)) = due.first() {
                    self.arm(myself, *at);
                }
            }
            Err(e) => tracing::warn!(error = %e, "scheduler could not read due messages"),
        }
    }

    /// Claims due messages and hands each to its thread actor, as many as this node has free
    /// send slots for: the scheduler never waits, and what this node cannot send now stays in
    /// Postgres for another node (or the next wake) to claim.
    async fn dispatch_due(&mut self, myself: &ActorRef<SchedulerMsg>) {
        loop {
            let free = self.core.send_slots.available_permits().min(CLAIM_BATCH as usize);
            let permits = match free {
                0 => None,
                n => self.core.send_slots.clone().try_acquire_many_owned(n as u32).ok(),
            };
            let Some(mut permits) = permits else {
                // Every slot is busy: look again shortly.
                self.arm(myself, OffsetDateTime::now_utc() + BUSY_RETRY);
                return;
            };
            let claimed = match self.core.store.claim_due(OffsetDateTime::now_utc(), free as i64).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "scheduler could not claim due messages");
                    return;
                }
            };
            let n = claimed.len();
            for c in claimed {
                let delay = OffsetDateTime::now_utc() - c.scheduled_at;
                tracing::debug!(message = %c.message, delay_ms = delay.whole_milliseconds(), "dispatching");
                metrics::histogram!("switchboard_dispatch_delay_seconds").record(delay.as_seconds_f64());
                let slot = permits.split(1);
                if let Err(e) = self.core.tell_thread(c.thread, ThreadMsg::Dispatch { message: c.message, slot }).await {
                    // Nobody got it, so nothing was sent: put it back for the next wake.
                    tracing::error!(message = %c.message, error = %e, "could not hand a due message to its thread");
                    if let Err(e) = self.core.store.unclaim(c.message).await {
                        tracing::error!(message = %c.message, error = %e, "could not put a message back; the sweep will fail it");
                    }
                }
            }
            if n < free {
                return;
            }
        }
    }

    /// Fails sends whose outcome is unknown (left behind by a crash) and tells the threads.
    async fn fail_stale(&mut self) {
        let cutoff = OffsetDateTime::now_utc() - self.core.config.stale_sending_after;
        match self.core.store.fail_stale(cutoff).await {
            Ok(failed) => {
                for committed in failed {
                    self.core.fan_out(&committed, false);
                }
            }
            Err(e) => tracing::warn!(error = %e, "scheduler could not sweep stale sends"),
        }
    }
}
