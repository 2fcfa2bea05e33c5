//! The memory store's calls and voice settings: a call recorded once per CallSid with its
//! `call` event and the thread bumped, and the once-per-period reply claim in the same step
//! (as the Postgres store's transaction has them).

use super::{MemoryStore, now};
use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::*;
use async_trait::async_trait;

impl super::State {
    fn live_channel(&self, team: TeamId, channel: ChannelId) -> DomainResult<()> {
        match self.channels.get(&channel) {
            Some(c) if !c.deleted && c.channel.team_id == team => Ok(()),
            _ => Err(DomainError::NotFound("channel")),
        }
    }
}

#[async_trait]
impl CallReads for MemoryStore {
    async fn channel_settings(&self, team: TeamId, channel: ChannelId) -> DomainResult<ChannelSettings> {
        self.enter("channel_settings").await?;
        let s = self.state();
        s.live_channel(team, channel)?;
        Ok(s.channel_settings.get(&channel).cloned().unwrap_or_default())
    }

    async fn calls(&self, team: TeamId, thread: ThreadId) -> DomainResult<Vec<Call>> {
        self.enter("calls").await?;
        let s = self.state();
        let mut calls: Vec<Call> = s.calls.values().filter(|(t, c)| *t == team && c.thread_id == thread).map(|(_, c)| c.clone()).collect();
        calls.sort_by(|a, b| (a.created_at, &a.call_sid).cmp(&(b.created_at, &b.call_sid)));
        Ok(calls)
    }
}

#[async_trait]
impl CallWrites for MemoryStore {
    async fn set_channel_settings(&self, team: TeamId, channel: ChannelId, settings: &ChannelSettings) -> DomainResult<ChannelSettings> {
        self.enter("set_channel_settings").await?;
        let mut s = self.state();
        s.live_channel(team, channel)?;
        s.channel_settings.insert(channel, settings.clone());
        Ok(settings.clone())
    }

    async fn record_call(&self, c: NewCall) -> DomainResult<Option<Committed<CallRecorded>>> {
        self.enter("record_call").await?;
        let mut s = self.state();
        s.team_summary(c.team, c.thread)?;
        if s.calls.contains_key(&c.call_sid) {
            return Ok(None);
        }
        let at = now();
        let call = Call {
            call_sid: c.call_sid.clone(),
            thread_id: c.thread,
            direction: c.direction,
            status: c.outcome,
            duration: c.duration,
            recording_url: c.recording_url,
            created_at: at,
        };
        s.calls.insert(c.call_sid, (c.team, call.clone()));
        let reply_claimed = match c.reply {
            Some(claim) => {
                let key = (claim.channel, claim.contact, claim.kind.as_str());
                let free = s.auto_replies.get(&key).is_none_or(|last| *last <= at - claim.period);
                if free {
                    s.auto_replies.insert(key, at);
                }
                free
            }
            None => false,
        };
        let t = s.threads.get_mut(&c.thread).ok_or(DomainError::NotFound("thread"))?;
        t.last_message_at = Some(at);
        t.last_preview = crate::rules::calls::preview(call.status, call.duration);
        if crate::rules::calls::missed(call.status) {
            t.unread += 1;
        }
        let data = serde_json::to_value(&call).map_err(|e| DomainError::Internal(e.to_string()))?;
        let event = s.append(c.team, c.thread, event::CALL, None, None, data)?;
        let thread = s.team_summary(c.team, c.thread)?;
        Ok(Some(Committed { value: CallRecorded { call, reply_claimed }, events: vec![event], thread }))
    }
}
