//! Ports of automatic assignment: the team's setting, the store's fair pick, and who is online.

use crate::domain::AutoAssignment;
use crate::error::DomainResult;
use crate::ids::*;
use async_trait::async_trait;

/// Automatic assignment's setting and picks.
#[async_trait]
pub trait AssignmentStore: Send + Sync {
    /// The team's setting (off when never set).
    async fn auto_assignment(&self, team: TeamId) -> DomainResult<AutoAssignment>;
    async fn set_auto_assignment(&self, team: TeamId, setting: AutoAssignment) -> DomainResult<()>;
    /// Takes the agent the team's next unassigned conversation goes to: among `online` (active
    /// members of the team), those holding fewer open or pending conversations than the cap,
    /// the one picked longest ago (never picked first), who is marked as picked now. Picks of
    /// one team take turns across nodes. `None` when nobody qualifies, or when the setting is
    /// off and the pick is `for` automatic assignment (a rule's round robin picks either way,
    /// under the same cap and turns).
    async fn next_assignee(&self, team: TeamId, online: &[UserId], r#for: PickFor) -> DomainResult<Option<UserId>>;
    /// Claims the teams with automatic assignment on whose waiting conversations no node has
    /// looked at within `every`, and marks them looked at now (one node per team per period).
    async fn claim_backlogs(&self, every: std::time::Duration) -> DomainResult<Vec<TeamId>>;
    /// The team's conversations waiting for an agent: nobody has them, open or pending, listed,
    /// the customer wrote last and after `since`; the longest waiting first, at most `limit`.
    async fn waiting_unassigned(&self, team: TeamId, since: time::OffsetDateTime, limit: i64) -> DomainResult<Vec<ThreadId>>;
}

/// Who asks for a pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickFor {
    /// The team's automatic assignment (only while it is on).
    AutoAssignment,
    /// An automation rule's "assign round robin".
    Rule,
}

/// Who is online now, on any node.
pub trait Presence: Send + Sync {
    fn online(&self, team: TeamId) -> Vec<UserId>;
}
