//! Automatic assignment: when a team switches it on, a customer's message to a conversation
//! nobody has (a new one, or one reopened by the message) gets it an agent, round robin among
//! the agents online now (on any node: the team channel's presence) who hold fewer open
//! conversations than the team's cap. Fair across nodes: the store makes the pick under a lock
//! of the team's setting row, the agent picked longest ago first, so two nodes picking at once
//! take turns instead of both choosing the same agent.
//!
//! The thread actor asks (`pick`) and assigns through its own write, so the assignment is an
//! ordinary `thread.updated` with its event in the thread's log. The setting is read through a
//! short per-node cache: a customer's message on a team that has it off costs no query.

use crate::audit::{Actor, NewAuditEntry};
use crate::domain::{AutoAssignment, event};
use crate::error::DomainResult;
use crate::fanout::Fanout;
use crate::ids::*;
use crate::ports::{AssignmentStore, AuditWrites, PickFor, Presence};
use crate::protocol::ChannelName;
use crate::rules;
use crate::ttl_cache::TtlCache;
use std::sync::Arc;
use std::time::Duration;

/// How long a node trusts its copy of a team's setting (a change made on this node is seen at
/// once; on another node within this).
const SETTING_TTL: Duration = Duration::from_secs(5);

/// Automatic assignment on this node.
pub struct AutoAssign {
    store: Arc<dyn AssignmentStore>,
    audit: Arc<dyn AuditWrites>,
    presence: Arc<dyn Presence>,
    fanout: Arc<Fanout>,
    settings: TtlCache<TeamId, AutoAssignment>,
}

impl AutoAssign {
    pub fn new(store: Arc<dyn AssignmentStore>, audit: Arc<dyn AuditWrites>, presence: Arc<dyn Presence>, fanout: Arc<Fanout>) -> Self {
        AutoAssign { store, audit, presence, fanout, settings: TtlCache::new(SETTING_TTL) }
    }

    /// The team's setting, from the cache when fresh.
    pub async fn setting(&self, team: TeamId) -> DomainResult<AutoAssignment> {
        self.settings.get_or_load(team, || self.store.auto_assignment(team)).await
    }

    /// Changes the team's setting (admins), audited, announced on the team channel.
    pub async fn set(&self, by: &Actor, setting: AutoAssignment) -> DomainResult<AutoAssignment> {
        by.require_admin("only admins may change automatic assignment")?;
        let setting = rules::assignment::setting(setting)?;
        self.store.set_auto_assignment(by.team(), setting).await?;
        self.settings.put(by.team(), setting);
        let details = serde_json::to_value(setting).unwrap_or_default();
        crate::audit::record(
            &*self.audit,
            NewAuditEntry::by(by, "team.auto_assignment_changed", "team", Some(by.team().to_string()), details),
        )
        .await;
        self.fanout.publish(ChannelName::Team(by.team()), event::AUTO_ASSIGNMENT_CHANGED, &setting);
        Ok(setting)
    }

    /// The agent a conversation of `team` that wants one goes to now, if the team assigns
    /// automatically and someone qualifies. Errors are logged and answer `None`: a customer's
    /// message is stored whatever happens here.
    pub async fn pick(&self, team: TeamId) -> Option<UserId> {
        match self.setting(team).await {
            Ok(s) if s.enabled => {}
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!(%team, error = %e, "could not read the team's automatic assignment");
                return None;
            }
        }
        self.next(team, PickFor::AutoAssignment).await
    }

    /// The agent an automation rule's "assign round robin" gives a conversation to: the same
    /// turns and cap as automatic assignment, whether or not the team has it on.
    pub async fn pick_for_rule(&self, team: TeamId) -> Option<UserId> {
        self.next(team, PickFor::Rule).await
    }

    async fn next(&self, team: TeamId, r#for: PickFor) -> Option<UserId> {
        let online = self.presence.online(team);
        if online.is_empty() {
            return None;
        }
        match self.store.next_assignee(team, &online, r#for).await {
            Ok(user) => user,
            Err(e) => {
                tracing::warn!(%team, error = %e, "could not pick an agent to assign");
                None
            }
        }
    }
}
