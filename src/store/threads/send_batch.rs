//! Recording the carrier's answers to batches of sends in one statement: the scheduler hands a
//! thread its due messages together, the thread's send task asks the carrier for each in turn,
//! and the thread's actor then commits every answer at once. Answers of different threads that
//! are recorded at the same time share one statement and one commit (group commit): a burst
//! over many threads costs a few statements, not one per thread. For each thread the statement
//! changes each message still waiting, bumps the thread's seq once by the number changed, and
//! appends one `message.updated` per message (what changed: `answer_json`) with consecutive
//! seqs in the order the answers came (the order the carrier was asked). Each actor is still the
//! one writer of its thread and is answered only after the commit.

use super::rows::CommittedRow;
use super::sql::{answer_json, bump_seqs, committed_columns, summary_joins};
use super::status::{early_outcome, update_status};
use crate::store::group_commit::GroupCommit;
use crate::store::{PgStore, StoreError};
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use serde_json::Value;
use sqlx::types::Json;
use std::collections::HashMap;
use std::sync::Arc;

/// One thread's answers, in the order the carrier was asked.
#[derive(Clone, Debug)]
pub(crate) struct SendAnswers {
    thread: ThreadId,
    results: Vec<(MessageId, SendOutcome)>,
}

/// What one thread's answers changed, and the status callbacks that arrived before them (by
/// sid: what they add up to), still to apply.
#[derive(Debug)]
pub(crate) struct Recorded {
    committed: Committed<Vec<Message>>,
    early: Vec<(String, (MessageStatus, Option<i32>))>,
}

/// The batches of answers in flight.
pub(crate) type SendCommits = GroupCommit<SendAnswers, Option<Recorded>>;

pub(crate) fn group() -> SendCommits {
    GroupCommit::default()
}

/// `$1`: the answers of a batch (a JSON array: message, its thread, status, sid, error code,
/// reason, and `ord`, the answer's place in the batch). `u` changes the messages still waiting
/// (of the thread named with them only), `g` counts them per thread, `lk` locks their threads
/// in id order before any changes (every batch writer of several threads does, so two batches
/// on two nodes that share threads wait for each other instead of deadlocking), `t` bumps each
/// thread's seq by its count, `m` gives each changed message its seq (the thread's old seq + its rank
/// among the thread's changed, in answer order), `e` appends the events. Each row also carries
/// the status callbacks that arrived before the answer (kept as receipts).
const RECORD_SENDS: &str = concat!(
    "WITH r AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb)
          AS r(id uuid, thread_id uuid, status text, sid text, code int4, reason text, ord int8)),
     u AS (
        UPDATE messages SET status = r.status, provider_sid = r.sid, error_code = r.code, error_reason = r.reason,
               sent_at = CASE WHEN r.status = 'sent' THEN now() END, updated_at = now()
        FROM r
        WHERE messages.id = r.id AND messages.id = ANY(ARRAY(SELECT id FROM r)) AND messages.thread_id = r.thread_id
          AND messages.status IN ('queued', 'sending')
        RETURNING messages.*, r.ord),
",
    bump_seqs!("u"),
    "
     m AS (
        SELECT u.*, t.last_seq - t.n + row_number() OVER (PARTITION BY u.thread_id ORDER BY u.ord) AS new_seq
        FROM u JOIN t ON t.id = u.thread_id),
     e AS (
        INSERT INTO thread_events (thread_id, seq, team_id, type, payload)
        SELECT m.thread_id, m.new_seq, m.team_id, 'message.updated', ",
    answer_json!(),
    " FROM m RETURNING *)
     SELECT ",
    committed_columns!(),
    " AS t_scheduled_count,
       (SELECT COALESCE(jsonb_agg(w.params ORDER BY w.id), '[]'::jsonb) FROM webhook_receipts w
        WHERE m.provider_sid IS NOT NULL AND w.kind = 'status' AND w.message_sid = m.provider_sid AND w.team_id = m.team_id)
         AS early_receipts
     FROM m JOIN e ON e.thread_id = m.thread_id AND e.seq = m.new_seq JOIN t ON t.id = m.thread_id",
    summary_joins!(),
    " ORDER BY m.thread_id, m.new_seq"
);

#[derive(sqlx::FromRow)]
struct SendRow {
    #[sqlx(flatten)]
    committed: CommittedRow,
    early_receipts: Json<Vec<Value>>,
}

/// Records the carrier's answers to sends of `thread`, in order; `None` when no message still
/// waited for its answer. One statement shared with the other threads recording at the same
/// time, and one more for each message whose status callbacks arrived before its answer
/// (applied as one step forward, with its own `message.updated`).
pub(super) async fn record_sends(
    store: &PgStore,
    thread: ThreadId,
    results: Vec<(MessageId, SendOutcome)>,
) -> Result<Option<Committed<Vec<Message>>>, StoreError> {
    let job = SendAnswers { thread, results };
    let Some(Recorded { committed: mut done, early }) = store.sends.submit(job, |j| j.thread, |batch| record_batch(store, batch)).await?
    else {
        return Ok(None);
    };
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

/// One statement for the answers of a batch of threads (distinct); one outcome per thread, in
/// order.
async fn record_batch(store: &PgStore, batch: Arc<[SendAnswers]>) -> Result<Vec<Option<Recorded>>, StoreError> {
    let mut rows = Vec::with_capacity(batch.iter().map(|j| j.results.len()).sum());
    for job in batch.iter() {
        for (message, outcome) in &job.results {
            let (status, sid, code, reason) = match outcome {
                SendOutcome::Sent { sid } => (MessageStatus::Sent, Some(sid.as_str()), None, None),
                SendOutcome::Failed { code, reason } => (MessageStatus::Failed, None, *code, Some(reason.as_str())),
            };
            rows.push(serde_json::json!({
                "id": message.0, "thread_id": job.thread.0, "status": status.as_str(), "sid": sid, "code": code,
                "reason": reason, "ord": rows.len(),
            }));
        }
    }
    let rows: Vec<SendRow> = sqlx::query_as(RECORD_SENDS).bind(Json(rows)).fetch_all(store.db()).await?;
    let mut by_thread: HashMap<ThreadId, Recorded> = HashMap::new();
    for row in rows {
        let receipts = row.early_receipts.0;
        let (message, event, summary) = row.committed.into_parts();
        let message: Message = message.into();
        let thread = message.thread_id;
        let done = by_thread.entry(thread).or_insert_with(|| Recorded {
            committed: Committed { value: Vec::new(), events: Vec::new(), thread: summary.into() },
            early: Vec::new(),
        });
        if let (Some(sid), Some(outcome)) = (message.provider_sid.clone(), early_outcome(&receipts)) {
            done.early.push((sid, outcome));
        }
        done.committed.value.push(message);
        done.committed.events.push(event.into());
    }
    Ok(batch.iter().map(|j| by_thread.remove(&j.thread)).collect())
}
