//! `ReplyReads` / `ReplyWrites` in memory: one shortcut per scope (the team's replies, or one
//! owner's), listed by shortcut with keyset pages, and a deletion recorded in the audit log with
//! the change, as the Postgres store does.

use super::{MemoryStore, contains_ci, now, page, storable};
use crate::audit::Actor;
use crate::domain::{CannedReply, ReplyScope};
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{NewReply, Page, ReplyPatch, ReplyReads, ReplyWrites};
use async_trait::async_trait;

const DUPLICATE_SHORTCUT: &str = "a reply with this shortcut already exists";

/// The keyset cursor of a reply listing: its shortcut and id, as the Postgres store's.
fn cursor_of(r: &CannedReply) -> String {
    hex::encode(format!("{}|{}", r.shortcut, r.id))
}

fn decode(cursor: &str) -> DomainResult<(String, uuid::Uuid)> {
    let bad = || DomainError::invalid("cursor", "is not a cursor this server gave out");
    let raw = String::from_utf8(hex::decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    let (shortcut, id) = raw.rsplit_once('|').ok_or_else(bad)?;
    Ok((shortcut.to_owned(), id.parse().map_err(|_| bad())?))
}

impl super::State {
    fn shortcut_taken(&self, team: TeamId, owner: Option<UserId>, shortcut: &str, except: Option<ReplyId>) -> bool {
        self.replies.values().any(|r| r.team_id == team && r.owner_id == owner && r.shortcut == shortcut && Some(r.id) != except)
    }
}

#[async_trait]
impl ReplyReads for MemoryStore {
    async fn list_replies(
        &self,
        team: TeamId,
        viewer: UserId,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
    ) -> DomainResult<Page<CannedReply>> {
        self.enter("list_replies").await?;
        let after = cursor.map(decode).transpose()?;
        let s = self.state();
        let mut rows: Vec<CannedReply> = s
            .replies
            .values()
            .filter(|r| r.team_id == team && (r.owner_id.is_none() || r.owner_id == Some(viewer)))
            .filter(|r| search.is_none_or(|q| contains_ci(&r.shortcut, q) || contains_ci(&r.title, q)))
            .filter(|r| after.as_ref().is_none_or(|(s, id)| (r.shortcut.as_str(), r.id.0) > (s.as_str(), *id)))
            .cloned()
            .collect();
        rows.sort_by(|a, b| (&a.shortcut, a.id).cmp(&(&b.shortcut, b.id)));
        Ok(page(rows, limit, cursor_of))
    }

    async fn reply(&self, team: TeamId, id: ReplyId) -> DomainResult<CannedReply> {
        self.enter("reply").await?;
        self.state().replies.get(&id).filter(|r| r.team_id == team).cloned().ok_or(DomainError::NotFound("reply"))
    }
}

#[async_trait]
impl ReplyWrites for MemoryStore {
    async fn create_reply(&self, new: NewReply) -> DomainResult<CannedReply> {
        self.enter("create_reply").await?;
        for (field, text) in [("shortcut", &new.shortcut), ("title", &new.title), ("body", &new.body)] {
            storable(field, text)?;
        }
        let mut s = self.state();
        if !s.teams.contains_key(&new.team) {
            return Err(DomainError::invalid("request", "is not acceptable (canned_replies_team_id_fkey)"));
        }
        if s.shortcut_taken(new.team, new.owner, &new.shortcut, None) {
            return Err(DomainError::Conflict(DUPLICATE_SHORTCUT.into()));
        }
        let at = now();
        let reply = CannedReply {
            id: ReplyId::new(),
            team_id: new.team,
            scope: if new.owner.is_some() { ReplyScope::Personal } else { ReplyScope::Team },
            owner_id: new.owner,
            shortcut: new.shortcut,
            title: new.title,
            body: new.body,
            created_by: Some(new.created_by),
            created_at: at,
            updated_at: at,
        };
        s.replies.insert(reply.id, reply.clone());
        Ok(reply)
    }

    async fn update_reply(&self, team: TeamId, id: ReplyId, patch: ReplyPatch) -> DomainResult<CannedReply> {
        self.enter("update_reply").await?;
        let mut s = self.state();
        let mut r = s.replies.get(&id).filter(|r| r.team_id == team).cloned().ok_or(DomainError::NotFound("reply"))?;
        if let Some(shortcut) = patch.shortcut {
            r.shortcut = shortcut;
        }
        if let Some(title) = patch.title {
            r.title = title;
        }
        if let Some(body) = patch.body {
            r.body = body;
        }
        for (field, text) in [("shortcut", &r.shortcut), ("title", &r.title), ("body", &r.body)] {
            storable(field, text)?;
        }
        if s.shortcut_taken(team, r.owner_id, &r.shortcut, Some(id)) {
            return Err(DomainError::Conflict(DUPLICATE_SHORTCUT.into()));
        }
        r.updated_at = now();
        s.replies.insert(id, r.clone());
        Ok(r)
    }

    async fn delete_reply(&self, by: &Actor, id: ReplyId) -> DomainResult<CannedReply> {
        self.enter("delete_reply").await?;
        let mut s = self.state();
        let team = by.team();
        if s.replies.get(&id).is_none_or(|r| r.team_id != team) {
            return Err(DomainError::NotFound("reply"));
        }
        let reply = s.replies.remove(&id).expect("checked above");
        let details = serde_json::json!({ "shortcut": reply.shortcut, "title": reply.title, "scope": reply.scope });
        s.audit_push(Some(team), Some(by.user.id), "reply.deleted", "reply", Some(id.to_string()), &by.client, details);
        Ok(reply)
    }
}
