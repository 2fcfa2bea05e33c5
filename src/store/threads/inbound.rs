//! Inbound messages from verified webhooks: stored once per MessageSid with the raw receipt
//! (the thread's `last_inbound_at`, WhatsApp's window, moves with it), opt-out/opt-in applied,
//! and the thread's cancel-on-reply scheduled messages canceled. Messages that arrive together
//! on different threads are written by one statement and one commit (group commit): each
//! webhook is still answered only after the commit that holds it.

use super::rows::{CommittedRow, committed, preview};
use super::sql::{committed_columns, message_json};
use crate::store::group_commit::GroupCommit;
use crate::store::{PgStore, StoreError};
use actors::ids::*;
use actors::ports::*;
use sqlx::types::Json;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// The batches of inbound messages in flight.
pub(crate) type InboundCommits = GroupCommit<NewInbound, InboundOutcome>;

pub(crate) fn group() -> InboundCommits {
    GroupCommit::default()
}

/// The CTEs, for a batch `i` of messages on distinct threads (`$1`, a JSON array: its row count
/// is unknown to the planner, so the plan is made once and kept, and every table is reached
/// through its index by the ids the batch names), in the order they depend on each other:
/// - `rcpt`: the raw receipts, always (duplicates are part of what Twilio did);
/// - `ins`: the messages, but those whose MessageSid was stored before (nothing below happens
///   for those);
/// - `canceled`: their threads' scheduled cancel-on-reply messages (locks them before the
///   thread rows, the order every writer of a message and its thread uses);
/// - `lk`: their threads locked in id order before any is changed (two batches that share
///   threads, on one node or two, wait for each other instead of deadlocking);
/// - `t`: each thread moves up the inbox, one more unread, and its seq grows by one event for
///   the message and one per canceled message (the row lock orders writers on every node);
/// - `oo` and `c`: the contacts, opted out or back in when the text said so (`c` read once, not
///   once per row of the final join);
/// - `changed` and `e`: `message.created`, then one `message.updated` per canceled message, with
///   consecutive seqs per thread ending at `t`'s.
const RECORD_INBOUND: &str = concat!(
    "WITH i AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb)
          AS i(id uuid, team_id uuid, thread_id uuid, kind text, body text, media jsonb, sid text, raw jsonb, opt_out bool, preview text)),
     rcpt AS (
        INSERT INTO webhook_receipts (team_id, kind, message_sid, params) SELECT team_id, 'inbound', sid, raw FROM i),
     ins AS (
        INSERT INTO messages (id, team_id, thread_id, direction, channel_kind, body, media, status, provider_sid, raw)
        SELECT id, team_id, thread_id, 'inbound', kind, body, media, 'received', sid, raw FROM i
        ON CONFLICT (provider_sid) WHERE provider_sid IS NOT NULL DO NOTHING
        RETURNING *),
     canceled AS (
        UPDATE messages SET status = 'canceled', error_reason = 'canceled: the contact replied first', updated_at = now()
        WHERE thread_id = ANY(ARRAY(SELECT thread_id FROM ins)) AND status = 'scheduled' AND cancel_on_reply
        RETURNING *),
     gone AS (SELECT thread_id, count(*) AS n FROM canceled GROUP BY thread_id),
     lk AS MATERIALIZED (
        SELECT id FROM threads WHERE id = ANY(ARRAY(SELECT thread_id FROM ins)) ORDER BY id FOR UPDATE),
     t AS (
        UPDATE threads SET last_seq = last_seq + 1 + COALESCE(gone.n, 0),
               last_message_at = ins.created_at, last_inbound_at = ins.created_at,
               last_preview = i.preview, unread_count = unread_count + 1
        FROM ins JOIN i ON i.id = ins.id LEFT JOIN gone ON gone.thread_id = ins.thread_id
        WHERE threads.id = ins.thread_id AND threads.id = ANY(ARRAY(SELECT id FROM lk))
        RETURNING threads.*, i.opt_out, COALESCE(gone.n, 0) AS canceled_n),
     oo AS (
        UPDATE contacts SET opted_out_at = CASE WHEN t.opt_out THEN COALESCE(opted_out_at, now()) END, updated_at = now()
        FROM t WHERE t.opt_out IS NOT NULL AND contacts.id = t.contact_id
          AND contacts.id = ANY(ARRAY(SELECT contact_id FROM t WHERE opt_out IS NOT NULL))
        RETURNING contacts.*),
     c AS MATERIALIZED (
        SELECT * FROM oo
        UNION ALL
        SELECT * FROM contacts WHERE id = ANY(ARRAY(SELECT contact_id FROM t)) AND id <> ALL(ARRAY(SELECT id FROM oo))),
     changed AS (
        SELECT ins.*, 0::bigint AS n, 'message.created' AS type FROM ins
        UNION ALL
        SELECT canceled.*, row_number() OVER (PARTITION BY canceled.thread_id ORDER BY canceled.created_at, canceled.id), 'message.updated'
        FROM canceled),
     e AS (
        INSERT INTO thread_events (thread_id, seq, team_id, type, payload)
        SELECT m.thread_id, t.last_seq - t.canceled_n + m.n, m.team_id, m.type, ",
    message_json!(),
    " FROM changed m JOIN t ON t.id = m.thread_id RETURNING *)
     SELECT ",
    committed_columns!(),
    " - t.canceled_n AS t_scheduled_count
     FROM ins m JOIN e ON e.thread_id = m.thread_id JOIN t ON t.id = m.thread_id JOIN c ON c.id = t.contact_id
     JOIN channels ch ON ch.id = t.channel_id LEFT JOIN users u ON u.id = t.assignee_id
     ORDER BY m.thread_id, e.seq"
);

/// Stores an inbound message with its receipt (idempotent by MessageSid), applies opt-out/in
/// and cancels the thread's cancel-on-reply scheduled messages: in one statement, shared with
/// the inbound messages of other threads that arrive meanwhile.
pub(super) async fn record_inbound(store: &PgStore, m: NewInbound) -> Result<InboundOutcome, StoreError> {
    store.inbound.submit(m, |m| m.thread, |batch| record_batch(store, batch)).await
}

/// One statement for a batch of messages on distinct threads; one outcome per message, in order.
async fn record_batch(store: &PgStore, batch: Arc<[NewInbound]>) -> Result<Vec<InboundOutcome>, StoreError> {
    let rows: Vec<serde_json::Value> = batch
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": MessageId::new(), "team_id": m.team, "thread_id": m.thread, "kind": m.kind.as_str(), "body": m.body,
                "media": m.media, "sid": m.message_sid, "raw": m.raw, "opt_out": m.opt_out, "preview": preview(&m.body, m.media.len()),
            })
        })
        .collect();
    let rows: Vec<CommittedRow> = sqlx::query_as(RECORD_INBOUND).bind(Json(rows)).fetch_all(store.db()).await?;
    let mut by_thread: HashMap<Uuid, Vec<CommittedRow>> = HashMap::new();
    for row in rows {
        by_thread.entry(row.thread_id()).or_default().push(row);
    }
    Ok(batch
        .iter()
        .map(|m| match by_thread.remove(&m.thread.0).and_then(committed) {
            Some(done) => InboundOutcome::Stored(Box::new(done)),
            None => InboundOutcome::Duplicate,
        })
        .collect())
}
