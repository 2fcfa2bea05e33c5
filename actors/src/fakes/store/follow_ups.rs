//! The memory store's follow-ups, as the Postgres store's: one per missed call and none while
//! the thread has a pending callback, keyset pages by due time, and each write's thread event.

use super::{MemoryStore, decode_cursor, encode_cursor, now, page};
use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::*;
use async_trait::async_trait;

fn event_of(s: &mut super::State, f: &FollowUp, kind: &str, actor: Option<UserId>) -> DomainResult<Committed<FollowUp>> {
    let data = serde_json::to_value(f).map_err(|e| DomainError::Internal(e.to_string()))?;
    let event = s.append(f.team_id, f.thread_id, kind, actor, None, data)?;
    let thread = s.team_summary(f.team_id, f.thread_id)?;
    Ok(Committed { value: f.clone(), events: vec![event], thread })
}

#[async_trait]
impl FollowUpReads for MemoryStore {
    async fn follow_ups(&self, team: TeamId, f: &FollowUpFilter) -> DomainResult<Page<FollowUp>> {
        self.enter("follow_ups").await?;
        let after = f.cursor.as_deref().map(decode_cursor).transpose()?;
        let s = self.state();
        let mut rows: Vec<FollowUp> = s
            .follow_ups
            .values()
            .filter(|x| x.team_id == team)
            .filter(|x| f.assignee.is_none_or(|a| x.assignee_id == Some(a) || (f.unassigned && x.assignee_id.is_none())))
            .filter(|x| !f.unassigned || f.assignee.is_some() || x.assignee_id.is_none())
            .filter(|x| f.status.is_none_or(|st| x.status == st))
            .filter(|x| f.due_before.is_none_or(|at| x.due_at < at))
            .filter(|x| f.thread.is_none_or(|t| x.thread_id == t))
            .filter(|x| after.is_none_or(|(at, id)| (x.due_at, x.id.0) > (at, id)))
            .cloned()
            .collect();
        rows.sort_by_key(|x| (x.due_at, x.id.0));
        rows.truncate(f.limit.max(0) as usize + 1);
        Ok(page(rows, f.limit, |x| encode_cursor(x.due_at, x.id.0)))
    }

    async fn follow_up(&self, team: TeamId, id: FollowUpId) -> DomainResult<FollowUp> {
        self.enter("follow_up").await?;
        self.state().follow_ups.get(&id).filter(|f| f.team_id == team).cloned().ok_or(DomainError::NotFound("follow-up"))
    }
}

#[async_trait]
impl FollowUpWrites for MemoryStore {
    async fn create_follow_up(&self, n: NewFollowUp) -> DomainResult<Option<Committed<FollowUp>>> {
        self.enter("create_follow_up").await?;
        let mut s = self.state();
        s.team_summary(n.team, n.thread)?;
        if n.call_sid.is_some() {
            let taken = s.follow_ups.values().any(|f| {
                f.call_sid == n.call_sid
                    || (f.thread_id == n.thread && f.kind == FollowUpKind::Callback && f.status == FollowUpStatus::Pending)
            });
            if taken {
                return Ok(None);
            }
        }
        let f = FollowUp {
            id: FollowUpId::new(),
            team_id: n.team,
            thread_id: n.thread,
            kind: n.kind,
            status: FollowUpStatus::Pending,
            due_at: n.due_at,
            assignee_id: n.assignee,
            note: n.note,
            call_sid: n.call_sid,
            created_by: n.created_by,
            created_at: now(),
            completed_at: None,
            completed_by: None,
        };
        s.follow_ups.insert(f.id, f.clone());
        event_of(&mut s, &f, event::FOLLOW_UP_CREATED, n.created_by).map(Some)
    }

    async fn update_follow_up(&self, team: TeamId, id: FollowUpId, actor: UserId, c: FollowUpChange) -> DomainResult<Committed<FollowUp>> {
        self.enter("update_follow_up").await?;
        let mut s = self.state();
        let f = s.follow_ups.get_mut(&id).filter(|f| f.team_id == team).ok_or(DomainError::NotFound("follow-up"))?;
        if let Some(status) = c.status {
            f.status = status;
            let done = status != FollowUpStatus::Pending;
            f.completed_at = done.then(now);
            f.completed_by = done.then_some(actor);
        }
        if let Some(at) = c.due_at {
            f.due_at = at;
        }
        if let Some(assignee) = c.assignee {
            f.assignee_id = assignee;
        }
        let f = f.clone();
        event_of(&mut s, &f, event::FOLLOW_UP_UPDATED, Some(actor))
    }
}

#[async_trait]
impl FollowUpReminders for MemoryStore {
    async fn claim_due_reminders(&self, now: time::OffsetDateTime, limit: i64) -> DomainResult<Vec<DueFollowUp>> {
        self.enter("claim_due_reminders").await?;
        let mut s = self.state();
        let mut due: Vec<FollowUp> = s
            .follow_ups
            .values()
            .filter(|f| f.status == FollowUpStatus::Pending && f.due_at <= now)
            .filter(|f| s.follow_ups_reminded.get(&f.id) != Some(&f.due_at))
            .cloned()
            .collect();
        due.sort_by_key(|f| (f.due_at, f.id.0));
        due.truncate(limit.max(0) as usize);
        let mut out = Vec::with_capacity(due.len());
        for f in due {
            s.follow_ups_reminded.insert(f.id, f.due_at);
            let thread = s.team_summary(f.team_id, f.thread_id)?;
            out.push(DueFollowUp {
                thread_assignee: thread.assignee_id,
                contact_name: thread.contact.name.clone(),
                contact_phone: thread.contact.phone.clone(),
                follow_up: f,
            });
        }
        Ok(out)
    }
}
