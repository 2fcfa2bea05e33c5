//! A call on the thread, written by its actor (the one writer): the outcome and its `call`
//! event once per CallSid, the thread bumped in the inbox (and opened again when a missed call
//! finds it resolved), and, for a missed call, the channel's automatic reply through the normal
//! send path (guard, rate budget, status callbacks), and a callback follow-up. The
//! once-per-period claim commits with the call, so a retried callback or a second node never
//! sends a second reply.

use super::ThreadState;
use crate::domain::*;
use crate::error::DomainResult;
use crate::ports::*;
use crate::rules;

impl ThreadState {
    pub(super) async fn call(&mut self, mut call: NewCall, settings: ChannelSettings, created: bool) -> DomainResult<Option<Call>> {
        let contact = self.summary.contact.clone();
        let missed = rules::calls::missed(call.outcome);
        // An opted-out caller gets nothing, and claims nothing.
        if missed && settings.missed_call_reply.is_some() && contact.opted_out_at.is_none() {
            call.reply = Some(ReplyClaim {
                kind: AutoReplyKind::MissedCall,
                channel: self.summary.channel.id,
                contact: contact.id,
                period: rules::calls::reply_period(&settings),
            });
        }
        let team = call.team;
        let Some(committed) = self.ctx.store.record_call(call).await? else { return Ok(None) };
        let recorded = self.apply_created(committed, created);
        if missed && rules::reopens_on_inbound(self.summary.status) {
            let open = ThreadChange { status: Some(ThreadStatus::Open), ..ThreadChange::default() };
            match self.ctx.store.update_thread(team, self.id, None, open).await {
                Ok(reopened) => {
                    self.apply(reopened);
                }
                Err(e) => tracing::warn!(thread = %self.id, error = %e, "could not reopen the conversation"),
            }
        }
        if missed {
            self.missed_call_follow_up(&recorded.call).await;
        }
        if recorded.reply_claimed
            && let Some(source) = &settings.missed_call_reply
            && let Err(e) = self.auto_reply(source, "missed_call").await
        {
            tracing::warn!(thread = %self.id, error = %e, "the missed-call reply was not sent");
        }
        Ok(Some(recorded.call))
    }
}
