//! Inbound messages from verified webhooks: stored once per MessageSid with the raw receipt,
//! opt-out/opt-in applied, and the thread's cancel-on-reply scheduled messages canceled.

use super::events::{bump_thread, load_message, message_event, summary};
use super::rows::{MESSAGE_COLUMNS, MessageRow};
use crate::store::{PgStore, StoreError};
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use sqlx::types::Json;
use uuid::Uuid;

/// Stores an inbound message with its receipt, idempotent by MessageSid (one transaction).
pub(super) async fn record_inbound(store: &PgStore, m: NewInbound) -> Result<InboundOutcome, StoreError> {
    let mut tx = store.begin().await?;
    let status = MessageStatus::Received;
    // Idempotent by MessageSid: a retried webhook inserts nothing.
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO messages (id, team_id, thread_id, direction, channel_kind, body, media, status, provider_sid, raw)
         VALUES ($1, $2, $3, 'inbound', $4, $5, $6, $7, $8, $9)
         ON CONFLICT (provider_sid) WHERE provider_sid IS NOT NULL DO NOTHING
         RETURNING {MESSAGE_COLUMNS}"
    ));
    let row: Option<MessageRow> = sqlx::query_as(sql)
        .bind(MessageId::new().0)
        .bind(m.team.0)
        .bind(m.thread.0)
        .bind(m.kind.as_str())
        .bind(&m.body)
        .bind(Json(&m.media))
        .bind(status.as_str())
        .bind(&m.message_sid)
        .bind(Json(&m.raw))
        .fetch_optional(tx.conn())
        .await?;
    // The raw receipt goes in the same transaction, duplicates included (they are part of
    // what Twilio did).
    sqlx::query("INSERT INTO webhook_receipts (team_id, kind, message_sid, params) VALUES ($1, 'inbound', $2, $3)")
        .bind(m.team.0)
        .bind(&m.message_sid)
        .bind(Json(&m.raw))
        .execute(tx.conn())
        .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(InboundOutcome::Duplicate);
    };
    let msg = Message::from(row);
    bump_thread(&mut tx, &msg, true).await?;
    if let Some(out) = m.opt_out {
        sqlx::query(
            "UPDATE contacts SET opted_out_at = CASE WHEN $2 THEN COALESCE(opted_out_at, now()) ELSE NULL END, updated_at = now()
             WHERE id = (SELECT contact_id FROM threads WHERE id = $1)",
        )
        .bind(m.thread.0)
        .bind(out)
        .execute(tx.conn())
        .await?;
    }
    let mut events = vec![message_event(&mut tx, &msg, event::MESSAGE_CREATED, None).await?];
    // The contact replied: scheduled messages marked "cancel if they reply" are canceled.
    let canceled: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE messages SET status = 'canceled', error_reason = 'canceled: the contact replied first', updated_at = now()
         WHERE thread_id = $1 AND status = 'scheduled' AND cancel_on_reply RETURNING id",
    )
    .bind(m.thread.0)
    .fetch_all(tx.conn())
    .await?;
    for id in canceled {
        let c = load_message(tx.conn(), MessageId(id)).await?;
        events.push(message_event(&mut tx, &c, event::MESSAGE_UPDATED, None).await?);
    }
    let thread = summary(tx.conn(), m.team, m.thread).await?;
    tx.commit().await?;
    Ok(InboundOutcome::Stored(Box::new(Committed { value: msg, events, thread })))
}
