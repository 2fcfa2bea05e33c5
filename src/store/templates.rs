//! Approved message templates (WhatsApp, SMS): a team's, listed by name with a keyset cursor on
//! (name, id). A Content sid is unique per team (a partial unique index), which is what a sync
//! upserts on; a deletion is recorded in the audit log in its own transaction.

use super::members::audit;
use super::{PgStore, StoreError, not_found, op};
use actors::DomainResult;
use actors::audit::Actor;
use actors::domain::ChannelKind;
use actors::ids::*;
use actors::ports::{Page, TemplateReads, TemplateWrites};
use actors::rules::campaigns::HOLDS_TEMPLATE;
use actors::rules::message_templates::{MessageTemplate, TemplateFields, TemplateVariable};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// The columns of a template, spelled once (a macro: sqlx takes only static SQL).
macro_rules! columns {
    () => {
        "id, team_id, name, channel_kind, content_sid, body, variables, created_by, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: Uuid,
    team_id: Uuid,
    name: String,
    #[sqlx(try_from = "String")]
    channel_kind: ChannelKind,
    content_sid: Option<String>,
    body: String,
    variables: Json<Vec<TemplateVariable>>,
    created_by: Option<Uuid>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<TemplateRow> for MessageTemplate {
    fn from(r: TemplateRow) -> MessageTemplate {
        MessageTemplate {
            id: TemplateId(r.id),
            team_id: TeamId(r.team_id),
            name: r.name,
            channel_kind: r.channel_kind,
            content_sid: r.content_sid,
            body: r.body,
            variables: r.variables.0,
            created_by: r.created_by.map(UserId),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The opaque cursor of a listing: the last row's name and id.
fn encode_cursor(r: &TemplateRow) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", r.name, r.id))
}

fn decode_cursor(s: &str) -> Result<(String, Uuid), StoreError> {
    let bad = || StoreError::invalid("cursor", "is not a cursor this server gave out");
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?).map_err(|_| bad())?;
    let (name, id) = raw.rsplit_once('|').ok_or_else(bad)?;
    if name.contains('\0') {
        return Err(bad());
    }
    Ok((name.to_owned(), id.parse().map_err(|_| bad())?))
}

#[async_trait]
impl TemplateReads for PgStore {
    async fn list_templates(
        &self,
        team: TeamId,
        kind: Option<ChannelKind>,
        after: Option<&str>,
        limit: i64,
    ) -> DomainResult<Page<MessageTemplate>> {
        op(async move {
            let after = after.map(decode_cursor).transpose()?;
            let rows: Vec<TemplateRow> = sqlx::query_as(concat!(
                "SELECT ",
                columns!(),
                " FROM message_templates
                 WHERE team_id = $1 AND ($2::text IS NULL OR channel_kind = $2)
                   AND ($3::text IS NULL OR (name, id) > ($3, $4))
                 ORDER BY name, id LIMIT $5"
            ))
            .bind(team.0)
            .bind(kind.map(|k| k.as_str()))
            .bind(after.as_ref().map(|a| a.0.as_str()))
            .bind(after.as_ref().map(|a| a.1))
            .bind(limit + 1)
            .fetch_all(self.db())
            .await?;
            Ok(super::contacts::page(rows, limit, encode_cursor))
        })
        .await
    }

    async fn template(&self, team: TeamId, id: TemplateId) -> DomainResult<MessageTemplate> {
        op(async move {
            let row: TemplateRow = sqlx::query_as(concat!("SELECT ", columns!(), " FROM message_templates WHERE team_id = $1 AND id = $2"))
                .bind(team.0)
                .bind(id.0)
                .fetch_one(self.db())
                .await
                .map_err(not_found("template"))?;
            Ok(row.into())
        })
        .await
    }
}

#[async_trait]
impl TemplateWrites for PgStore {
    async fn create_template(&self, team: TeamId, by: UserId, f: TemplateFields) -> DomainResult<MessageTemplate> {
        op(async move {
            let row: TemplateRow = sqlx::query_as(concat!(
                "INSERT INTO message_templates (id, team_id, name, channel_kind, content_sid, body, variables, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
                columns!()
            ))
            .bind(TemplateId::new().0)
            .bind(team.0)
            .bind(&f.name)
            .bind(f.channel_kind.as_str())
            .bind(&f.content_sid)
            .bind(&f.body)
            .bind(Json(&f.variables))
            .bind(by.0)
            .fetch_one(self.db())
            .await?;
            Ok(row.into())
        })
        .await
    }

    async fn update_template(&self, team: TeamId, id: TemplateId, f: TemplateFields) -> DomainResult<MessageTemplate> {
        op(async move {
            let row: TemplateRow = sqlx::query_as(concat!(
                "UPDATE message_templates SET name = $3, channel_kind = $4, content_sid = $5, body = $6, variables = $7, updated_at = now()
                 WHERE team_id = $1 AND id = $2 RETURNING ",
                columns!()
            ))
            .bind(team.0)
            .bind(id.0)
            .bind(&f.name)
            .bind(f.channel_kind.as_str())
            .bind(&f.content_sid)
            .bind(&f.body)
            .bind(Json(&f.variables))
            .fetch_one(self.db())
            .await
            .map_err(not_found("template"))?;
            Ok(row.into())
        })
        .await
    }

    async fn delete_template(&self, by: &Actor, id: TemplateId) -> DomainResult<MessageTemplate> {
        op(async move {
            let team = by.team();
            let mut tx = self.begin().await?;
            let holding: Vec<&str> = HOLDS_TEMPLATE.iter().map(|s| s.as_str()).collect();
            let user: Option<(String, String)> = sqlx::query_as(
                "SELECT name, status FROM campaigns
                 WHERE team_id = $1 AND content_template_id = $2 AND deleted_at IS NULL AND status = ANY($3)
                 ORDER BY created_at LIMIT 1",
            )
            .bind(team.0)
            .bind(id.0)
            .bind(&holding)
            .fetch_optional(tx.conn())
            .await?;
            if let Some((name, status)) = user {
                return Err(StoreError::Conflict(format!(
                    "the {status} campaign \u{201c}{name}\u{201d} sends this template: cancel it, or wait until it is done, before deleting the template"
                )));
            }
            let row: TemplateRow =
                sqlx::query_as(concat!("DELETE FROM message_templates WHERE team_id = $1 AND id = $2 RETURNING ", columns!()))
                    .bind(team.0)
                    .bind(id.0)
                    .fetch_one(tx.conn())
                    .await
                    .map_err(not_found("template"))?;
            let template = MessageTemplate::from(row);
            let details = json!({ "name": template.name, "content_sid": template.content_sid, "channel_kind": template.channel_kind });
            audit(&mut tx, team, by, "template.deleted", "template", id.to_string(), details).await?;
            tx.commit().await?;
            Ok(template)
        })
        .await
    }

    async fn upsert_synced(&self, team: TeamId, by: UserId, synced: Vec<TemplateFields>) -> DomainResult<Vec<MessageTemplate>> {
        op(async move {
            if synced.is_empty() {
                return Ok(vec![]);
            }
            let items: Vec<serde_json::Value> = synced
                .iter()
                .map(|f| {
                    json!({ "id": TemplateId::new(), "name": f.name, "channel_kind": f.channel_kind, "content_sid": f.content_sid,
                                 "body": f.body, "variables": f.variables })
                })
                .collect();
            // One statement: a row per item, updated by Content sid when it changed (an
            // unchanged template is not rewritten, and not told again).
            let rows: Vec<TemplateRow> = sqlx::query_as(concat!(
                "INSERT INTO message_templates (id, team_id, name, channel_kind, content_sid, body, variables, created_by)
                 SELECT i.id, $1, i.name, i.channel_kind, i.content_sid, i.body, i.variables, $2
                 FROM jsonb_to_recordset($3) AS i(id uuid, name text, channel_kind text, content_sid text, body text, variables jsonb)
                 ON CONFLICT (team_id, content_sid) WHERE content_sid IS NOT NULL DO UPDATE
                   SET name = EXCLUDED.name, body = EXCLUDED.body, variables = EXCLUDED.variables, updated_at = now()
                   WHERE (message_templates.name, message_templates.body, message_templates.variables)
                         IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.body, EXCLUDED.variables)
                 RETURNING ",
                columns!()
            ))
            .bind(team.0)
            .bind(by.0)
            .bind(Json(&items))
            .fetch_all(self.db())
            .await?;
            Ok(rows.into_iter().map(MessageTemplate::from).collect())
        })
        .await
    }
}
