//! Delivery status callbacks: the carrier's word on a message it accepted, applied
//! forward-only (a late or out-of-order callback never moves a message back). Callbacks that
//! arrive together (for different messages) are applied by one statement and one commit (group
//! commit), each answered only after it; the same statement applies the callbacks that arrived
//! before the send was recorded (see `send::record_send`).

use super::rows::{CommittedRow, committed};
use super::sql::{bump_seqs, committed_columns, status_json, summary_joins};
use crate::store::group_commit::GroupCommit;
use crate::store::{PgStore, StoreError};
use actors::domain::*;
use actors::ids::TeamId;
use actors::ports::*;
use serde_json::Value;
use sqlx::types::Json;
use std::collections::HashMap;
use std::sync::Arc;

/// One status change to apply.
#[derive(Clone, Debug)]
pub(crate) struct StatusChange {
    sid: String,
    status: MessageStatus,
    error_code: Option<i32>,
    reason: Option<String>,
    /// Kept on the message when given.
    raw: Option<Value>,
    /// Keep `raw` as this team's status receipt too.
    receipt: Option<TeamId>,
}

/// The batches of status changes in flight.
pub(crate) type StatusCommits = GroupCommit<StatusChange, Option<Committed<Message>>>;

pub(crate) fn group() -> StatusCommits {
    GroupCommit::default()
}

/// For a batch `i` of status changes (`$1`, a JSON array, distinct sids): keeps the receipts
/// asked for (once per team, sid and status, whether or not the status moves), moves each
/// message whose status is one of its `from` (those that may become the new one: the
/// forward-only rule stays in `MessageStatus::may_become`), locks their threads in id order
/// (`lk`: two batches that share threads wait instead of deadlocking), bumps each thread's seq
/// by its messages that moved and appends one `message.updated` each with what changed
/// (`status_json`). Under a concurrent writer the UPDATE re-checks `from` against the row's
/// newest version, so the rule holds without a separate lock.
const APPLY_STATUS: &str = concat!(
    "WITH i AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb)
          AS i(sid text, status text, error_code int, reason text, raw jsonb, from_statuses text[], receipt uuid)),
     rcpt AS (
        INSERT INTO webhook_receipts (team_id, kind, message_sid, params)
        SELECT receipt, 'status', sid, raw FROM i WHERE receipt IS NOT NULL
        ON CONFLICT DO NOTHING),
     m AS (
        UPDATE messages SET status = i.status,
               error_code = COALESCE(i.error_code, messages.error_code), error_reason = COALESCE(i.reason, messages.error_reason),
               sent_at = CASE WHEN i.status IN ('sent', 'delivered', 'read') THEN COALESCE(sent_at, now()) ELSE sent_at END,
               delivered_at = CASE WHEN i.status IN ('delivered', 'read') THEN COALESCE(delivered_at, now()) ELSE delivered_at END,
               read_at = CASE WHEN i.status = 'read' THEN now() ELSE read_at END,
               raw = COALESCE(i.raw, messages.raw), updated_at = now()
        FROM i
        WHERE messages.provider_sid = i.sid AND messages.provider_sid = ANY(ARRAY(SELECT sid FROM i))
          AND messages.status = ANY(i.from_statuses)
        RETURNING messages.*),
",
    bump_seqs!("m"),
    "
     e AS (
        INSERT INTO thread_events (thread_id, seq, team_id, type, payload)
        SELECT m.thread_id, t.last_seq - t.n + row_number() OVER (PARTITION BY m.thread_id ORDER BY m.id), m.team_id, 'message.updated', ",
    status_json!(),
    " FROM m JOIN t ON t.id = m.thread_id RETURNING *)
     SELECT ",
    committed_columns!(),
    " AS t_scheduled_count
     FROM m JOIN e ON e.thread_id = m.thread_id AND e.payload->>'id' = m.id::text JOIN t ON t.id = m.thread_id",
    summary_joins!()
);

/// Applies a status callback by provider sid, keeping it as the team's receipt when asked;
/// `None` when it changes nothing (unknown sid, or not a step forward).
pub(super) async fn apply_status(
    store: &PgStore,
    sid: &str,
    status: MessageStatus,
    error_code: Option<i32>,
    reason: Option<String>,
    raw: Value,
    receipt: Option<TeamId>,
) -> Result<Option<Committed<Message>>, StoreError> {
    write_status(store, StatusChange { sid: sid.to_owned(), status, error_code, reason, raw: Some(raw), receipt }).await
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
    write_status(store, StatusChange { sid: sid.to_owned(), status, error_code, reason, raw, receipt: None }).await
}

async fn write_status(store: &PgStore, change: StatusChange) -> Result<Option<Committed<Message>>, StoreError> {
    store.statuses.submit(change, |c| c.sid.clone(), |batch| apply_batch(store, batch)).await
}

/// One statement for a batch of changes of distinct sids; one outcome per change, in order.
async fn apply_batch(store: &PgStore, batch: Arc<[StatusChange]>) -> Result<Vec<Option<Committed<Message>>>, StoreError> {
    let rows: Vec<Value> = batch
        .iter()
        .map(|c| {
            let from: Vec<&str> = MessageStatus::ALL.iter().filter(|s| s.may_become(c.status)).map(|s| s.as_str()).collect();
            serde_json::json!({
                "sid": c.sid, "status": c.status.as_str(), "error_code": c.error_code, "reason": c.reason,
                "raw": c.raw, "from_statuses": from, "receipt": c.receipt,
            })
        })
        .collect();
    let rows: Vec<CommittedRow> = sqlx::query_as(APPLY_STATUS).bind(Json(rows)).fetch_all(store.db()).await?;
    let mut by_sid: HashMap<String, Vec<CommittedRow>> = HashMap::new();
    for row in rows {
        by_sid.entry(row.message_sid().unwrap_or_default().to_owned()).or_default().push(row);
    }
    Ok(batch.iter().map(|c| by_sid.remove(&c.sid).and_then(committed)).collect())
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
