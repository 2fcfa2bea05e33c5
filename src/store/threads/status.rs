//! Delivery status callbacks: the carrier's word on a message it accepted, applied
//! forward-only (a late or out-of-order callback never moves a message back). One statement per
//! callback; the same statement applies the callbacks that arrived before the send was recorded
//! (see `send::record_send`).

use super::rows::{CommittedRow, committed};
use super::sql::message_updated_tail;
use crate::store::{PgStore, StoreError};
use actors::domain::*;
use actors::ids::TeamId;
use actors::ports::*;
use serde_json::Value;
use sqlx::types::Json;

/// Moves the message with provider sid `$1` to status `$2` if its status is one of `$6` (those
/// that may become `$2`: the forward-only rule stays in `MessageStatus::may_become`), bumps the
/// thread's seq and appends `message.updated` with what changed (`status_json`). Under a
/// concurrent writer the UPDATE re-checks `$6` against the row's newest version, so the rule
/// holds without a separate lock. With a team `$7`, the callback's params `$5` are kept as its
/// status receipt (once per team, sid and status), whether or not the status moved.
const APPLY_STATUS: &str = concat!(
    "WITH rcpt AS (
        INSERT INTO webhook_receipts (team_id, kind, message_sid, params)
        SELECT $7, 'status', $1, $5 WHERE $7::uuid IS NOT NULL
        ON CONFLICT DO NOTHING),
     m AS (
        UPDATE messages SET status = $2,
               error_code = COALESCE($3, error_code), error_reason = COALESCE($4, error_reason),
               sent_at = CASE WHEN $2 IN ('sent', 'delivered', 'read') THEN COALESCE(sent_at, now()) ELSE sent_at END,
               delivered_at = CASE WHEN $2 IN ('delivered', 'read') THEN COALESCE(delivered_at, now()) ELSE delivered_at END,
               read_at = CASE WHEN $2 = 'read' THEN now() ELSE read_at END,
               raw = COALESCE($5, raw), updated_at = now()
        WHERE provider_sid = $1 AND status = ANY($6)
        RETURNING *),
     ",
    message_updated_tail!(status_json, "")
);

/// Applies a status callback by provider sid, keeping it as the team's receipt when asked;
/// `None` when it changes nothing (unknown sid, or not a step forward). One statement.
pub(super) async fn apply_status(
    store: &PgStore,
    sid: &str,
    status: MessageStatus,
    error_code: Option<i32>,
    reason: Option<String>,
    raw: Value,
    receipt: Option<TeamId>,
) -> Result<Option<Committed<Message>>, StoreError> {
    write_status(store, sid, status, error_code, reason, Some(raw), receipt).await
}

/// A status already kept as a receipt (applied when the send recorded its sid); `raw` is kept
/// on the message when given.
pub(super) async fn update_status(
    store: &PgStore,
    sid: &str,
    status: MessageStatus,
    error_code: Option<i32>,
    reason: Option<String>,
    raw: Option<Value>,
) -> Result<Option<Committed<Message>>, StoreError> {
    write_status(store, sid, status, error_code, reason, raw, None).await
}

/// The one statement behind both.
async fn write_status(
    store: &PgStore,
    sid: &str,
    status: MessageStatus,
    error_code: Option<i32>,
    reason: Option<String>,
    raw: Option<Value>,
    receipt: Option<TeamId>,
) -> Result<Option<Committed<Message>>, StoreError> {
    let from: Vec<&str> = MessageStatus::ALL.iter().filter(|s| s.may_become(status)).map(|s| s.as_str()).collect();
    let rows: Vec<CommittedRow> = sqlx::query_as(APPLY_STATUS)
        .bind(sid)
        .bind(status.as_str())
        .bind(error_code)
        .bind(reason)
        .bind(raw.map(Json))
        .bind(&from)
        .bind(receipt.map(|t| t.0))
        .fetch_all(store.db())
        .await?;
    Ok(committed(rows))
}

/// The status that status callbacks kept as receipts (before the send's sid was recorded) add
/// up to, applied forward-only in arrival order from `sent`, with the error code of the one
/// that decided it.
pub(super) fn early_outcome(receipts: &[Value]) -> Option<(MessageStatus, Option<i32>)> {
    let mut best = None;
    let mut current = MessageStatus::Sent;
    for params in receipts {
        let Some(status) = params["MessageStatus"].as_str().and_then(MessageStatus::from_twilio) else { continue };
        if current.may_become(status) {
            current = status;
            // Twilio sends "0" or nothing for "no error"; anything that is not a number is
            // no code at all.
            let code = params["ErrorCode"].as_str().and_then(|c| c.parse::<i32>().ok()).filter(|c| *c != 0);
            best = Some((status, code));
        }
    }
    best
}
