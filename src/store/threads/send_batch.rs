//! Recording the carrier's answers to a batch of one thread's sends in one statement: the
//! scheduler hands a thread its due messages together, the thread's send task asks the carrier
//! for each in turn, and the thread's actor then commits every answer at once. The statement
//! changes each message still waiting, bumps the thread's seq once by the number changed, and
//! appends one `message.updated` per message with consecutive seqs in the order the answers
//! came (the order the carrier was asked).

use super::rows::CommittedRow;
use super::sql::{committed_columns, message_json, summary_joins};
use super::status::{early_outcome, update_status};
use crate::store::{PgStore, StoreError};
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use serde_json::Value;
use sqlx::types::Json;

/// `$1..$5`: the answers (message, status, sid, error code, reason), in order; `$6`: the thread.
/// `r` numbers the answers, `u` changes the messages still waiting (of this thread only), `t`
/// bumps the thread's seq by how many changed, `m` gives each changed message its seq (the
/// thread's old seq + its rank among the changed), `e` appends the events. Each row also
/// carries the status callbacks that arrived before the answer (kept as receipts).
const RECORD_SENDS: &str = concat!(
    "WITH r AS (
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int4[], $5::text[]) WITH ORDINALITY
            AS r(id, status, sid, code, reason, ord)),
     u AS (
        UPDATE messages SET status = r.status, provider_sid = r.sid, error_code = r.code, error_reason = r.reason,
               sent_at = CASE WHEN r.status = 'sent' THEN now() END, updated_at = now()
        FROM r
        WHERE messages.id = r.id AND messages.thread_id = $6 AND messages.status IN ('queued', 'sending')
        RETURNING messages.*, r.ord),
     t AS (
        UPDATE threads SET last_seq = last_seq + (SELECT count(*) FROM u)
        WHERE id = $6 AND EXISTS (SELECT 1 FROM u)
        RETURNING *),
     m AS (
        SELECT u.*, t.last_seq - (SELECT count(*) FROM u) + row_number() OVER (ORDER BY u.ord) AS new_seq
        FROM u, t),
     e AS (
        INSERT INTO thread_events (thread_id, seq, team_id, type, payload)
        SELECT m.thread_id, m.new_seq, m.team_id, 'message.updated', ",
    message_json!(),
    " FROM m RETURNING *)
     SELECT ",
    committed_columns!(),
    " AS t_scheduled_count,
       (SELECT COALESCE(jsonb_agg(w.params ORDER BY w.id), '[]'::jsonb) FROM webhook_receipts w
        WHERE m.provider_sid IS NOT NULL AND w.kind = 'status' AND w.message_sid = m.provider_sid AND w.team_id = m.team_id)
         AS early_receipts
     FROM m JOIN e ON e.seq = m.new_seq, t",
    summary_joins!(),
    " ORDER BY m.new_seq"
);

#[derive(sqlx::FromRow)]
struct SendRow {
    #[sqlx(flatten)]
    committed: CommittedRow,
    early_receipts: Json<Vec<Value>>,
}

/// Records the carrier's answers to sends of `thread`, in order; `None` when no message still
/// waited for its answer. One statement, and one more for each message whose status callbacks
/// arrived before its answer (applied as one step forward, with its own `message.updated`).
pub(super) async fn record_sends(
    store: &PgStore,
    thread: ThreadId,
    results: Vec<(MessageId, SendOutcome)>,
) -> Result<Option<Committed<Vec<Message>>>, StoreError> {
    let n = results.len();
    let (mut ids, mut statuses, mut sids, mut codes, mut reasons) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for (message, outcome) in results {
        let (status, sid, code, reason) = match outcome {
            SendOutcome::Sent { sid } => (MessageStatus::Sent, Some(sid), None, None),
            SendOutcome::Failed { code, reason } => (MessageStatus::Failed, None, code, Some(reason)),
        };
        ids.push(message.0);
        statuses.push(status.as_str());
        sids.push(sid);
        codes.push(code);
        reasons.push(reason);
    }
    let rows: Vec<SendRow> = sqlx::query_as(RECORD_SENDS)
        .bind(&ids)
        .bind(&statuses)
        .bind(&sids)
        .bind(&codes)
        .bind(&reasons)
        .bind(thread.0)
        .fetch_all(store.db())
        .await?;
    let mut done: Option<Committed<Vec<Message>>> = None;
    let mut early = Vec::new();
    for row in rows {
        let receipts = row.early_receipts.0;
        let (message, event, summary) = row.committed.into_parts();
        let message: Message = message.into();
        if let (Some(sid), Some(outcome)) = (message.provider_sid.clone(), early_outcome(&receipts)) {
            early.push((sid, outcome));
        }
        let done =
            done.get_or_insert_with(|| Committed { value: Vec::with_capacity(n), events: Vec::with_capacity(n), thread: summary.into() });
        done.value.push(message);
        done.events.push(event.into());
    }
    let Some(mut done) = done else { return Ok(None) };
    // Status callbacks that beat the answer: each applied as one step forward, as `record_send`
    // does for a single send.
    for (sid, (status, code)) in early {
        if let Some(later) = update_status(store, &sid, status, code, code.map(twilio_error_reason), None).await? {
            if let Some(slot) = done.value.iter_mut().find(|m| m.id == later.value.id) {
                *slot = later.value;
            }
            done.events.extend(later.events);
            done.thread = later.thread;
        }
    }
    Ok(Some(done))
}
