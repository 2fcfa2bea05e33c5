//! Calls on threads and the voice settings of channels. A call's outcome is one row per CallSid
//! (the primary key): the insert that finds the row takes nothing further, so a retried callback
//! on any node writes nothing. The missed-call reply's once-per-period claim is a conditional
//! upsert in the same transaction as the call (`store::automation::claim_auto_reply`, shared
//! with the out-of-hours and first-message replies).

use super::events::{append_event, summary};
use crate::store::{PgStore, StoreError, not_found, op};
use actors::DomainResult;
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use async_trait::async_trait;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

const SETTINGS_COLUMNS: &str = "forward_to, ring_seconds, greeting, voicemail, missed_call_reply, missed_call_reply_hours";

#[derive(sqlx::FromRow)]
struct SettingsRow {
    forward_to: Option<String>,
    ring_seconds: i32,
    greeting: Option<String>,
    voicemail: bool,
    missed_call_reply: Option<String>,
    missed_call_reply_hours: i32,
}

impl From<SettingsRow> for ChannelSettings {
    fn from(r: SettingsRow) -> Self {
        ChannelSettings {
            forward_to: r.forward_to,
            ring_seconds: r.ring_seconds,
            greeting: r.greeting,
            voicemail: r.voicemail,
            missed_call_reply: r.missed_call_reply,
            missed_call_reply_hours: r.missed_call_reply_hours,
        }
    }
}

#[derive(sqlx::FromRow)]
struct CallRow {
    call_sid: String,
    thread_id: Uuid,
    #[sqlx(try_from = "String")]
    direction: Direction,
    #[sqlx(try_from = "String")]
    status: CallOutcome,
    duration: i32,
    recording_url: Option<String>,
    created_at: OffsetDateTime,
}

impl From<CallRow> for Call {
    fn from(r: CallRow) -> Self {
        Call {
            call_sid: r.call_sid,
            thread_id: ThreadId(r.thread_id),
            direction: r.direction,
            status: r.status,
            duration: r.duration,
            recording_url: r.recording_url,
            created_at: r.created_at,
        }
    }
}

const CALL_COLUMNS: &str = "call_sid, thread_id, direction, status, duration, recording_url, created_at";

#[async_trait]
impl CallReads for PgStore {
    async fn channel_settings(&self, team: TeamId, channel: ChannelId) -> DomainResult<ChannelSettings> {
        op(async move {
            let sql = format!("SELECT {SETTINGS_COLUMNS} FROM channels WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL");
            let row: SettingsRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(channel.0)
                .fetch_one(self.db())
                .await
                .map_err(not_found("channel"))?;
            Ok(row.into())
        })
        .await
    }

    async fn calls(&self, team: TeamId, thread: ThreadId) -> DomainResult<Vec<Call>> {
        op(async move {
            let sql =
                format!("SELECT {CALL_COLUMNS} FROM calls WHERE team_id = $1 AND thread_id = $2 ORDER BY created_at, call_sid LIMIT 500");
            let rows: Vec<CallRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team.0).bind(thread.0).fetch_all(self.db()).await?;
            Ok(rows.into_iter().map(Call::from).collect())
        })
        .await
    }
}

#[async_trait]
impl CallWrites for PgStore {
    async fn set_channel_settings(&self, team: TeamId, channel: ChannelId, s: &ChannelSettings) -> DomainResult<ChannelSettings> {
        op(async move {
            let sql = format!(
                "UPDATE channels SET forward_to = $3, ring_seconds = $4, greeting = $5, voicemail = $6, missed_call_reply = $7,
                        missed_call_reply_hours = $8
                 WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING {SETTINGS_COLUMNS}"
            );
            let row: SettingsRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(channel.0)
                .bind(&s.forward_to)
                .bind(s.ring_seconds)
                .bind(&s.greeting)
                .bind(s.voicemail)
                .bind(&s.missed_call_reply)
                .bind(s.missed_call_reply_hours)
                .fetch_one(self.db())
                .await
                .map_err(not_found("channel"))?;
            Ok(row.into())
        })
        .await
    }

    async fn record_call(&self, c: NewCall) -> DomainResult<Option<Committed<CallRecorded>>> {
        op(record_call(self, c)).await
    }
}

async fn record_call(store: &PgStore, c: NewCall) -> Result<Option<Committed<CallRecorded>>, StoreError> {
    let mut tx = store.begin().await?;
    let sql = format!(
        "INSERT INTO calls (call_sid, team_id, thread_id, direction, status, duration, recording_url, raw)
         SELECT $1, t.team_id, t.id, $4, $5, $6, $7, $8 FROM threads t WHERE t.team_id = $2 AND t.id = $3
         ON CONFLICT (call_sid) DO NOTHING RETURNING {CALL_COLUMNS}"
    );
    let row: Option<CallRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&c.call_sid)
        .bind(c.team.0)
        .bind(c.thread.0)
        .bind(c.direction.as_str())
        .bind(c.outcome.as_str())
        .bind(c.duration)
        .bind(&c.recording_url)
        .bind(Json(&c.raw))
        .fetch_optional(tx.conn())
        .await?;
    let Some(row) = row else {
        // Recorded before (or the thread is gone): nothing more is written.
        return Ok(None);
    };
    let call = Call::from(row);
    let reply_claimed = match c.reply {
        Some(claim) => crate::store::automation::claim_auto_reply(tx.conn(), claim).await?,
        None => false,
    };
    let missed = actors::rules::calls::missed(call.status);
    sqlx::query("UPDATE threads SET last_message_at = $2, last_preview = $3, unread_count = unread_count + $4 WHERE id = $1")
        .bind(c.thread.0)
        .bind(call.created_at)
        .bind(actors::rules::calls::preview(call.status, call.duration))
        .bind(i32::from(missed))
        .execute(tx.conn())
        .await?;
    let event = append_event(&mut tx, c.team, c.thread, event::CALL, None, None, serde_json::to_value(&call)?).await?;
    let thread = summary(tx.conn(), c.team, c.thread).await?;
    tx.commit().await?;
    Ok(Some(Committed { value: CallRecorded { call, reply_claimed }, events: vec![event], thread }))
}
