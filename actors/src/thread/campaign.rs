//! A campaign's message in this thread: stored through the thread's actor like every change
//! (its event has a seq, the open thread sees it live), but quietly: the inbox row does not
//! move and is not unread, and the team's inboxes hear nothing of the message or its delivery
//! statuses. Only the contact's reply bumps the thread (the normal inbound path).

use super::{ThreadState, crash_reason};
use crate::domain::{Message, MessageStatus};
use crate::ports::{CampaignMessage, Committed};
use tokio::sync::OwnedSemaphorePermit;

/// A claimed campaign recipient on its way to its thread actor, holding one of the node's send
/// slots. Dropped unhandled (the actor crashed with it queued), nothing was stored or sent: the
/// runner's sweep puts the recipient back in the queue.
pub struct CampaignSend {
    pub message: CampaignMessage,
    pub slot: Option<OwnedSemaphorePermit>,
}

impl ThreadState {
    /// Stores the message under the recipient's claim (the same statement loads what the carrier
    /// needs), then hands it to the carrier like any send (opt-out checked again, the sender's
    /// budget, exactly one carrier request: a crash after this point leaves a `sending` message
    /// the stale sweep fails as outcome unknown or a status callback repairs, never a resend).
    pub(super) async fn campaign_send(&mut self, send: CampaignSend) -> Option<String> {
        if send.message.team != self.summary.team_id {
            return None;
        }
        match self.ctx.store.create_campaign_message(&send.message).await {
            Ok(Some((committed, out))) => {
                self.quiet.insert(committed.value.id);
                self.apply_quietly(committed);
                self.spawn_taken_send(out, send.slot);
                None
            }
            // The claim was given back meanwhile: another claim sends it.
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(thread = %self.id, error = %e, "could not store a campaign message; the recipient is requeued by the sweep");
                crash_reason(&e)
            }
        }
    }

    /// Fans out a commit's events and keeps its row, without telling the team's inboxes.
    fn apply_quietly<T>(&mut self, committed: Committed<T>) -> T {
        for event in &committed.events {
            self.ctx.fanout.publish_event(event);
        }
        self.summary = committed.thread;
        committed.value
    }

    /// Applies a change to a message: quietly when it is one of this actor's campaign messages
    /// (forgotten once it can change no more).
    pub(super) fn apply_message(&mut self, committed: Committed<Message>) -> Message {
        let id = committed.value.id;
        if !self.quiet.contains(&id) {
            return self.apply(committed);
        }
        let message = self.apply_quietly(committed);
        if matches!(message.status, MessageStatus::Delivered | MessageStatus::Read | MessageStatus::Failed | MessageStatus::Undelivered) {
            self.quiet.remove(&id);
        }
        message
    }
}
