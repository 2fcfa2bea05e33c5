//! The audit log's vocabulary: who acted (user and client: IP, user agent), on what (target
//! type and id), and the entry as an admin reads it. The store writes an entry in the same
//! statement or transaction as the change it records wherever there is one, so a change is never
//! committed without its entry; events that change nothing (a failed sign-in, an export) are
//! recorded on their own through `AuditWrites::record_audit`.

use crate::domain::User;
use crate::ids::{TeamId, UserId};
use serde::Serialize;
use time::OffsetDateTime;

/// Where a request came from, as the edge saw it.
#[derive(Clone, Debug, Default)]
pub struct Client {
    /// The peer address, or the trusted proxy's view of it.
    pub ip: Option<String>,
    /// The `User-Agent` header, cut to 512 characters.
    pub user_agent: Option<String>,
}

impl Client {
    /// The longest user agent kept.
    pub const MAX_USER_AGENT_CHARS: usize = 512;

    /// A client from what the edge saw, with the user agent cut to size and scrubbed of NUL.
    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Client {
        let user_agent = user_agent.map(|ua| ua.chars().filter(|c| *c != '\0').take(Self::MAX_USER_AGENT_CHARS).collect());
        Client { ip, user_agent }
    }
}

/// A signed-in user acting from a client: what an audited change is attributed to.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user: User,
    pub client: Client,
}

impl Actor {
    pub fn new(user: User, client: Client) -> Actor {
        Actor { user, client }
    }

    /// The acting user's team.
    pub fn team(&self) -> TeamId {
        self.user.team_id
    }

    /// Refuses (403 with `why`) unless the actor is an admin.
    pub fn require_admin(&self, why: &'static str) -> crate::error::DomainResult<()> {
        match self.user.role {
            crate::domain::Role::Admin => Ok(()),
            _ => Err(crate::error::DomainError::Forbidden(why)),
        }
    }
}

/// An entry to record that does not come with a change of its own.
#[derive(Clone, Debug)]
pub struct NewAuditEntry {
    /// `None` for an event with no team (a failed sign-in for an unknown email).
    pub team: Option<TeamId>,
    pub actor: Option<UserId>,
    /// `sign_in.succeeded`, `contacts.exported`, …: `<target>.<verb>`.
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<String>,
    pub client: Client,
    pub details: serde_json::Value,
}

impl NewAuditEntry {
    /// What `by` did to a target of their team.
    pub fn by(by: &Actor, action: &'static str, target_type: &'static str, target_id: Option<String>, details: serde_json::Value) -> Self {
        NewAuditEntry { team: Some(by.team()), actor: Some(by.user.id), action, target_type, target_id, client: by.client.clone(), details }
    }
}

/// Writes the entry of a change already committed: the change happened either way, so a store
/// that cannot take the entry is logged, never answered.
pub async fn record(audit: &dyn crate::ports::AuditWrites, entry: NewAuditEntry) {
    let action = entry.action;
    if let Err(e) = audit.record_audit(entry).await {
        tracing::error!(action, error = %e, "could not write an audit entry");
    }
}

/// An audit entry as admins read it.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub action: String,
    pub actor_id: Option<UserId>,
    /// The actor's name when they are still known to the team.
    pub actor_name: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub details: serde_json::Value,
}
