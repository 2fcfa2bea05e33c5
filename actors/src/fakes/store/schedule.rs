//! `ScheduleStore` in memory: due messages, claiming each exactly once (the lock makes a claim
//! atomic, as `FOR UPDATE SKIP LOCKED` does), refreshing and giving back claims, and finding
//! sends whose outcome is unknown.

use super::send::waiting;
use super::{MemoryStore, now};
use crate::domain::MessageStatus;
use crate::error::DomainResult;
use crate::ids::*;
use crate::ports::{Claimed, ScheduleStore};
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
impl ScheduleStore for MemoryStore {
    async fn due_before(&self, until: OffsetDateTime, limit: i64) -> DomainResult<Vec<(MessageId, OffsetDateTime)>> {
        self.enter("due_before").await?;
        let s = self.state();
        let mut due: Vec<(MessageId, OffsetDateTime)> = s
            .messages
            .values()
            .filter(|m| m.msg.status == MessageStatus::Scheduled)
            .filter_map(|m| m.msg.scheduled_at.filter(|at| *at <= until).map(|at| (m.msg.id, at)))
            .collect();
        due.sort_by_key(|(id, at)| (*at, *id));
        due.truncate(limit.max(0) as usize);
        Ok(due)
    }

    async fn claim_due(&self, now_: OffsetDateTime, limit: i64) -> DomainResult<Vec<Claimed>> {
        self.enter("claim_due").await?;
        let mut s = self.state();
        let mut due: Vec<(OffsetDateTime, MessageId)> = s
            .messages
            .values()
            .filter(|m| m.msg.status == MessageStatus::Scheduled)
            .filter_map(|m| m.msg.scheduled_at.filter(|at| *at <= now_).map(|at| (at, m.msg.id)))
            .collect();
        due.sort();
        due.truncate(limit.max(0) as usize);
        let claimed_at = now();
        Ok(due
            .into_iter()
            .map(|(at, id)| {
                let row = s.messages.get_mut(&id).expect("listed above");
                row.msg.status = MessageStatus::Sending;
                row.claimed_at = Some(claimed_at);
                Claimed { message: id, thread: row.msg.thread_id, team: row.msg.team_id, scheduled_at: at }
            })
            .collect())
    }

    async fn stale_sends(&self, older_than: OffsetDateTime, limit: i64) -> DomainResult<Vec<(ThreadId, MessageId)>> {
        self.enter("stale_sends").await?;
        let s = self.state();
        let mut stale: Vec<(OffsetDateTime, ThreadId, MessageId)> = s
            .messages
            .values()
            .filter(|m| waiting(m.msg.status) && m.msg.provider_sid.is_none())
            .filter_map(|m| m.claimed_at.filter(|c| *c < older_than).map(|c| (c, m.msg.thread_id, m.msg.id)))
            .collect();
        stale.sort();
        Ok(stale.into_iter().take(limit.max(0) as usize).map(|(_, t, m)| (t, m)).collect())
    }

    async fn touch_claim(&self, message: MessageId) -> DomainResult<bool> {
        self.enter("touch_claim").await?;
        let mut s = self.state();
        match s.messages.get_mut(&message).filter(|m| waiting(m.msg.status) && m.msg.provider_sid.is_none()) {
            Some(row) => {
                row.claimed_at = Some(now());
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn due_snoozes(&self, now: OffsetDateTime, limit: i64) -> DomainResult<Vec<ThreadId>> {
        self.enter("due_snoozes").await?;
        let s = self.state();
        let mut due: Vec<(OffsetDateTime, ThreadId)> = s
            .threads
            .values()
            .filter_map(|t| t.snoozed_until.filter(|u| t.status == crate::domain::ThreadStatus::Snoozed && *u <= now).map(|u| (u, t.id)))
            .collect();
        due.sort();
        Ok(due.into_iter().take(limit.max(0) as usize).map(|(_, id)| id).collect())
    }

    async fn unclaim(&self, message: MessageId) -> DomainResult<()> {
        self.enter("unclaim").await?;
        let mut s = self.state();
        if let Some(row) = s.messages.get_mut(&message).filter(|m| waiting(m.msg.status) && m.msg.provider_sid.is_none()) {
            row.msg.status = MessageStatus::Scheduled;
            row.msg.scheduled_at = row.msg.scheduled_at.or(Some(now()));
            row.claimed_at = None;
        }
        Ok(())
    }
}
