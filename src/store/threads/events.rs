//! The per-thread event log: appending inside a writer's transaction, and reading it back for
//! clients that catch up. Every seq comes from `threads.last_seq` with `UPDATE … RETURNING` in
//! the transaction that stores the event: the row lock orders concurrent writers on this node or
//! any other, so seqs are unique and gapless per thread. Also the small in-transaction helpers
//! every writer shares (load a message, the thread's inbox row, "message changed").

use super::rows::{EventRow, MESSAGE_COLUMNS, MessageRow, SummaryRow, summary_sql};
use super::sql::event_columns;
use crate::store::Tx;
use crate::store::{PgStore, StoreError, not_found};
use actors::domain::*;
use actors::ids::*;
use actors::ports::Committed;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Executor, Postgres};
use time::OffsetDateTime;

/// The inbox row of one thread, inside a transaction.
pub(crate) async fn summary<'c>(
    db: impl Executor<'c, Database = Postgres>,
    team: TeamId,
    thread: ThreadId,
) -> Result<ThreadSummary, StoreError> {
    let row: SummaryRow = sqlx::query_as(summary_sql!("WHERE t.team_id = $1 AND t.id = $2"))
        .bind(team.0)
        .bind(thread.0)
        .fetch_one(db)
        .await
        .map_err(not_found("thread"))?;
    Ok(row.into())
}

/// Appends one event to a thread's log and returns it with its seq.
pub(crate) async fn append_event(
    tx: &mut Tx<'_>,
    team: TeamId,
    thread: ThreadId,
    kind: &str,
    actor: Option<UserId>,
    audience: Option<UserId>,
    data: Value,
) -> Result<ThreadEvent, StoreError> {
    let seq: i64 = sqlx::query_scalar("UPDATE threads SET last_seq = last_seq + 1 WHERE id = $1 AND team_id = $2 RETURNING last_seq")
        .bind(thread.0)
        .bind(team.0)
        .fetch_one(tx.conn())
        .await
        .map_err(not_found("thread"))?;
    let created_at: OffsetDateTime = sqlx::query_scalar(
        "INSERT INTO thread_events (thread_id, seq, team_id, type, actor_id, audience, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at",
    )
    .bind(thread.0)
    .bind(seq)
    .bind(team.0)
    .bind(kind)
    .bind(actor.map(|a| a.0))
    .bind(audience.map(|a| a.0))
    .bind(Json(&data))
    .fetch_one(tx.conn())
    .await?;
    Ok(ThreadEvent { seq, thread_id: thread, team_id: team, kind: kind.to_owned(), actor_id: actor, audience, data, created_at })
}

/// Appends a `message.*` event carrying the message itself.
pub(crate) async fn message_event(tx: &mut Tx<'_>, msg: &Message, kind: &str, actor: Option<UserId>) -> Result<ThreadEvent, StoreError> {
    let data = serde_json::to_value(msg)?;
    append_event(tx, msg.team_id, msg.thread_id, kind, actor, None, data).await
}

/// Loads one message by id, inside a transaction.
pub(crate) async fn load_message<'c>(db: impl Executor<'c, Database = Postgres>, id: MessageId) -> Result<Message, StoreError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"));
    let row: MessageRow = sqlx::query_as(sql).bind(id.0).fetch_one(db).await.map_err(not_found("message"))?;
    Ok(row.into())
}

/// After a message changed: reloads it, appends its `message.updated` event and reads the
/// thread's new summary, all inside the caller's transaction.
pub(crate) async fn message_updated(tx: &mut Tx<'_>, id: MessageId, actor: Option<UserId>) -> Result<Committed<Message>, StoreError> {
    let msg = load_message(tx.conn(), id).await?;
    let event = message_event(tx, &msg, event::MESSAGE_UPDATED, actor).await?;
    let thread = summary(tx.conn(), msg.team_id, msg.thread_id).await?;
    Ok(Committed { value: msg, events: vec![event], thread })
}

/// Appends a `contact.updated` event (the contact as it is now) to one of the contact's threads:
/// its open views show the change, and a client catching up by seq learns of it too.
pub(super) async fn record_contact_change(
    store: &PgStore,
    team: TeamId,
    thread: ThreadId,
    contact: &Contact,
) -> Result<Committed<()>, StoreError> {
    let mut tx = store.begin().await?;
    let event = append_event(&mut tx, team, thread, event::CONTACT_UPDATED, None, None, serde_json::to_value(contact)?).await?;
    let summary = summary(tx.conn(), team, thread).await?;
    tx.commit().await?;
    Ok(Committed { value: (), events: vec![event], thread: summary })
}

/// Appends one event the system wrote (no actor, every member sees it) to a thread's log.
pub(super) async fn record_event(
    store: &PgStore,
    team: TeamId,
    thread: ThreadId,
    kind: &str,
    data: Value,
) -> Result<Committed<()>, StoreError> {
    let mut tx = store.begin().await?;
    let event = append_event(&mut tx, team, thread, kind, None, None, data).await?;
    let summary = summary(tx.conn(), team, thread).await?;
    tx.commit().await?;
    Ok(Committed { value: (), events: vec![event], thread: summary })
}

/// A thread's newest 100 events of one type, oldest first (one statement).
pub(super) async fn events_of_type(store: &PgStore, team: TeamId, thread: ThreadId, kind: &str) -> Result<Vec<ThreadEvent>, StoreError> {
    let rows: Vec<EventRow> = sqlx::query_as(concat!(
        "SELECT * FROM (SELECT ",
        event_columns!(),
        " FROM thread_events e WHERE e.team_id = $1 AND e.thread_id = $2 AND e.type = $3 AND e.audience IS NULL
         ORDER BY e.seq DESC LIMIT 100) x ORDER BY e_seq"
    ))
    .bind(team.0)
    .bind(thread.0)
    .bind(kind)
    .fetch_all(store.db())
    .await?;
    Ok(rows.into_iter().map(ThreadEvent::from).collect())
}

/// Events after `after` that `viewer` may see (one statement).
pub(super) async fn events_after(
    store: &PgStore,
    team: TeamId,
    thread: ThreadId,
    viewer: UserId,
    after: i64,
    limit: i64,
) -> Result<Vec<ThreadEvent>, StoreError> {
    let rows: Vec<EventRow> = sqlx::query_as(concat!(
        "SELECT ",
        event_columns!(),
        " FROM thread_events e
         WHERE e.team_id = $1 AND e.thread_id = $2 AND e.seq > $3 AND (e.audience IS NULL OR e.audience = $4)
         ORDER BY e.seq LIMIT $5"
    ))
    .bind(team.0)
    .bind(thread.0)
    .bind(after)
    .bind(viewer.0)
    .bind(limit + 1)
    .fetch_all(store.db())
    .await?;
    Ok(rows.into_iter().map(ThreadEvent::from).collect())
}
