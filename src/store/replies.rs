//! Canned replies: a team's (owner NULL) and each agent's own, listed by shortcut with a keyset
//! cursor on (shortcut, id). A shortcut is unique per scope (partial unique indexes); a
//! deletion is recorded in the audit log in its own transaction.

use super::members::audit;
use super::{PgStore, StoreError, like_pattern, not_found, op};
use actors::DomainResult;
use actors::audit::Actor;
use actors::domain::{CannedReply, ReplyScope};
use actors::ids::*;
use actors::ports::{NewReply, Page, ReplyPatch, ReplyReads, ReplyWrites};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// The columns of a reply, spelled once (a macro: sqlx takes only static SQL).
macro_rules! columns {
    () => {
        "id, team_id, owner_id, shortcut, title, body, created_by, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct ReplyRow {
    id: Uuid,
    team_id: Uuid,
    owner_id: Option<Uuid>,
    shortcut: String,
    title: String,
    body: String,
    created_by: Option<Uuid>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<ReplyRow> for CannedReply {
    fn from(r: ReplyRow) -> CannedReply {
        CannedReply {
            id: ReplyId(r.id),
            team_id: TeamId(r.team_id),
            scope: if r.owner_id.is_some() { ReplyScope::Personal } else { ReplyScope::Team },
            owner_id: r.owner_id.map(UserId),
            shortcut: r.shortcut,
            title: r.title,
            body: r.body,
            created_by: r.created_by.map(UserId),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The opaque cursor of a listing: the last row's shortcut and id.
fn encode_cursor(r: &ReplyRow) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", r.shortcut, r.id))
}

fn decode_cursor(s: &str) -> Result<(String, Uuid), StoreError> {
    let bad = || StoreError::invalid("cursor", "is not a cursor this server gave out");
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?).map_err(|_| bad())?;
    let (shortcut, id) = raw.rsplit_once('|').ok_or_else(bad)?;
    if shortcut.contains('\0') {
        return Err(bad());
    }
    Ok((shortcut.to_owned(), id.parse().map_err(|_| bad())?))
}

#[async_trait]
impl ReplyReads for PgStore {
    async fn list_replies(
        &self,
        team: TeamId,
        viewer: UserId,
        search: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> DomainResult<Page<CannedReply>> {
        op(async move {
            let after = after.map(decode_cursor).transpose()?;
            let rows: Vec<ReplyRow> = sqlx::query_as(concat!(
                "SELECT ",
                columns!(),
                " FROM canned_replies
                 WHERE team_id = $1 AND (owner_id IS NULL OR owner_id = $2)
                   AND ($3::text IS NULL OR shortcut ILIKE $3 OR title ILIKE $3)
                   AND ($4::text IS NULL OR (shortcut, id) > ($4, $5))
                 ORDER BY shortcut, id LIMIT $6"
            ))
            .bind(team.0)
            .bind(viewer.0)
            .bind(search.map(like_pattern))
            .bind(after.as_ref().map(|a| a.0.as_str()))
            .bind(after.as_ref().map(|a| a.1))
            .bind(limit + 1)
            .fetch_all(self.db())
            .await?;
            Ok(super::contacts::page(rows, limit, encode_cursor))
        })
        .await
    }

    async fn reply(&self, team: TeamId, id: ReplyId) -> DomainResult<CannedReply> {
        op(async move {
            let row: ReplyRow = sqlx::query_as(concat!("SELECT ", columns!(), " FROM canned_replies WHERE team_id = $1 AND id = $2"))
                .bind(team.0)
                .bind(id.0)
                .fetch_one(self.db())
                .await
                .map_err(not_found("reply"))?;
            Ok(row.into())
        })
        .await
    }
}

#[async_trait]
impl ReplyWrites for PgStore {
    async fn create_reply(&self, new: NewReply) -> DomainResult<CannedReply> {
        op(async move {
            let row: ReplyRow = sqlx::query_as(concat!(
                "INSERT INTO canned_replies (id, team_id, owner_id, shortcut, title, body, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
                columns!()
            ))
            .bind(ReplyId::new().0)
            .bind(new.team.0)
            .bind(new.owner.map(|o| o.0))
            .bind(&new.shortcut)
            .bind(&new.title)
            .bind(&new.body)
            .bind(new.created_by.0)
            .fetch_one(self.db())
            .await?;
            Ok(row.into())
        })
        .await
    }

    async fn update_reply(&self, team: TeamId, id: ReplyId, patch: ReplyPatch) -> DomainResult<CannedReply> {
        op(async move {
            let row: ReplyRow = sqlx::query_as(concat!(
                "UPDATE canned_replies SET shortcut = COALESCE($3, shortcut), title = COALESCE($4, title),
                    body = COALESCE($5, body), updated_at = now()
                 WHERE team_id = $1 AND id = $2 RETURNING ",
                columns!()
            ))
            .bind(team.0)
            .bind(id.0)
            .bind(patch.shortcut)
            .bind(patch.title)
            .bind(patch.body)
            .fetch_one(self.db())
            .await
            .map_err(not_found("reply"))?;
            Ok(row.into())
        })
        .await
    }

    async fn delete_reply(&self, by: &Actor, id: ReplyId) -> DomainResult<CannedReply> {
        op(async move {
            let team = by.team();
            let mut tx = self.begin().await?;
            let row: ReplyRow = sqlx::query_as(concat!("DELETE FROM canned_replies WHERE team_id = $1 AND id = $2 RETURNING ", columns!()))
                .bind(team.0)
                .bind(id.0)
                .fetch_one(tx.conn())
                .await
                .map_err(not_found("reply"))?;
            let reply = CannedReply::from(row);
            let details = json!({ "shortcut": reply.shortcut, "title": reply.title, "scope": reply.scope });
            audit(&mut tx, team, by, "reply.deleted", "reply", id.to_string(), details).await?;
            tx.commit().await?;
            Ok(reply)
        })
        .await
    }
}
