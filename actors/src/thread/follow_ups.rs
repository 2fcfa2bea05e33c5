//! Follow-ups on the thread, written by its actor (the one writer): an agent's new follow-up or
//! change (the assignee must be a member of the team), and the callback a missed call leaves.
//! Each commits its thread event and is also told on the team channel (`{follow_up}`), so every
//! agent's "My follow-ups" list follows it live.

use super::ThreadState;
use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::*;
use crate::protocol::ChannelName;
use crate::rules;

/// A follow-up an agent writes down.
#[derive(Clone, Debug)]
pub struct FollowUpInput {
    pub kind: FollowUpKind,
    pub due_at: time::OffsetDateTime,
    pub assignee: Option<UserId>,
    pub note: String,
}

/// What an agent does to the thread's follow-ups.
#[derive(Clone, Debug)]
pub enum FollowUpOp {
    Create(FollowUpInput),
    Update { id: FollowUpId, change: FollowUpChange },
}

impl ThreadState {
    pub(super) async fn follow_up(&mut self, actor: User, op: FollowUpOp) -> DomainResult<FollowUp> {
        let team = self.summary.team_id;
        let assignee = match &op {
            FollowUpOp::Create(input) => input.assignee,
            FollowUpOp::Update { change, .. } => change.assignee.flatten(),
        };
        if let Some(user) = assignee
            && !self.ctx.store.members(team).await?.iter().any(|m| m.id == user)
        {
            return Err(DomainError::invalid("assignee_id", "is not a member of the team"));
        }
        let committed = match op {
            FollowUpOp::Create(FollowUpInput { kind, due_at, assignee, note }) => {
                let new = NewFollowUp { team, thread: self.id, kind, due_at, assignee, note, call_sid: None, created_by: Some(actor.id) };
                self.ctx.store.create_follow_up(new).await?.ok_or(DomainError::NotFound("thread"))?
            }
            FollowUpOp::Update { id, change } => {
                let current = self.ctx.store.follow_up(team, id).await?;
                if current.thread_id != self.id {
                    return Err(DomainError::NotFound("follow-up"));
                }
                self.ctx.store.update_follow_up(team, id, actor.id, change).await?
            }
        };
        Ok(self.apply_follow_up(committed))
    }

    /// The callback a missed call leaves (none when the thread has one pending already).
    pub(super) async fn missed_call_follow_up(&mut self, call: &Call) {
        let new = NewFollowUp {
            team: self.summary.team_id,
            thread: self.id,
            kind: FollowUpKind::Callback,
            due_at: call.created_at + rules::follow_ups::MISSED_CALL_DUE,
            assignee: self.summary.assignee_id,
            note: rules::follow_ups::missed_call_note(call.status, &self.summary.contact.phone),
            call_sid: Some(call.call_sid.clone()),
            created_by: None,
        };
        match self.ctx.store.create_follow_up(new).await {
            Ok(Some(committed)) => {
                self.apply_follow_up(committed);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(thread = %self.id, error = %e, "the missed call's follow-up was not created"),
        }
    }

    fn apply_follow_up(&mut self, committed: Committed<FollowUp>) -> FollowUp {
        let kind = committed.events.first().map(|e| e.kind.clone()).unwrap_or_else(|| event::FOLLOW_UP_UPDATED.to_owned());
        let follow_up = self.apply(committed);
        self.ctx.fanout.publish(ChannelName::Team(follow_up.team_id), &kind, &serde_json::json!({ "follow_up": follow_up }));
        follow_up
    }
}
