//! The members service: an admin changes a teammate's role, deactivates or reactivates them, or
//! removes them. The store checks the change under a lock and revokes sessions and tokens in the
//! same transaction; this service then closes the member's open sockets on every node (their
//! channel access was granted under the old rights) and, when asked, hands their threads back
//! to the team through each thread's actor, so every tab sees the unassignment live. The team
//! channel hears `member.updated` / `member.removed`, so every admin's members table and every
//! agent's assignee list follow without a reload.

use crate::audit::Actor;
use crate::cluster::Cluster;
use crate::domain::{Role, event};
use crate::error::{DomainError, DomainResult};
use crate::fanout::Fanout;
use crate::ids::UserId;
use crate::ports::{AccountStore, Member, MemberChange, ThreadChange};
use crate::protocol::ChannelName;
use crate::threads::Threads;
use std::sync::Arc;

/// What happens to a deactivated or removed member's threads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignedThreads {
    /// They stay assigned to them (the admin reassigns later).
    #[default]
    Keep,
    /// They go back to the team's unassigned queue.
    Unassign,
}

/// A member change as done.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MemberOutcome {
    pub member: Member,
    /// Threads handed back to the team.
    pub unassigned: usize,
}

/// Team administration of members.
pub struct Members {
    store: Arc<dyn AccountStore>,
    threads: Arc<Threads>,
    cluster: Arc<Cluster>,
    fanout: Arc<Fanout>,
}

impl Members {
    pub fn new(store: Arc<dyn AccountStore>, threads: Arc<Threads>, cluster: Arc<Cluster>, fanout: Arc<Fanout>) -> Self {
        Members { store, threads, cluster, fanout }
    }

    /// Applies `change` to `member` of `by`'s team (admins only; see `rules::member_change`).
    pub async fn change(&self, by: &Actor, member: UserId, change: MemberChange, threads: AssignedThreads) -> DomainResult<MemberOutcome> {
        if by.user.role != Role::Admin {
            return Err(DomainError::Forbidden("only admins may manage members"));
        }
        if change == MemberChange::default() {
            return Err(DomainError::invalid("role", "send role and/or active"));
        }
        let done = self.store.change_member(by, member, change).await?;
        let lost_access = done.was_active && !done.member.active;
        if lost_access || done.was_role != done.member.user.role {
            self.cluster.revoke_user(member);
        }
        let team = ChannelName::Team(by.team());
        if change.remove {
            self.fanout.publish(team, event::MEMBER_REMOVED, &serde_json::json!({ "id": member }));
        } else {
            self.fanout.publish(team, event::MEMBER_UPDATED, &serde_json::json!({ "member": &done.member }));
        }
        let mut unassigned = 0;
        if lost_access && threads == AssignedThreads::Unassign {
            for thread in self.store.assigned_threads(by.team(), member).await? {
                match self
                    .threads
                    .update(by.team(), thread, by.user.clone(), ThreadChange { assignee: Some(None), ..ThreadChange::default() })
                    .await
                {
                    Ok(_) => unassigned += 1,
                    Err(e) => tracing::warn!(%thread, error = %e, "could not unassign a deactivated member's thread"),
                }
            }
        }
        Ok(MemberOutcome { member: done.member, unassigned })
    }
}
