//! Ports of canned replies (team and personal).

use super::*;
use crate::domain::*;
use crate::error::DomainResult;
use crate::ids::*;
use async_trait::async_trait;

/// A canned reply to store, as the rules checked it.
#[derive(Clone, Debug)]
pub struct NewReply {
    pub team: TeamId,
    /// `None`: a team reply.
    pub owner: Option<UserId>,
    pub shortcut: String,
    pub title: String,
    pub body: String,
    pub created_by: UserId,
}

/// Changes to a canned reply, as the rules checked them; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ReplyPatch {
    pub shortcut: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
}

/// Reads of a team's canned replies.
#[async_trait]
pub trait ReplyReads: Send + Sync {
    /// The replies `viewer` sees (the team's and their own personal ones) whose shortcut or
    /// title contains `search`, by shortcut, after an opaque cursor.
    async fn list_replies(
        &self,
        team: TeamId,
        viewer: UserId,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
    ) -> DomainResult<Page<CannedReply>>;
    /// One reply of the team, whoever owns it (the rules decide who sees it).
    async fn reply(&self, team: TeamId, id: ReplyId) -> DomainResult<CannedReply>;
}

/// Writes to canned replies (the replies service is their one caller).
#[async_trait]
pub trait ReplyWrites: Send + Sync {
    /// A new reply; Conflict when its shortcut is taken in its scope (the team's replies, or
    /// the owner's).
    async fn create_reply(&self, reply: NewReply) -> DomainResult<CannedReply>;
    /// Applies a patch; Conflict on a taken shortcut.
    async fn update_reply(&self, team: TeamId, id: ReplyId, patch: ReplyPatch) -> DomainResult<CannedReply>;
    /// Deletes a reply of `by`'s team and records `reply.deleted` in the audit log, in one
    /// transaction; answers the reply as it was.
    async fn delete_reply(&self, by: &Actor, id: ReplyId) -> DomainResult<CannedReply>;
}
