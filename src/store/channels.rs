//! Channels (a team's Twilio numbers) and the webhook lookups that find them.

use super::secrets::Sealer;
use super::{PgStore, StoreError, op};
use actors::DomainResult;
use actors::domain::{Channel, ChannelKind, MessageStatus};
use actors::ids::*;
use actors::ports::{ChannelReads, ChannelWrites, NewChannel};
use async_trait::async_trait;
use uuid::Uuid;

/// The columns of a [`ChannelRow`] from `channels ch`, `ch_`-prefixed so they can share a row
/// with a message's.
macro_rules! channel_columns {
    () => {
        "ch.id AS ch_id, ch.team_id AS ch_team_id, ch.kind AS ch_kind, ch.number AS ch_number, ch.account_sid AS ch_account_sid,
         ch.auth_token AS ch_auth_token, ch.messaging_service_sid AS ch_messaging_service_sid, ch.simulated AS ch_simulated"
    };
}
pub(crate) use channel_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct ChannelRow {
    #[sqlx(rename = "ch_id")]
    id: Uuid,
    #[sqlx(rename = "ch_team_id")]
    team_id: Uuid,
    #[sqlx(rename = "ch_kind", try_from = "String")]
    kind: ChannelKind,
    #[sqlx(rename = "ch_number")]
    number: String,
    #[sqlx(rename = "ch_account_sid")]
    account_sid: String,
    #[sqlx(rename = "ch_auth_token")]
    auth_token: String,
    #[sqlx(rename = "ch_messaging_service_sid")]
    messaging_service_sid: Option<String>,
    #[sqlx(rename = "ch_simulated")]
    simulated: bool,
}

impl ChannelRow {
    /// The channel, its auth token opened with `sealer`.
    pub(crate) fn open(self, sealer: &Sealer) -> Result<Channel, StoreError> {
        Ok(Channel {
            id: ChannelId(self.id),
            team_id: TeamId(self.team_id),
            kind: self.kind,
            number: self.number,
            account_sid: self.account_sid,
            auth_token: sealer.open(&self.auth_token)?.into(),
            messaging_service_sid: self.messaging_service_sid,
            simulated: self.simulated,
        })
    }
}

#[async_trait]
impl ChannelReads for PgStore {
    async fn channels(&self, team: TeamId) -> DomainResult<Vec<Channel>> {
        op(async move {
            let rows: Vec<ChannelRow> = sqlx::query_as(concat!(
                "SELECT ",
                channel_columns!(),
                " FROM channels ch WHERE ch.team_id = $1 AND ch.deleted_at IS NULL ORDER BY ch.simulated, ch.kind, ch.created_at"
            ))
            .bind(team.0)
            .fetch_all(self.db())
            .await?;
            rows.into_iter().map(|r| r.open(&self.sealer)).collect()
        })
        .await
    }

    async fn channels_for_webhook(
        &self,
        account_sid: &str,
        number: Option<&str>,
        kind: ChannelKind,
        service_sid: Option<&str>,
    ) -> DomainResult<Vec<Channel>> {
        op(async move {
            // The receiving number identifies the channel; a messaging service is the fallback when
            // the number itself is not configured. Oldest first among equals.
            let rows: Vec<ChannelRow> = sqlx::query_as(concat!(
                "SELECT ",
                channel_columns!(),
                " FROM channels ch
                     WHERE ch.deleted_at IS NULL AND ch.account_sid = $1 AND ch.kind = $3
                       AND (ch.number = $2 OR ($4::text IS NOT NULL AND ch.messaging_service_sid = $4))
                     ORDER BY (ch.number = $2) DESC, ch.created_at LIMIT 20"
            ))
            .bind(account_sid)
            .bind(number)
            .bind(kind.as_str())
            .bind(service_sid)
            .fetch_all(self.db())
            .await?;
            rows.into_iter().map(|r| r.open(&self.sealer)).collect()
        })
        .await
    }

    async fn message_for_sid(&self, sid: &str) -> DomainResult<Option<(Channel, ThreadId, MessageStatus)>> {
        op(async move {
            #[derive(sqlx::FromRow)]
            struct Row {
                #[sqlx(flatten)]
                channel: ChannelRow,
                thread_id: Uuid,
                #[sqlx(try_from = "String")]
                status: MessageStatus,
            }
            let row: Option<Row> = sqlx::query_as(concat!(
                "SELECT ",
                channel_columns!(),
                ", m.thread_id, m.status
                 FROM messages m JOIN threads t ON t.id = m.thread_id JOIN channels ch ON ch.id = t.channel_id
                 WHERE m.provider_sid = $1"
            ))
            .bind(sid)
            .fetch_optional(self.db())
            .await?;
            row.map(|r| Ok((r.channel.open(&self.sealer)?, ThreadId(r.thread_id), r.status))).transpose()
        })
        .await
    }

    async fn message_channel(&self, message: MessageId) -> DomainResult<Option<(Channel, ThreadId)>> {
        op(async move {
            #[derive(sqlx::FromRow)]
            struct Row {
                #[sqlx(flatten)]
                channel: ChannelRow,
                thread_id: Uuid,
            }
            let row: Option<Row> = sqlx::query_as(concat!(
                "SELECT ",
                channel_columns!(),
                ", m.thread_id
                 FROM messages m JOIN threads t ON t.id = m.thread_id JOIN channels ch ON ch.id = t.channel_id
                 WHERE m.id = $1 AND m.direction = 'outbound'"
            ))
            .bind(message.0)
            .fetch_optional(self.db())
            .await?;
            row.map(|r| Ok((r.channel.open(&self.sealer)?, ThreadId(r.thread_id)))).transpose()
        })
        .await
    }
}

#[async_trait]
impl ChannelWrites for PgStore {
    async fn create_channel(&self, team: TeamId, ch: NewChannel) -> DomainResult<Channel> {
        op(async move {
            let row: ChannelRow = sqlx::query_as(concat!(
                "INSERT INTO channels AS ch (id, team_id, kind, number, account_sid, auth_token, messaging_service_sid, simulated)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
                channel_columns!()
            ))
            .bind(ChannelId::new().0)
            .bind(team.0)
            .bind(ch.kind.as_str())
            .bind(&ch.number)
            .bind(&ch.account_sid)
            .bind(self.sealer.seal(&ch.auth_token))
            .bind(&ch.messaging_service_sid)
            .bind(ch.simulated)
            .fetch_one(self.db())
            .await?;
            row.open(&self.sealer)
        })
        .await
    }

    async fn delete_channel(&self, team: TeamId, id: ChannelId) -> DomainResult<()> {
        op(async move {
            let done = sqlx::query("UPDATE channels SET deleted_at = now() WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL")
                .bind(team.0)
                .bind(id.0)
                .execute(self.db())
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("channel"));
            }
            Ok(())
        })
        .await
    }

    async fn record_receipt(&self, team: TeamId, kind: &str, sid: Option<&str>, params: serde_json::Value) -> DomainResult<()> {
        op(async move {
            // A status receipt is kept once per (team, sid, status): replays add nothing.
            sqlx::query("INSERT INTO webhook_receipts (team_id, kind, message_sid, params) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(team.0)
                .bind(kind)
                .bind(sid)
                .bind(sqlx::types::Json(params))
                .execute(self.db())
                .await?;
            Ok(())
        })
        .await
    }
}
