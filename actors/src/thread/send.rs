//! A thread's send tasks: what runs off the actor between "stored" and "the carrier answered"
//! (opt-out and trial guard against Postgres, the sender's rate budget, the carrier), and the
//! messages that carry a claim or a result back to an actor, which are never lost with a
//! crashed actor's mailbox: a claim dropped unhandled is given back, a result is told again.

use super::{ThreadCtx, ThreadMsg};
use crate::ids::*;
use crate::ports::*;
use crate::rules;
use crate::send_guard;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

/// How many times a send's result is told before it is given up on (and logged as lost).
const REPORT_ATTEMPTS: u32 = 8;

/// A claimed message on its way to its thread actor. If the actor's mailbox is dropped before
/// the actor takes it (the actor crashed with it queued), the message was never sent: its claim
/// is given back for any node to send, instead of waiting for the sweep to fail it.
pub struct Claim {
    message: MessageId,
    slot: Option<OwnedSemaphorePermit>,
    give_back: Option<Arc<ThreadCtx>>,
}

impl Claim {
    /// A claim that `ctx` gives back if it is dropped unhandled.
    pub fn new(ctx: Arc<ThreadCtx>, message: MessageId, slot: Option<OwnedSemaphorePermit>) -> Claim {
        Claim { message, slot, give_back: Some(ctx) }
    }

    pub(super) fn message(&self) -> MessageId {
        self.message
    }

    pub(super) fn take(mut self) -> (MessageId, Option<OwnedSemaphorePermit>) {
        self.give_back = None;
        (self.message, self.slot.take())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(ctx) = self.give_back.take() {
            let message = self.message;
            tracing::warn!(%message, "a dispatch was dropped with its actor: the claim is given back");
            let store = ctx.store.clone();
            ctx.tasks.spawn(async move {
                if let Err(e) = store.unclaim(message).await {
                    tracing::error!(%message, error = %e, "could not give back a claim; the sweep will fail it");
                }
            });
        }
    }
}

/// A send task's result on its way to its thread actor. If it is dropped unhandled (the actor
/// crashed with it queued), it is told again, so a carrier's answer is never lost silently.
pub struct SendReport {
    message: MessageId,
    outcome: Option<SendOutcome>,
    attempt: u32,
    retell: Option<(Arc<ThreadCtx>, ThreadId)>,
}

impl SendReport {
    pub(super) fn take(mut self) -> (MessageId, Option<SendOutcome>, u32) {
        self.retell = None;
        (self.message, self.outcome.take(), self.attempt)
    }
}

impl Drop for SendReport {
    fn drop(&mut self) {
        if let Some((ctx, thread)) = self.retell.take() {
            retell(ctx, thread, self.message, self.outcome.take(), self.attempt + 1);
        }
    }
}

/// Tells a send's result again after a pause (an owned task), or gives up loudly after
/// `REPORT_ATTEMPTS`: the message then stays waiting and the sweep fails it as "outcome
/// unknown", unless a status callback naming it repairs it first.
pub(super) fn retell(ctx: Arc<ThreadCtx>, thread: ThreadId, message: MessageId, outcome: Option<SendOutcome>, attempt: u32) {
    if attempt >= REPORT_ATTEMPTS {
        metrics::counter!("switchboard_send_results_lost_total").increment(1);
        tracing::error!(%message, %thread, ?outcome, "LOST a carrier answer after {attempt} attempts: the message will be failed as outcome unknown unless a status callback repairs it");
        return;
    }
    let tasks = ctx.tasks.clone();
    tasks.spawn(async move {
        tokio::time::sleep(Duration::from_millis(100) * 2u32.pow(attempt.min(6))).await;
        report(ctx, thread, message, outcome, attempt).await;
    });
}

/// Runs `tell` (telling send results again) after a pause, as an owned task, or gives up loudly
/// after `REPORT_ATTEMPTS` (see [`retell`]); `what` names the results in the log.
pub(super) fn retell_after(ctx: Arc<ThreadCtx>, attempt: u32, what: &str, tell: impl Future<Output = ()> + Send + 'static) {
    if attempt >= REPORT_ATTEMPTS {
        metrics::counter!("switchboard_send_results_lost_total").increment(1);
        tracing::error!(
            what,
            "LOST carrier answers after {attempt} attempts: their messages will be failed as outcome unknown unless status callbacks repair them"
        );
        return;
    }
    ctx.tasks.spawn(async move {
        tokio::time::sleep(Duration::from_millis(100) * 2u32.pow(attempt.min(6))).await;
        tell.await;
    });
}

/// Tells the thread actor how a send ended, starting a fresh actor if ours is gone.
pub(super) async fn report(ctx: Arc<ThreadCtx>, thread: ThreadId, message: MessageId, outcome: Option<SendOutcome>, attempt: u32) {
    let msg = ThreadMsg::SendFinished(SendReport { message, outcome, attempt, retell: Some((ctx.clone(), thread)) });
    // A failure to hand it over drops the report, which tells it again.
    if let Err(e) = ctx.registry.cast(thread, msg).await {
        tracing::warn!(%message, %thread, error = %e, attempt, "could not hand a send result to its thread");
    }
}

/// Checks a message against opt-out and the trial guard, waits for the sender's rate budget and
/// asks the carrier. Runs outside the actor. `None` when nothing was sent and nothing is to be
/// recorded: the sweep failed the message meanwhile, or the node is stopping (the message is put
/// back for any node to send).
pub(super) async fn deliver(ctx: &ThreadCtx, message: MessageId) -> Option<SendOutcome> {
    match ctx.store.begin_send(message).await {
        Ok(Some(out)) => deliver_loaded(ctx, out, &[]).await,
        Ok(None) => None,
        Err(e) => Some(SendOutcome::Failed { code: None, reason: format!("could not load the message: {e}") }),
    }
}

/// [`deliver`] for a message already taken for the carrier (`begin_send`). `later` are the
/// claims of the same batch still waiting behind it: a wait for the sender's budget keeps them
/// fresh too.
pub(super) async fn deliver_loaded(ctx: &ThreadCtx, out: Outgoing, later: &[MessageId]) -> Option<SendOutcome> {
    let failed = |code, reason| Some(SendOutcome::Failed { code, reason });
    let message = out.message.id;
    if let Err(e) = ctx.guard.allows(&out.to, out.opted_out) {
        return failed(send_guard::refusal_code(&e), e.to_string());
    }
    // A free-form WhatsApp message that came due (scheduled, or waiting) after the window closed
    // fails here, without a carrier request: Twilio would only fail it with 63016.
    let templated = out.message.content.is_some();
    if rules::whatsapp::may_send(out.channel.kind, templated, out.last_inbound_at, crate::clock::now()).is_err() {
        return failed(None, rules::whatsapp::WINDOW_CLOSED_REASON.to_owned());
    }
    // While waiting for the sender's budget, keep the claim fresh: the stale sweep is for sends
    // whose process died, not for sends that are merely queued behind others.
    let refresh = (ctx.config.stale_after / 3).max(Duration::from_millis(100));
    let sender = out.channel.clone();
    let ready = ctx.guard.until_ready(&sender);
    tokio::pin!(ready);
    let mut waited = false;
    loop {
        tokio::select! {
            biased;
            _ = &mut ready => break,
            _ = ctx.shutdown.cancelled() => {
                // Not sent, and this node is going away: any node may send it.
                if let Err(e) = ctx.store.unclaim(message).await {
                    tracing::error!(%message, error = %e, "could not give back an unsent message; the sweep will fail it");
                }
                return None;
            }
            _ = tokio::time::sleep(refresh) => {
                waited = true;
                if !ctx.store.touch_claim(message).await.unwrap_or(false) {
                    return None;
                }
                for m in later {
                    // One the sweep failed meanwhile is skipped by its own check before sending.
                    let _ = ctx.store.touch_claim(*m).await;
                }
            }
        }
    }
    // Last check before the carrier after a wait: a message the sweep failed is never sent.
    if waited {
        match ctx.store.touch_claim(message).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => return failed(None, format!("could not confirm the claim: {e}")),
        }
    }
    let req = CarrierRequest {
        channel: out.channel,
        to: out.to,
        body: out.message.body,
        media_urls: out.message.media.into_iter().map(|m| m.url).collect(),
        // Names our message, so a callback can repair a send whose answer is lost (the node died
        // with the request out): see `Threads::status`.
        status_callback: format!("{}?message={message}", ctx.config.status_callback_url),
        content: out.message.content,
        last_inbound_at: out.last_inbound_at,
    };
    Some(match ctx.carrier.send(req).await {
        Ok(sid) => SendOutcome::Sent { sid },
        Err(e) => SendOutcome::Failed { code: e.code, reason: e.reason },
    })
}
