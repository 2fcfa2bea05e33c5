//! Inbound messages from verified webhooks: stored once per MessageSid with the raw receipt
//! (the thread's `last_inbound_at`, WhatsApp's window, moves with it), opt-out/opt-in applied, and the thread's cancel-on-reply scheduled messages canceled, all in
//! one statement.

use super::rows::{CommittedRow, committed, preview};
use super::sql::{event_columns, message_columns, message_json, scheduled_count, summary_columns};
use crate::store::{PgStore, StoreError};
use actors::ids::*;
use actors::ports::*;
use sqlx::types::Json;

/// The CTEs, in the order they depend on each other:
/// - `rcpt`: the raw receipt, always (duplicates are part of what Twilio did);
/// - `ins`: the message, unless its MessageSid was stored before (then nothing below happens);
/// - `canceled`: the thread's scheduled cancel-on-reply messages (locks them before the thread
///   row, the order every writer of a message and its thread uses);
/// - `t`: the thread moves up the inbox, one more unread, and its seq grows by one event for
///   the message and one per canceled message (the row lock orders writers on every node);
/// - `oo` and `c`: the contact, opted out or back in when the text said so;
/// - `changed` and `e`: `message.created`, then one `message.updated` per canceled message, with
///   consecutive seqs ending at `t`'s.
const RECORD_INBOUND: &str = concat!(
    "WITH rcpt AS (
        INSERT INTO webhook_receipts (team_id, kind, message_sid, params) VALUES ($2, 'inbound', $7, $8)),
     ins AS (
        INSERT INTO messages (id, team_id, thread_id, direction, channel_kind, body, media, status, provider_sid, raw)
        VALUES ($1, $2, $3, 'inbound', $4, $5, $6, 'received', $7, $8)
        ON CONFLICT (provider_sid) WHERE provider_sid IS NOT NULL DO NOTHING
        RETURNING *),
     canceled AS (
        UPDATE messages SET status = 'canceled', error_reason = 'canceled: the contact replied first', updated_at = now()
        WHERE thread_id = $3 AND status = 'scheduled' AND cancel_on_reply AND EXISTS (SELECT 1 FROM ins)
        RETURNING *),
     t AS (
        UPDATE threads SET last_seq = last_seq + 1 + (SELECT count(*) FROM canceled),
               last_message_at = ins.created_at, last_inbound_at = ins.created_at,
               last_preview = $10, unread_count = unread_count + 1
        FROM ins WHERE threads.id = ins.thread_id
        RETURNING threads.*),
     oo AS (
        UPDATE contacts SET opted_out_at = CASE WHEN $9 THEN COALESCE(opted_out_at, now()) END, updated_at = now()
        FROM t WHERE $9::bool IS NOT NULL AND contacts.id = t.contact_id
        RETURNING contacts.*),
     c AS (
        SELECT * FROM oo
        UNION ALL SELECT contacts.* FROM contacts JOIN t ON contacts.id = t.contact_id WHERE NOT EXISTS (SELECT 1 FROM oo)),
     changed AS (
        SELECT ins.*, 0::bigint AS n, 'message.created' AS type FROM ins
        UNION ALL
        SELECT canceled.*, row_number() OVER (ORDER BY canceled.created_at, canceled.id), 'message.updated' FROM canceled),
     e AS (
        INSERT INTO thread_events (thread_id, seq, team_id, type, payload)
        SELECT m.thread_id, t.last_seq - (SELECT count(*) FROM canceled) + m.n, m.team_id, m.type, ",
    message_json!(),
    " FROM changed m, t RETURNING *)
     SELECT ",
    message_columns!(),
    ", ",
    event_columns!(),
    ", ",
    summary_columns!(),
    ", ",
    scheduled_count!(),
    " - (SELECT count(*) FROM canceled) AS t_scheduled_count
     FROM ins m, e, t JOIN c ON c.id = t.contact_id JOIN channels ch ON ch.id = t.channel_id LEFT JOIN users u ON u.id = t.assignee_id
     ORDER BY e.seq"
);

/// Stores an inbound message with its receipt (idempotent by MessageSid), applies opt-out/in
/// and cancels the thread's cancel-on-reply scheduled messages. One statement.
pub(super) async fn record_inbound(store: &PgStore, m: NewInbound) -> Result<InboundOutcome, StoreError> {
    let rows: Vec<CommittedRow> = sqlx::query_as(RECORD_INBOUND)
        .bind(MessageId::new().0)
        .bind(m.team.0)
        .bind(m.thread.0)
        .bind(m.kind.as_str())
        .bind(&m.body)
        .bind(Json(&m.media))
        .bind(&m.message_sid)
        .bind(Json(&m.raw))
        .bind(m.opt_out)
        .bind(preview(&m.body, m.media.len()))
        .fetch_all(store.db())
        .await?;
    Ok(match committed(rows) {
        Some(done) => InboundOutcome::Stored(Box::new(done)),
        None => InboundOutcome::Duplicate,
    })
}
