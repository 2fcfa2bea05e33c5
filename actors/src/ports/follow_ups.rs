//! Ports of follow-ups: tasks on a thread with a due time, an assignee and a status. Every write
//! appends its thread event (`follow_up.created` / `follow_up.updated`) in the same commit.

use super::Committed;
use crate::domain::*;
use crate::error::DomainResult;
use crate::ids::*;
use async_trait::async_trait;
use time::OffsetDateTime;

/// A follow-up to create.
#[derive(Clone, Debug)]
pub struct NewFollowUp {
    pub team: TeamId,
    pub thread: ThreadId,
    pub kind: FollowUpKind,
    pub due_at: OffsetDateTime,
    pub assignee: Option<UserId>,
    pub note: String,
    /// The missed call it follows: at most one per call, and none while the thread has a
    /// pending callback already (`None` answered then).
    pub call_sid: Option<String>,
    pub created_by: Option<UserId>,
}

/// A change to a follow-up; `assignee: Some(None)` unassigns.
#[derive(Clone, Copy, Debug, Default)]
pub struct FollowUpChange {
    pub status: Option<FollowUpStatus>,
    pub due_at: Option<OffsetDateTime>,
    pub assignee: Option<Option<UserId>>,
}

/// Which follow-ups to list, by due time then id.
#[derive(Clone, Debug, Default)]
pub struct FollowUpFilter {
    pub assignee: Option<UserId>,
    pub unassigned: bool,
    pub status: Option<FollowUpStatus>,
    pub due_before: Option<OffsetDateTime>,
    pub thread: Option<ThreadId>,
    pub cursor: Option<String>,
    pub limit: i64,
}

#[async_trait]
pub trait FollowUpReads: Send + Sync {
    /// A team's follow-ups matching `filter`, soonest due first.
    async fn follow_ups(&self, team: TeamId, filter: &FollowUpFilter) -> DomainResult<super::Page<FollowUp>>;
    /// One follow-up of the team.
    async fn follow_up(&self, team: TeamId, id: FollowUpId) -> DomainResult<FollowUp>;
}

#[async_trait]
pub trait FollowUpWrites: Send + Sync {
    /// Creates a follow-up; `None` when it follows a call that has one, or the thread has a
    /// pending callback already.
    async fn create_follow_up(&self, f: NewFollowUp) -> DomainResult<Option<Committed<FollowUp>>>;
    /// Changes a follow-up; done/failed stamps who and when, pending clears them.
    async fn update_follow_up(
        &self,
        team: TeamId,
        id: FollowUpId,
        actor: UserId,
        change: FollowUpChange,
    ) -> DomainResult<Committed<FollowUp>>;
}

/// A follow-up that came due, with what its reminder shows.
#[derive(Clone, Debug)]
pub struct DueFollowUp {
    pub follow_up: FollowUp,
    /// The thread's assignee, reminded when the follow-up has none of its own.
    pub thread_assignee: Option<UserId>,
    pub contact_name: String,
    pub contact_phone: String,
}

/// The scheduler's claim of due reminders (like its claim of due messages, a row the scheduler
/// marks, not a change of the thread: no event, nothing the thread shows).
#[async_trait]
pub trait FollowUpReminders: Send + Sync {
    /// Pending follow-ups due by `now` and not reminded yet, marked reminded as they are taken
    /// (`FOR UPDATE SKIP LOCKED`: each one by one node), soonest first.
    async fn claim_due_reminders(&self, now: OffsetDateTime, limit: i64) -> DomainResult<Vec<DueFollowUp>>;
}
