//! Outbound messages and their delivery: storing one (queued or scheduled), handing it to the
//! carrier, recording the carrier's answer and its status callbacks (forward-only), and editing
//! or canceling one while it is still scheduled.

use super::events::{bump_thread, load_message, message_event, message_updated, summary};
use super::rows::{MESSAGE_COLUMNS, MessageRow};
use crate::store::Tx;
use crate::store::channels::ChannelRow;
use crate::store::{PgStore, StoreError, not_found};
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// Stores an outbound message, queued or scheduled, with its `message.created` event (one
/// transaction).
pub(super) async fn create_outbound(store: &PgStore, m: NewOutbound) -> Result<Committed<Message>, StoreError> {
    let mut tx = store.begin().await?;
    let kind: String =
        sqlx::query_scalar("SELECT ch.kind FROM threads t JOIN channels ch ON ch.id = t.channel_id WHERE t.team_id = $1 AND t.id = $2")
            .bind(m.team.0)
            .bind(m.thread.0)
            .fetch_one(tx.conn())
            .await
            .map_err(not_found("thread"))?;
    let media: Vec<Media> = m.media_urls.iter().map(|u| Media { url: u.clone(), content_type: None }).collect();
    let status = if m.send_at.is_some() { MessageStatus::Scheduled } else { MessageStatus::Queued };
    // An immediate send is claimed at once: if the process dies before the carrier answers,
    // the stale sweep fails it instead of sending it again.
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO messages (id, team_id, thread_id, direction, channel_kind, body, media, status, author_id, scheduled_at,
                               cancel_on_reply, claimed_at)
         VALUES ($1, $2, $3, 'outbound', $4, $5, $6, $7, $8, $9, $10, CASE WHEN $9::timestamptz IS NULL THEN now() END)
         RETURNING {MESSAGE_COLUMNS}"
    ));
    let row: MessageRow = sqlx::query_as(sql)
        .bind(MessageId::new().0)
        .bind(m.team.0)
        .bind(m.thread.0)
        .bind(&kind)
        .bind(&m.body)
        .bind(Json(&media))
        .bind(status.as_str())
        .bind(m.author.map(|a| a.0))
        .bind(m.send_at)
        .bind(m.cancel_on_reply)
        .fetch_one(tx.conn())
        .await?;
    let msg = Message::from(row);
    if status != MessageStatus::Scheduled {
        bump_thread(&mut tx, &msg, false).await?;
    }
    let event = message_event(&mut tx, &msg, event::MESSAGE_CREATED, m.author).await?;
    let thread = summary(tx.conn(), m.team, m.thread).await?;
    tx.commit().await?;
    Ok(Committed { value: msg, events: vec![event], thread })
}

/// What the carrier needs for a message.
pub(super) async fn outgoing(store: &PgStore, message: MessageId) -> Result<Outgoing, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        channel: ChannelRow,
        phone: String,
        opted_out: bool,
    }
    let msg = load_message(store.db(), message).await?;
    let row: Row = sqlx::query_as(
        "SELECT ch.id, ch.team_id, ch.kind, ch.number, ch.account_sid, ch.auth_token, ch.messaging_service_sid, ch.simulated,
                c.phone, c.opted_out_at IS NOT NULL AS opted_out
         FROM threads t JOIN contacts c ON c.id = t.contact_id JOIN channels ch ON ch.id = t.channel_id
         WHERE t.id = $1",
    )
    .bind(msg.thread_id.0)
    .fetch_one(store.db())
    .await
    .map_err(not_found("thread"))?;
    Ok(Outgoing { message: msg, channel: row.channel.into(), to: row.phone, opted_out: row.opted_out })
}

/// Records the carrier's answer if the message still waits for it (one transaction).
pub(super) async fn record_send(
    store: &PgStore,
    message: MessageId,
    outcome: SendOutcome,
) -> Result<Option<Committed<Message>>, StoreError> {
    let mut tx = store.begin().await?;
    let (status, sid, code, reason) = match outcome {
        SendOutcome::Sent { sid } => (MessageStatus::Sent, Some(sid), None, None),
        SendOutcome::Failed { code, reason } => (MessageStatus::Failed, None, code, Some(reason)),
    };
    // Only a message still waiting for the carrier takes its answer (the stale sweep may
    // have failed it meanwhile).
    let updated: Option<Uuid> = sqlx::query_scalar(
        "UPDATE messages SET status = $2, provider_sid = $3, error_code = $4, error_reason = $5,
                sent_at = CASE WHEN $2 = 'sent' THEN now() END, updated_at = now()
         WHERE id = $1 AND status IN ('queued', 'sending') RETURNING id",
    )
    .bind(message.0)
    .bind(status.as_str())
    .bind(&sid)
    .bind(code)
    .bind(&reason)
    .fetch_optional(tx.conn())
    .await?;
    if updated.is_none() {
        return Ok(None);
    }
    if let Some(sid) = &sid {
        apply_early_callbacks(&mut tx, message, sid).await?;
    }
    let committed = message_updated(&mut tx, message, None).await?;
    tx.commit().await?;
    Ok(Some(committed))
}

/// Applies a status callback, forward-only (one transaction).
pub(super) async fn apply_status(
    store: &PgStore,
    sid: &str,
    status: MessageStatus,
    error_code: Option<i32>,
    reason: Option<String>,
    raw: Value,
) -> Result<Option<Committed<Message>>, StoreError> {
    let mut tx = store.begin().await?;
    let current: Option<(Uuid, String)> =
        sqlx::query_as("SELECT id, status FROM messages WHERE provider_sid = $1 FOR UPDATE").bind(sid).fetch_optional(tx.conn()).await?;
    let Some((id, current)) = current else {
        return Ok(None);
    };
    let current: MessageStatus = current.parse()?;
    if !current.may_become(status) {
        return Ok(None);
    }
    sqlx::query(
        "UPDATE messages SET status = $2,
                error_code = COALESCE($3, error_code), error_reason = COALESCE($4, error_reason),
                sent_at = CASE WHEN $2 IN ('sent', 'delivered', 'read') THEN COALESCE(sent_at, now()) ELSE sent_at END,
                delivered_at = CASE WHEN $2 IN ('delivered', 'read') THEN COALESCE(delivered_at, now()) ELSE delivered_at END,
                read_at = CASE WHEN $2 = 'read' THEN now() ELSE read_at END,
                raw = $5, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(error_code)
    .bind(reason)
    .bind(Json(raw))
    .execute(tx.conn())
    .await?;
    let committed = message_updated(&mut tx, MessageId(id), None).await?;
    tx.commit().await?;
    Ok(Some(committed))
}

/// Edits a still-scheduled message (one transaction).
pub(super) async fn edit_scheduled(
    store: &PgStore,
    team: TeamId,
    message: MessageId,
    actor: UserId,
    body: Option<String>,
    send_at: Option<OffsetDateTime>,
) -> Result<Committed<Message>, StoreError> {
    let mut tx = store.begin().await?;
    lock_scheduled(&mut tx, team, message).await?;
    sqlx::query(
        "UPDATE messages SET body = COALESCE($2, body), scheduled_at = COALESCE($3, scheduled_at), updated_at = now() WHERE id = $1",
    )
    .bind(message.0)
    .bind(body)
    .bind(send_at)
    .execute(tx.conn())
    .await?;
    let committed = message_updated(&mut tx, message, Some(actor)).await?;
    tx.commit().await?;
    Ok(committed)
}

/// Cancels a still-scheduled message (one transaction).
pub(super) async fn cancel_scheduled(
    store: &PgStore,
    team: TeamId,
    message: MessageId,
    actor: UserId,
) -> Result<Committed<Message>, StoreError> {
    let mut tx = store.begin().await?;
    // Claiming moves a due row to `sending` under a row lock, so a cancel either lands first
    // (and the claim skips the row) or finds it no longer scheduled: never both.
    lock_scheduled(&mut tx, team, message).await?;
    sqlx::query("UPDATE messages SET status = 'canceled', updated_at = now() WHERE id = $1").bind(message.0).execute(tx.conn()).await?;
    let committed = message_updated(&mut tx, message, Some(actor)).await?;
    tx.commit().await?;
    Ok(committed)
}

/// Status callbacks that arrived before the send's sid was recorded (kept as receipts by the
/// webhook) are applied now, forward-only, as one change.
pub(super) async fn apply_early_callbacks(tx: &mut Tx<'_>, message: MessageId, sid: &str) -> Result<(), StoreError> {
    let receipts: Vec<Json<Value>> =
        sqlx::query_scalar("SELECT params FROM webhook_receipts WHERE kind = 'status' AND message_sid = $1 ORDER BY id")
            .bind(sid)
            .fetch_all(tx.conn())
            .await?;
    let mut best: Option<(MessageStatus, Option<i32>)> = None;
    let mut current = MessageStatus::Sent;
    for Json(params) in receipts {
        let Some(status) = params["MessageStatus"].as_str().and_then(MessageStatus::from_twilio) else { continue };
        if current.may_become(status) {
            current = status;
            let code = params["ErrorCode"].as_str().and_then(|c| c.parse().ok()).filter(|c: &i32| *c != 0);
            best = Some((status, code));
        }
    }
    let Some((status, code)) = best else { return Ok(()) };
    sqlx::query(
        "UPDATE messages SET status = $2, error_code = COALESCE($3, error_code), error_reason = COALESCE($4, error_reason),
                delivered_at = CASE WHEN $2 IN ('delivered', 'read') THEN now() ELSE delivered_at END,
                read_at = CASE WHEN $2 = 'read' THEN now() ELSE read_at END, updated_at = now()
         WHERE id = $1",
    )
    .bind(message.0)
    .bind(status.as_str())
    .bind(code)
    .bind(code.map(twilio_error_reason))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Locks a message of the team that is still `scheduled`: NotFound for another team's or a
/// missing one, Conflict once it has moved on (claimed, sent, canceled).
pub(super) async fn lock_scheduled(tx: &mut Tx<'_>, team: TeamId, message: MessageId) -> Result<(), StoreError> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM messages WHERE team_id = $1 AND id = $2 FOR UPDATE")
        .bind(team.0)
        .bind(message.0)
        .fetch_optional(tx.conn())
        .await?;
    match status.as_deref() {
        None => Err(StoreError::NotFound("message")),
        Some("scheduled") => Ok(()),
        Some(other) => Err(StoreError::Conflict(format!("the message is no longer scheduled (it is {other})"))),
    }
}
