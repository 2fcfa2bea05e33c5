//! A thread's scheduled messages, dispatched in batches and in order.
//!
//! The scheduler claims due messages many at a time and hands each thread its share in one
//! message (`ThreadMsg::Dispatch`), in due order. The actor queues them and runs at most one
//! batch send task at a time: the task loads the batch in one statement (`begin_sends`), asks
//! the carrier for each message in turn (so a thread's messages reach the carrier in the order
//! they were due), and reports the answers together; the actor records them in one statement
//! (`record_sends`), which gives their events consecutive seqs in that order, and then starts
//! the next batch with whatever was queued meanwhile. So a burst costs two statements per
//! thread and batch instead of two per message, and the actor stays the one writer of its
//! thread.
//!
//! Nothing is lost with a crashed actor: queued claims are given back when dropped (`Claim`),
//! and a batch's report dropped unhandled is told again to a fresh actor.

use super::send::{deliver_loaded, retell_after};
use super::{Claim, ThreadCtx, ThreadMsg, ThreadState, crash_reason};
use crate::ids::*;
use crate::ports::SendOutcome;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

/// Most claims one batch task takes; the rest wait for the next batch.
const MAX_BATCH: usize = 256;
/// A batch whose carrier requests take long reports what it has after this long, so answers
/// are recorded (and seen) promptly even when the carrier is slow.
const REPORT_EVERY: Duration = Duration::from_millis(100);

/// A batch task's answers on their way to the thread actor, in the order the carrier was asked;
/// `last` when the task is over. Dropped unhandled (the actor crashed with it queued), it is
/// told again, so no carrier answer is lost silently.
pub struct BatchReport {
    results: Vec<(MessageId, SendOutcome)>,
    last: bool,
    attempt: u32,
    retell: Option<(Arc<ThreadCtx>, ThreadId)>,
}

impl BatchReport {
    fn take(mut self) -> (Vec<(MessageId, SendOutcome)>, bool, u32) {
        self.retell = None;
        (std::mem::take(&mut self.results), self.last, self.attempt)
    }
}

impl Drop for BatchReport {
    fn drop(&mut self) {
        if let Some((ctx, thread)) = self.retell.take() {
            let results = std::mem::take(&mut self.results);
            retell_batch(ctx, thread, results, self.last, self.attempt + 1);
        }
    }
}

/// Tells a batch's answers again after a pause (see `send::retell`).
fn retell_batch(ctx: Arc<ThreadCtx>, thread: ThreadId, results: Vec<(MessageId, SendOutcome)>, last: bool, attempt: u32) {
    let what = format!("{} answers", results.len());
    retell_after(ctx.clone(), attempt, &what, async move {
        report_batch(ctx, thread, results, last, attempt).await;
    });
}

/// Hands a batch's answers to the thread actor, starting a fresh actor if ours is gone.
async fn report_batch(ctx: Arc<ThreadCtx>, thread: ThreadId, results: Vec<(MessageId, SendOutcome)>, last: bool, attempt: u32) {
    let n = results.len();
    let msg = ThreadMsg::SendsFinished(BatchReport { results, last, attempt, retell: Some((ctx.clone(), thread)) });
    // A failure to hand it over drops the report, which tells it again.
    if let Err(e) = ctx.registry.cast(thread, msg).await {
        tracing::warn!(%thread, answers = n, error = %e, attempt, "could not hand a batch's send results to its thread");
    }
}

impl ThreadState {
    /// Queues the scheduler's claims (in due order) and starts a batch unless one is running.
    pub(super) fn queue_claims(&mut self, claims: Vec<Claim>) {
        if self.due.is_empty() {
            self.due_touched = Instant::now();
        }
        self.due.extend(claims);
        self.start_batch();
    }

    /// Starts the next batch send task with what is queued (nothing when one is running: the
    /// thread's messages reach the carrier one batch after another, in order).
    pub(super) fn start_batch(&mut self) {
        if self.dispatching || self.due.is_empty() {
            return;
        }
        let take = self.due.len().min(MAX_BATCH);
        let claims: Vec<(MessageId, Option<OwnedSemaphorePermit>)> = self.due.drain(..take).map(Claim::take).collect();
        self.dispatching = true;
        self.sending += 1;
        let ctx = self.ctx.clone();
        let thread = self.id;
        self.ctx.tasks.spawn(send_batch(ctx, thread, claims));
    }

    /// A batch task reported: records its answers in one statement, and when the task is over
    /// starts the next batch. Says whether the actor should crash (the answers are told again).
    pub(super) async fn batch_reported(&mut self, report: BatchReport) -> Option<String> {
        let (results, last, attempt) = report.take();
        if last {
            self.dispatching = false;
            self.sending = self.sending.saturating_sub(1);
        }
        let mut crash = None;
        if !results.is_empty() {
            match self.ctx.store.record_sends(self.id, results.clone()).await {
                Ok(Some(committed)) => {
                    self.apply(committed);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(thread = %self.id, error = %e, attempt, "could not record a batch's send results; they will be told again");
                    retell_batch(self.ctx.clone(), self.id, results, false, attempt + 1);
                    crash = crash_reason(&e);
                }
            }
        }
        // A crash gives the queued claims back (dropped with the actor's state).
        if last && crash.is_none() {
            self.start_batch();
        }
        crash
    }

    /// Keeps the claims queued behind a long batch (a sender's budget can hold one for minutes)
    /// fresh, so the stale sweep never takes them for sends whose process died. Called on tick.
    pub(super) fn refresh_queued(&mut self) {
        let refresh = (self.ctx.config.stale_after / 3).max(Duration::from_millis(100));
        if self.due.is_empty() || self.due_touched.elapsed() < refresh {
            return;
        }
        self.due_touched = Instant::now();
        let queued: Vec<MessageId> = self.due.iter().map(Claim::message).collect();
        let store = self.ctx.store.clone();
        self.ctx.tasks.spawn(async move {
            for m in queued {
                // One the sweep failed meanwhile is skipped when its batch loads it.
                let _ = store.touch_claim(m).await;
            }
        });
    }
}

/// One batch: loads its messages in one statement, asks the carrier for each in turn (checks,
/// the sender's budget, the carrier, as `deliver` does for one), frees each one's send slot
/// when the carrier has answered, and reports the answers in order. At shutdown the messages
/// not yet sent are given back for any node to send.
async fn send_batch(ctx: Arc<ThreadCtx>, thread: ThreadId, claims: Vec<(MessageId, Option<OwnedSemaphorePermit>)>) {
    let ids: Vec<MessageId> = claims.iter().map(|(m, _)| *m).collect();
    let mut slots: HashMap<MessageId, Option<OwnedSemaphorePermit>> = claims.into_iter().collect();
    let loaded = match ctx.store.begin_sends(&ids).await {
        Ok(loaded) => loaded,
        Err(e) => {
            slots.clear();
            let reason = format!("could not load the message: {e}");
            let failed = ids.into_iter().map(|m| (m, SendOutcome::Failed { code: None, reason: reason.clone() })).collect();
            report_batch(ctx, thread, failed, true, 0).await;
            return;
        }
    };
    // Those not loaded no longer wait for the carrier (the sweep failed them): not sent.
    slots.retain(|m, _| loaded.iter().any(|o| o.message.id == *m));
    let order: Vec<MessageId> = loaded.iter().map(|o| o.message.id).collect();
    let refresh = (ctx.config.stale_after / 3).max(Duration::from_millis(100));
    let mut touched = Instant::now();
    let mut gone: Vec<MessageId> = Vec::new();
    let mut results = Vec::with_capacity(loaded.len());
    let mut reported_at = Instant::now();
    for (i, out) in loaded.into_iter().enumerate() {
        let message = out.message.id;
        if ctx.shutdown.is_cancelled() {
            // Not sent, and this node is going away: any node may send them.
            for m in &order[i..] {
                if let Err(e) = ctx.store.unclaim(*m).await {
                    tracing::error!(message = %m, error = %e, "could not give back an unsent message; the sweep will fail it");
                }
            }
            break;
        }
        // A long batch (a slow carrier, the sender's budget) keeps the claims still to send
        // fresh, so the stale sweep does not take them for sends whose process died; one the
        // sweep failed meanwhile is never sent.
        if touched.elapsed() >= refresh {
            touched = Instant::now();
            for m in &order[i..] {
                if !ctx.store.touch_claim(*m).await.unwrap_or(false) {
                    gone.push(*m);
                }
            }
        }
        if gone.contains(&message) {
            slots.remove(&message);
            continue;
        }
        let outcome = deliver_loaded(&ctx, out, &order[i + 1..]).await;
        slots.remove(&message);
        if let Some(outcome) = outcome {
            results.push((message, outcome));
        }
        if !results.is_empty() && reported_at.elapsed() >= REPORT_EVERY && i + 1 < order.len() {
            report_batch(ctx.clone(), thread, std::mem::take(&mut results), false, 0).await;
            reported_at = Instant::now();
        }
    }
    drop(slots);
    report_batch(ctx, thread, results, true, 0).await;
}
