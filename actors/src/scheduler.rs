//! SchedulerActor: dispatches scheduled messages when they fall due.
//!
//! It keeps one timer, for the soonest due message it knows of; it learns of new ones from this
//! node's thread actors (`Due`) and, for messages scheduled through other nodes, by polling. When
//! the timer fires it claims due rows in Postgres, many in one statement, and hands each thread
//! its share in one message, in due order (the thread sends and records them as a batch:
//! `thread/dispatch.rs`).
//!
//! The claim is the one write to a thread's state outside its actor, on purpose: a
//! `FOR UPDATE SKIP LOCKED` update that moves due rows from `scheduled` to `sending`, so several
//! nodes never dispatch one message twice. Everything after it (the carrier's answer, its event,
//! failing a send whose outcome is unknown) is committed by the thread's actor.

use crate::error::DomainResult;
use crate::ids::{MessageId, ThreadId};
use crate::ports::{Claimed, ScheduleStore};
use async_trait::async_trait;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

/// What the scheduler does.
pub enum SchedulerMsg {
    /// A message is due at this instant (sent by this node's thread actors).
    Due(OffsetDateTime),
    /// Timer: claim and dispatch what is due.
    Wake,
    /// Periodic: look for messages scheduled elsewhere, and sweep sends whose outcome is unknown.
    Poll,
}

/// Where claimed messages go: the thread actors (the threads service implements it).
#[async_trait]
pub trait Dispatcher: Send + Sync {
    /// Hands a thread the messages claimed for it, in due order, in one message to its actor;
    /// `slots` holds one permit per message, each kept until the carrier answers it. Claims
    /// that reach no actor (or die in one's mailbox) are given back by the dispatcher.
    async fn dispatch(&self, thread: ThreadId, messages: Vec<MessageId>, slots: OwnedSemaphorePermit) -> DomainResult<()>;
    /// Tells a thread that one of its sends has waited for the carrier since before `cutoff`: its
    /// process died, so the outcome is unknown and the actor fails it (never sends it twice).
    async fn fail_unknown(&self, thread: ThreadId, message: MessageId, cutoff: OffsetDateTime) -> DomainResult<()>;
    /// Tells a thread its snooze is over: its actor opens it (once, whichever node gets there
    /// first) and tells the assignee.
    async fn wake(&self, thread: ThreadId) -> DomainResult<()>;
}

/// What the scheduler needs.
pub struct SchedulerCtx {
    pub store: Arc<dyn ScheduleStore>,
    pub dispatcher: Arc<dyn Dispatcher>,
    /// Follow-ups that came due, claimed once across nodes, and whom to tell.
    pub reminders: Arc<dyn crate::ports::FollowUpReminders>,
    pub notifications: Arc<crate::notifications::Notifications>,
    /// The node's slots for sends in flight (see `SendGuard::slots`).
    pub slots: Arc<Semaphore>,
    /// How often to look for messages scheduled through other nodes.
    pub poll: Duration,
    /// A send waiting this long for the carrier is taken for lost.
    pub stale_after: Duration,
}

/// A pending `send_after`, abortable when an earlier wake replaces it.
type Timer = JoinHandle<Result<(), ractor::MessagingErr<SchedulerMsg>>>;

/// The scheduler's state: the one armed timer.
pub struct SchedulerState {
    ctx: Arc<SchedulerCtx>,
    next_wake: Option<(OffsetDateTime, Timer)>,
}

/// The actor; its state is [`SchedulerState`].
pub struct SchedulerActor;

/// How many rows one claim takes at most; a wake claims until a batch comes back short.
const CLAIM_BATCH: i64 = 500;
/// When every send slot is busy, how soon to look again (no query until a slot is free: a burst
/// is claimed again as soon as its first sends are answered).
const BUSY_RETRY: time::Duration = time::Duration::milliseconds(10);
/// Stale sends swept per poll.
const SWEEP_BATCH: i64 = 500;

#[ractor::async_trait]
impl Actor for SchedulerActor {
    type Msg = SchedulerMsg;
    type State = SchedulerState;
    type Arguments = Arc<SchedulerCtx>;

    async fn pre_start(&self, myself: ActorRef<SchedulerMsg>, ctx: Arc<SchedulerCtx>) -> Result<SchedulerState, ActorProcessingErr> {
        myself.send_interval(ctx.poll, || SchedulerMsg::Poll);
        // Load what is due soon right away (and dispatch what fell due while we were down).
        let _ = myself.cast(SchedulerMsg::Poll);
        Ok(SchedulerState { ctx, next_wake: None })
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
                state.sweep_stale().await;
                state.wake_snoozed().await;
                state.remind_follow_ups().await;
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
        let delay = (at - crate::clock::now()).try_into().unwrap_or(Duration::ZERO);
        let timer = myself.send_after(delay, || SchedulerMsg::Wake);
        self.next_wake = Some((at, timer));
    }

    /// Arms the timer for the soonest message due before the next poll (plus a margin).
    async fn arm_next(&mut self, myself: &ActorRef<SchedulerMsg>) {
        let horizon = crate::clock::now() + self.ctx.poll * 2;
        match self.ctx.store.due_before(horizon, 1).await {
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
            let free = self.ctx.slots.available_permits().min(CLAIM_BATCH as usize);
            let permits = match free {
                0 => None,
                n => self.ctx.slots.clone().try_acquire_many_owned(n as u32).ok(),
            };
            let Some(mut permits) = permits else {
                // Every slot is busy: look again shortly.
                self.arm(myself, crate::clock::now() + BUSY_RETRY);
                return;
            };
            let claimed = match self.ctx.store.claim_due(crate::clock::now(), free as i64).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "scheduler could not claim due messages");
                    return;
                }
            };
            let n = claimed.len();
            for (thread, messages) in by_thread(claimed) {
                let slots = permits.split(messages.len()).expect("one permit per claimed row");
                let count = messages.len();
                if let Err(e) = self.ctx.dispatcher.dispatch(thread, messages, slots).await {
                    // Nobody got them, so nothing was sent: the dispatcher gives the claims back
                    // (the next wake, here or on another node, sends them).
                    tracing::error!(%thread, messages = count, error = %e, "could not hand due messages to their thread");
                }
            }
            if n < free {
                return;
            }
        }
    }

    /// Hands the threads whose snooze is over to their actors (every poll, so within one poll
    /// interval of the end; each node may find the same thread: the actor's conditional write
    /// opens it once).
    async fn wake_snoozed(&mut self) {
        let due = match self.ctx.store.due_snoozes(crate::clock::now(), SWEEP_BATCH).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "scheduler could not look for snoozes that ended");
                return;
            }
        };
        for thread in due {
            if let Err(e) = self.ctx.dispatcher.wake(thread).await {
                tracing::warn!(%thread, error = %e, "could not wake a snoozed thread; the next poll tries again");
            }
        }
    }

    /// Tells the people whose follow-ups came due (every poll: within one poll interval of the
    /// due time; the claim takes each one on one node, the notification's key keeps it single).
    async fn remind_follow_ups(&mut self) {
        let due = match self.ctx.reminders.claim_due_reminders(crate::clock::now(), SWEEP_BATCH).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "scheduler could not look for follow-ups that came due");
                return;
            }
        };
        self.ctx.notifications.tell(due.iter().filter_map(crate::rules::notifications::follow_up_due).collect());
    }

    /// Finds sends whose outcome is unknown (left behind by a crash) and has their threads fail
    /// them.
    async fn sweep_stale(&mut self) {
        let cutoff = crate::clock::now() - self.ctx.stale_after;
        let stale = match self.ctx.store.stale_sends(cutoff, SWEEP_BATCH).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "scheduler could not look for stale sends");
                return;
            }
        };
        for (thread, message) in stale {
            if let Err(e) = self.ctx.dispatcher.fail_unknown(thread, message, cutoff).await {
                tracing::warn!(%message, error = %e, "could not fail a stale send; the next sweep tries again");
            }
        }
    }
}

/// A claim's rows grouped by thread, each thread's in the claim's (due) order, threads in the
/// order of their first due message; records each row's dispatch delay.
fn by_thread(claimed: Vec<Claimed>) -> Vec<(ThreadId, Vec<MessageId>)> {
    let now = crate::clock::now();
    let mut groups: Vec<(ThreadId, Vec<MessageId>)> = Vec::new();
    let mut index: std::collections::HashMap<ThreadId, usize> = std::collections::HashMap::new();
    for c in claimed {
        metrics::histogram!("switchboard_dispatch_delay_seconds").record((now - c.scheduled_at).as_seconds_f64());
        let i = *index.entry(c.thread).or_insert_with(|| {
            groups.push((c.thread, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(c.message);
    }
    groups
}

/// This node's scheduler, as the thread actors and the supervisor see it.
///
/// It keeps its context only weakly: the context reaches the thread actors, which hold this
/// `Schedule`, so a strong reference here would be a cycle that keeps the store's pool (and its
/// open connections) alive after the core is gone. The core owns the context.
#[derive(Default)]
pub struct Schedule {
    actor: Mutex<Option<ActorRef<SchedulerMsg>>>,
    ctx: std::sync::OnceLock<std::sync::Weak<SchedulerCtx>>,
}

impl Schedule {
    /// Tells the scheduler that a message is due at `at` (so it need not wait for its poll).
    pub fn due(&self, at: OffsetDateTime) {
        if let Some(s) = self.actor.lock().expect("scheduler lock").as_ref() {
            let _ = s.cast(SchedulerMsg::Due(at));
        }
    }

    /// Starts the scheduler under `supervisor`; the caller keeps `ctx` alive as long as it runs.
    pub async fn start(&self, ctx: &Arc<SchedulerCtx>, supervisor: ActorCell) {
        let _ = self.ctx.set(Arc::downgrade(ctx));
        self.restart(supervisor).await;
    }

    /// Starts the scheduler again after it failed (nothing on a node that runs none, or whose
    /// core is gone).
    pub async fn restart(&self, supervisor: ActorCell) {
        let Some(ctx) = self.ctx.get().and_then(std::sync::Weak::upgrade) else { return };
        match Actor::spawn_linked(None, SchedulerActor, ctx, supervisor).await {
            Ok((actor, _)) => *self.actor.lock().expect("scheduler lock") = Some(actor),
            Err(e) => tracing::error!(error = %e, "scheduler did not start"),
        }
    }

    /// Whether `cell` is the scheduler.
    pub fn is(&self, cell: &ActorCell) -> bool {
        self.actor.lock().expect("scheduler lock").as_ref().is_some_and(|s| s.get_id() == cell.get_id())
    }

    /// Stops the scheduler and waits for it: no new claims from here on.
    pub async fn stop(&self) {
        let actor = self.actor.lock().expect("scheduler lock").take();
        if let Some(actor) = actor {
            let _ = actor.stop_and_wait(None, Some(Duration::from_secs(5))).await;
        }
    }
}
