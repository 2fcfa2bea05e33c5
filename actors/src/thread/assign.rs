//! Automatic assignment, written by the thread's actor (the one writer): a customer's message to
//! a conversation nobody has, and the backlog's ask for one still waiting (`crate::backlog`).
//! The assignment is an ordinary `thread.updated` by nobody, in the thread's log.

use super::ThreadState;
use crate::error::DomainResult;
use crate::ids::*;
use crate::ports::*;
use crate::rules;

impl ThreadState {
    /// Gives the conversation an agent when nobody has it and the team's automatic assignment
    /// finds one who can take it now (an ordinary `thread.updated` by nobody); answers who.
    pub(super) async fn auto_assign(&mut self) -> Option<UserId> {
        if !rules::assignment::wants_agent(&self.summary) {
            return None;
        }
        let team = self.summary.team_id;
        let agent = self.ctx.assign.pick(team).await?;
        let to = ThreadChange { assignee: Some(Some(agent)), ..ThreadChange::default() };
        match self.ctx.store.update_thread(team, self.id, None, to).await {
            Ok(assigned) => {
                self.commit(assigned, false, Some(agent));
                Some(agent)
            }
            Err(e) => {
                tracing::warn!(thread = %self.id, error = %e, "could not assign the conversation");
                None
            }
        }
    }

    /// The backlog's ask: the conversation as stored now (another node may have assigned it)
    /// must still want an agent before this actor's copy is trusted.
    pub(super) async fn auto_assign_waiting(&mut self) -> DomainResult<crate::backlog::Assigned> {
        use crate::backlog::Assigned;
        let stored = self.ctx.store.thread(self.summary.team_id, self.id).await?;
        if !rules::assignment::wants_agent(&stored) {
            return Ok(Assigned::NotWaiting);
        }
        if stored.last_seq > self.summary.last_seq {
            // Changed through another node since this actor last wrote: its copy is behind.
            self.summary = stored;
        }
        Ok(self.auto_assign().await.map_or(Assigned::NobodyFree, Assigned::To))
    }
}
