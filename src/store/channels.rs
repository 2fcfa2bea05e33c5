//! Channels (a team's Twilio numbers) and the webhook lookups that find them.

use super::{PgStore, db, parse};
use actors::domain::{Channel, ChannelKind, MessageStatus};
use actors::ids::*;
use actors::ports::{ChannelStore, NewChannel};
use actors::{DomainError, DomainResult};
use async_trait::async_trait;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
pub(crate) struct ChannelRow {
    id: Uuid,
    team_id: Uuid,
    kind: String,
    number: String,
    account_sid: String,
    auth_token: String,
    messaging_service_sid: Option<String>,
    simulated: bool,
}

impl ChannelRow {
    pub(crate) fn into_channel(self) -> DomainResult<Channel> {
        Ok(Channel {
            id: ChannelId(self.id),
            team_id: TeamId(self.team_id),
            kind: parse(&self.kind)?,
            number: self.number,
            account_sid: self.account_sid,
            auth_token: self.auth_token.into(),
            messaging_service_sid: self.messaging_service_sid,
            simulated: self.simulated,
        })
    }
}

#[async_trait]
impl ChannelStore for PgStore {
    async fn channels(&self, team: TeamId) -> DomainResult<Vec<Channel>> {
        let rows: Vec<ChannelRow> = sqlx::query_as(
            "SELECT id, team_id, kind, number, account_sid, auth_token, messaging_service_sid, simulated FROM channels
             WHERE team_id = $1 AND deleted_at IS NULL ORDER BY simulated, kind, created_at",
        )
        .bind(team.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(ChannelRow::into_channel).collect()
    }

    async fn create_channel(&self, team: TeamId, ch: NewChannel) -> DomainResult<Channel> {
        let row: ChannelRow = sqlx::query_as(
            "INSERT INTO channels (id, team_id, kind, number, account_sid, auth_token, messaging_service_sid, simulated)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             RETURNING id, team_id, kind, number, account_sid, auth_token, messaging_service_sid, simulated",
        )
        .bind(ChannelId::new().0)
        .bind(team.0)
        .bind(ch.kind.as_str())
        .bind(&ch.number)
        .bind(&ch.account_sid)
        .bind(&ch.auth_token)
        .bind(&ch.messaging_service_sid)
        .bind(ch.simulated)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        row.into_channel()
    }

    async fn delete_channel(&self, team: TeamId, id: ChannelId) -> DomainResult<()> {
        let done = sqlx::query("UPDATE channels SET deleted_at = now() WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(team.0)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("channel"));
        }
        Ok(())
    }

    async fn channel_for_webhook(
        &self,
        account_sid: &str,
        number: Option<&str>,
        kind: ChannelKind,
        service_sid: Option<&str>,
    ) -> DomainResult<Option<Channel>> {
        // The receiving number identifies the channel; a messaging service is the fallback when
        // the number itself is not configured.
        sqlx::query_as::<_, ChannelRow>(
            "SELECT id, team_id, kind, number, account_sid, auth_token, messaging_service_sid, simulated FROM channels
             WHERE deleted_at IS NULL AND account_sid = $1 AND kind = $3
               AND (number = $2 OR ($4::text IS NOT NULL AND messaging_service_sid = $4))
             ORDER BY (number = $2) DESC LIMIT 1",
        )
        .bind(account_sid)
        .bind(number)
        .bind(kind.as_str())
        .bind(service_sid)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(ChannelRow::into_channel)
        .transpose()
    }

    async fn message_for_sid(&self, sid: &str) -> DomainResult<Option<(Channel, ThreadId, MessageStatus)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            channel: ChannelRow,
            thread_id: Uuid,
            status: String,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT ch.id, ch.team_id, ch.kind, ch.number, ch.account_sid, ch.auth_token, ch.messaging_service_sid, ch.simulated,
                    m.thread_id, m.status
             FROM messages m JOIN threads t ON t.id = m.thread_id JOIN channels ch ON ch.id = t.channel_id
             WHERE m.provider_sid = $1",
        )
        .bind(sid)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| Ok((r.channel.into_channel()?, ThreadId(r.thread_id), parse(&r.status)?))).transpose()
    }

    async fn record_receipt(&self, team: TeamId, kind: &str, sid: Option<&str>, params: serde_json::Value) -> DomainResult<()> {
        sqlx::query("INSERT INTO webhook_receipts (team_id, kind, message_sid, params) VALUES ($1, $2, $3, $4)")
            .bind(team.0)
            .bind(kind)
            .bind(sid)
            .bind(sqlx::types::Json(params))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}
