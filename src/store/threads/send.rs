//! Sending a message: storing it (queued or scheduled), taking it for the carrier, and recording
//! the carrier's answer. These are a busy thread's hot path, so each is one statement: a running
//! thread's send-now is `create_outbound`, `begin_send`, `record_send`, three round trips.

use super::rows::{CommittedRow, MessageRow, committed, preview};
use super::sql::{committed_columns, message_columns, message_json, message_updated_tail, summary_joins};
use super::status::{early_outcome, update_status};
use crate::store::channels::{ChannelRow, channel_columns};
use crate::store::group_commit::GroupCommit;
use crate::store::{PgStore, StoreError};
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use serde_json::Value;
use sqlx::types::Json;
use std::collections::HashMap;
use std::sync::Arc;

/// Stores an outbound message with its `message.created` event. One statement: `t` bumps the
/// thread's seq (and, unless scheduled, moves it up the inbox), taking the thread row lock that
/// orders writers; `m` inserts the message on the thread's channel; `e` appends the event with
/// `t`'s seq. An immediate send is claimed at once (`claimed_at`): if the process dies before
/// the carrier answers, the stale sweep fails it instead of sending it twice.
const CREATE_OUTBOUND: &str = concat!(
    "WITH t AS (
        UPDATE threads SET last_seq = last_seq + 1,
               last_message_at = CASE WHEN $8::timestamptz IS NULL THEN now() ELSE last_message_at END,
               last_preview = CASE WHEN $8::timestamptz IS NULL THEN $10 ELSE last_preview END
        WHERE id = $3 AND team_id = $2
        RETURNING *),
     m AS (
        INSERT INTO messages (id, team_id, thread_id, direction, channel_kind, body, media, status, author_id, scheduled_at,
                              cancel_on_reply, claimed_at, content_sid, content_variables)
        SELECT $1, t.team_id, t.id, 'outbound', ch.kind, $4, $5, $6, $7, $8, $9, CASE WHEN $8::timestamptz IS NULL THEN now() END,
               $11, $12
        FROM t JOIN channels ch ON ch.id = t.channel_id
        RETURNING *),
     e AS (
        INSERT INTO thread_events (thread_id, seq, team_id, type, actor_id, payload)
        SELECT m.thread_id, t.last_seq, m.team_id, 'message.created', m.author_id, ",
    message_json!(),
    " FROM m, t RETURNING *)
     SELECT ",
    committed_columns!(),
    " + CASE WHEN m.status = 'scheduled' THEN 1 ELSE 0 END AS t_scheduled_count FROM m, e, t",
    summary_joins!()
);

/// Stores an outbound message as queued (or scheduled when `send_at` is set). One statement.
pub(super) async fn create_outbound(store: &PgStore, m: NewOutbound) -> Result<Committed<Message>, StoreError> {
    let media: Vec<Media> = m.media_urls.iter().map(|u| Media { url: u.clone(), content_type: None }).collect();
    let status = if m.send_at.is_some() { MessageStatus::Scheduled } else { MessageStatus::Queued };
    let rows: Vec<CommittedRow> = sqlx::query_as(CREATE_OUTBOUND)
        .bind(MessageId::new().0)
        .bind(m.team.0)
        .bind(m.thread.0)
        .bind(&m.body)
        .bind(Json(&media))
        .bind(status.as_str())
        .bind(m.author.map(|a| a.0))
        .bind(m.send_at)
        .bind(m.cancel_on_reply)
        .bind(preview(&m.body, media.len()))
        .bind(m.content.as_ref().map(|c| c.sid.as_str()))
        .bind(m.content.as_ref().map(|c| Json(&c.variables)))
        .fetch_all(store.db())
        .await?;
    committed(rows).ok_or(StoreError::NotFound("thread"))
}

/// What the carrier needs: the message (with its template, if any), its thread's channel (with
/// the auth token), the contact's phone, whether they opted out, and when they last wrote.
#[derive(sqlx::FromRow)]
struct OutgoingRow {
    #[sqlx(flatten)]
    message: MessageRow,
    #[sqlx(flatten)]
    channel: ChannelRow,
    phone: String,
    opted_out: bool,
    last_inbound_at: Option<time::OffsetDateTime>,
}

impl OutgoingRow {
    fn open(self, store: &PgStore) -> Result<Outgoing, StoreError> {
        Ok(Outgoing {
            message: self.message.into(),
            channel: self.channel.open(&store.sealer)?,
            to: self.phone,
            opted_out: self.opted_out,
            last_inbound_at: self.last_inbound_at,
        })
    }
}

/// The joins from a message `m` to what the carrier needs.
macro_rules! outgoing_sql {
    ($source:literal) => {
        concat!(
            $source,
            " SELECT ",
            message_columns!(),
            ", ",
            channel_columns!(),
            ", c.phone, c.opted_out_at IS NOT NULL AS opted_out, t.last_inbound_at
             FROM m JOIN threads t ON t.id = m.thread_id JOIN contacts c ON c.id = t.contact_id JOIN channels ch ON ch.id = t.channel_id"
        )
    };
}

/// Takes a message for the carrier: refreshes its claim and returns what the carrier needs, or
/// `None` when it no longer waits for the carrier (the stale sweep failed it, or it was
/// answered). One statement.
pub(super) async fn begin_send(store: &PgStore, message: MessageId) -> Result<Option<Outgoing>, StoreError> {
    let row: Option<OutgoingRow> = sqlx::query_as(outgoing_sql!(
        "WITH m AS (UPDATE messages SET claimed_at = now()
                    WHERE id = $1 AND status IN ('queued', 'sending') AND provider_sid IS NULL RETURNING *)"
    ))
    .bind(message.0)
    .fetch_optional(store.db())
    .await?;
    row.map(|r| r.open(store)).transpose()
}

/// The claims of several threads taken for the carrier together (each job: one thread's claims,
/// in its order).
pub(crate) type TakeCommits = GroupCommit<Vec<MessageId>, Vec<Outgoing>>;

pub(crate) fn take_group() -> TakeCommits {
    GroupCommit::default()
}

/// [`begin_send`] for several messages (one thread's claims): what the carrier needs for each
/// still waiting for it, in the order asked. One statement, shared with the other threads
/// taking theirs at the same time (a burst over many threads costs a few statements).
pub(super) async fn begin_sends(store: &PgStore, messages: &[MessageId]) -> Result<Vec<Outgoing>, StoreError> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    // Claims are the scheduler's, each held by one thread: jobs never share a message.
    store.takes.submit(messages.to_vec(), |job| job[0], |batch| take_batch(store, batch)).await
}

async fn take_batch(store: &PgStore, batch: Arc<[Vec<MessageId>]>) -> Result<Vec<Vec<Outgoing>>, StoreError> {
    let ids: Vec<uuid::Uuid> = batch.iter().flatten().map(|m| m.0).collect();
    let rows: Vec<OutgoingRow> = sqlx::query_as(outgoing_sql!(
        "WITH m AS (UPDATE messages SET claimed_at = now()
                    WHERE id = ANY($1) AND status IN ('queued', 'sending') AND provider_sid IS NULL RETURNING *)"
    ))
    .bind(&ids)
    .fetch_all(store.db())
    .await?;
    let mut taken: HashMap<MessageId, Outgoing> = HashMap::with_capacity(rows.len());
    for row in rows {
        let out = row.open(store)?;
        taken.insert(out.message.id, out);
    }
    Ok(batch.iter().map(|job| job.iter().filter_map(|m| taken.remove(m)).collect()).collect())
}

/// Records the carrier's answer on a message still waiting for it (the stale sweep may have
/// failed it meanwhile), bumps the thread's seq and appends `message.updated`. The same
/// statement reads the status callbacks that arrived before this answer (kept as receipts by
/// the webhook, which could not find the message by its sid yet).
const RECORD_SEND: &str = concat!(
    "WITH early AS (
        SELECT COALESCE(jsonb_agg(r.params ORDER BY r.id), '[]'::jsonb) AS receipts FROM webhook_receipts r
        WHERE r.kind = 'status' AND r.message_sid = $3
          AND r.team_id = (SELECT team_id FROM messages WHERE id = $1)),
     m AS (
        UPDATE messages SET status = $2, provider_sid = $3, error_code = $4, error_reason = $5,
               sent_at = CASE WHEN $2 = 'sent' THEN now() END, updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'sending')
        RETURNING *),
     ",
    message_updated_tail!(", (SELECT receipts FROM early) AS early_receipts")
);

#[derive(sqlx::FromRow)]
struct SendRow {
    #[sqlx(flatten)]
    committed: CommittedRow,
    early_receipts: Json<Vec<Value>>,
}

/// Records the carrier's answer (queued/sending → sent or failed); `None` when the message no
/// longer waited for it. One statement, and a second only when status callbacks arrived before
/// the answer: they are then applied as one forward step, with its own `message.updated`.
pub(super) async fn record_send(
    store: &PgStore,
    message: MessageId,
    outcome: SendOutcome,
) -> Result<Option<Committed<Message>>, StoreError> {
    let (status, sid, code, reason) = match outcome {
        SendOutcome::Sent { sid } => (MessageStatus::Sent, Some(sid), None, None),
        SendOutcome::Failed { code, reason } => (MessageStatus::Failed, None, code, Some(reason)),
    };
    let rows: Vec<SendRow> =
        sqlx::query_as(RECORD_SEND).bind(message.0).bind(status.as_str()).bind(&sid).bind(code).bind(&reason).fetch_all(store.db()).await?;
    let receipts = rows.first().map(|r| r.early_receipts.0.clone()).unwrap_or_default();
    let Some(mut done) = committed(rows.into_iter().map(|r| r.committed).collect()) else { return Ok(None) };
    if let (Some(sid), Some((status, code))) = (sid, early_outcome(&receipts))
        && let Some(later) = update_status(store, &sid, status, code, code.map(twilio_error_reason), None).await?
    {
        done.events.extend(later.events);
        done.value = later.value;
        done.thread = later.thread;
    }
    Ok(Some(done))
}

/// Fails a send still waiting for the carrier since before `older_than` ("outcome unknown": its
/// node died, and sending again could send twice); `None` when it moved on meanwhile.
pub(super) async fn fail_unknown(
    store: &PgStore,
    message: MessageId,
    older_than: time::OffsetDateTime,
) -> Result<Option<Committed<Message>>, StoreError> {
    let mut tx = store.begin().await?;
    let failed: Option<uuid::Uuid> = sqlx::query_scalar(
        "UPDATE messages SET status = 'failed',
                error_reason = 'outcome unknown: the server stopped while sending; not retried to avoid a duplicate',
                updated_at = now()
         WHERE id = $1 AND status IN ('queued', 'sending') AND provider_sid IS NULL AND claimed_at < $2
         RETURNING id",
    )
    .bind(message.0)
    .bind(older_than)
    .fetch_optional(tx.conn())
    .await?;
    updated_if(tx, failed.is_some(), message).await
}

/// Gives a send whose answer was lost the sid a status callback names (the callback URL carried
/// our message id): still waiting, or failed as "outcome unknown", it becomes `sent`. One
/// transaction; `None` when it already has a sid or ended otherwise.
pub(super) async fn adopt_sid(store: &PgStore, message: MessageId, sid: &str) -> Result<Option<Committed<Message>>, StoreError> {
    let mut tx = store.begin().await?;
    let adopted: Option<uuid::Uuid> = sqlx::query_scalar(
        "UPDATE messages SET provider_sid = $2, status = 'sent', error_code = NULL, error_reason = NULL,
                sent_at = COALESCE(sent_at, now()), updated_at = now()
         WHERE id = $1 AND direction = 'outbound' AND provider_sid IS NULL
           AND (status IN ('queued', 'sending') OR (status = 'failed' AND error_reason LIKE 'outcome unknown%'))
         RETURNING id",
    )
    .bind(message.0)
    .bind(sid)
    .fetch_optional(tx.conn())
    .await?;
    updated_if(tx, adopted.is_some(), message).await
}

/// Finishes a transaction that changed `message` (when `changed`): appends its `message.updated`
/// and commits. Nothing changed, nothing is committed.
async fn updated_if(mut tx: crate::store::Tx<'_>, changed: bool, message: MessageId) -> Result<Option<Committed<Message>>, StoreError> {
    if !changed {
        return Ok(None);
    }
    let committed = super::events::message_updated(&mut tx, message, None).await?;
    tx.commit().await?;
    Ok(Some(committed))
}
