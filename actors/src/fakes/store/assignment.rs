//! Automatic assignment in memory: the setting per team and the round robin's order.

use super::MemoryStore;
use crate::domain::*;
use crate::error::DomainResult;
use crate::ids::*;
use crate::ports::{AssignmentStore, PickFor};
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
impl AssignmentStore for MemoryStore {
    async fn auto_assignment(&self, team: TeamId) -> DomainResult<AutoAssignment> {
        self.enter("auto_assignment").await?;
        Ok(self.state().auto_assignment.get(&team).copied().unwrap_or_default())
    }

    async fn set_auto_assignment(&self, team: TeamId, setting: AutoAssignment) -> DomainResult<()> {
        self.enter("set_auto_assignment").await?;
        self.state().auto_assignment.insert(team, setting);
        Ok(())
    }

    async fn next_assignee(&self, team: TeamId, online: &[UserId], r#for: PickFor) -> DomainResult<Option<UserId>> {
        self.enter("next_assignee").await?;
        let mut s = self.state();
        let setting = s.auto_assignment.get(&team).copied().unwrap_or_default();
        if r#for == PickFor::AutoAssignment && !setting.enabled {
            return Ok(None);
        }
        let open = |u: UserId| {
            s.threads
                .values()
                .filter(|t| t.team == team && t.assignee == Some(u) && matches!(t.status, ThreadStatus::Open | ThreadStatus::Pending))
                .count() as i64
        };
        let picked = s
            .users
            .values()
            .filter(|r| r.user.team_id == team && online.contains(&r.user.id) && r.deactivated_at.is_none() && !r.removed)
            .filter(|r| setting.max_open_per_agent.is_none_or(|cap| open(r.user.id) < i64::from(cap)))
            .map(|r| r.user.id)
            .min_by_key(|u| (s.last_picked.get(u).copied(), u.0));
        if let Some(u) = picked {
            s.picks += 1;
            let n = s.picks;
            s.last_picked.insert(u, n);
        }
        Ok(picked)
    }

    async fn claim_backlogs(&self, every: std::time::Duration) -> DomainResult<Vec<TeamId>> {
        self.enter("claim_backlogs").await?;
        let now = crate::clock::now();
        let mut s = self.state();
        let on: Vec<TeamId> = s.auto_assignment.iter().filter(|(_, a)| a.enabled).map(|(t, _)| *t).collect();
        let due: Vec<TeamId> = on.into_iter().filter(|t| s.backlog_swept.get(t).is_none_or(|at| *at <= now - every)).collect();
        for t in &due {
            s.backlog_swept.insert(*t, now);
        }
        Ok(due)
    }

    async fn waiting_unassigned(&self, team: TeamId, since: OffsetDateTime, limit: i64) -> DomainResult<Vec<ThreadId>> {
        self.enter("waiting_unassigned").await?;
        let s = self.state();
        let mut waiting: Vec<(OffsetDateTime, ThreadId)> = s
            .threads
            .values()
            .filter(|t| t.team == team && t.assignee.is_none() && matches!(t.status, ThreadStatus::Open | ThreadStatus::Pending))
            .filter_map(|t| t.last_inbound_at.filter(|at| *at > since && Some(*at) >= t.last_message_at).map(|at| (at, t.id)))
            .collect();
        waiting.sort_by_key(|(at, id)| (*at, id.0));
        Ok(waiting.into_iter().take(limit.max(0) as usize).map(|(_, id)| id).collect())
    }
}
