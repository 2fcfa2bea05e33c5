//! A thread's triage state beyond its status: its labels (part of a thread change, inside the
//! change's transaction), each agent's own "marked unread", the threads counted for the tabs, and
//! one message (what a retry copies).

use super::events::summary;
use super::rows::{MESSAGE_COLUMNS, MessageRow};
use crate::store::{PgStore, StoreError, Tx, not_found};
use actors::domain::*;
use actors::ids::*;
use actors::ports::StatusCount;
use actors::rules::labels::MAX_PER_THREAD;
use uuid::Uuid;

/// Replaces a thread's labels with `set` (when given), then adds `add`; every label must be the
/// team's (422 `labels` otherwise) and the thread ends with at most `MAX_PER_THREAD`. Runs in
/// the thread change's transaction, after the thread's row is locked by its UPDATE.
pub(super) async fn set_thread_labels(
    tx: &mut Tx<'_>,
    team: TeamId,
    thread: ThreadId,
    set: Option<&[LabelId]>,
    add: &[LabelId],
) -> Result<(), StoreError> {
    if set.is_none() && add.is_empty() {
        return Ok(());
    }
    let named: Vec<Uuid> = set.unwrap_or_default().iter().chain(add).map(|l| l.0).collect();
    let known: i64 = sqlx::query_scalar("SELECT count(*) FROM labels WHERE team_id = $1 AND id = ANY($2)")
        .bind(team.0)
        .bind(&named)
        .fetch_one(tx.conn())
        .await?;
    let distinct = named.iter().collect::<std::collections::HashSet<_>>().len() as i64;
    if known != distinct {
        return Err(StoreError::invalid("labels", "are not all labels of this team"));
    }
    if let Some(set) = set {
        let ids: Vec<Uuid> = set.iter().map(|l| l.0).collect();
        sqlx::query("DELETE FROM thread_labels WHERE thread_id = $1 AND NOT (label_id = ANY($2))")
            .bind(thread.0)
            .bind(&ids)
            .execute(tx.conn())
            .await?;
    }
    let count: i64 = sqlx::query_scalar(
        "WITH added AS (INSERT INTO thread_labels (thread_id, label_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING 1)
         SELECT (SELECT count(*) FROM thread_labels WHERE thread_id = $1) + (SELECT count(*) FROM added)",
    )
    .bind(thread.0)
    .bind(&named)
    .fetch_one(tx.conn())
    .await?;
    if count > MAX_PER_THREAD as i64 {
        return Err(StoreError::invalid("labels", format!("at most {MAX_PER_THREAD} labels on a conversation")));
    }
    Ok(())
}

/// Marks a thread unread for `reader` (one transaction: the mark, then the row).
pub(super) async fn mark_unread(store: &PgStore, team: TeamId, thread: ThreadId, reader: UserId) -> Result<ThreadSummary, StoreError> {
    let mut tx = store.begin().await?;
    let done = sqlx::query(
        "INSERT INTO thread_unread_marks (user_id, thread_id) SELECT $3, id FROM threads WHERE team_id = $1 AND id = $2
         ON CONFLICT (user_id, thread_id) DO UPDATE SET created_at = now()",
    )
    .bind(team.0)
    .bind(thread.0)
    .bind(reader.0)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("thread"));
    }
    let s = summary(tx.conn(), team, thread).await?;
    tx.commit().await?;
    Ok(ThreadSummary { marked_unread: Some(true), ..s })
}

/// The team's threads counted by status and assignee (one statement: an index-only scan of
/// `threads_team_status_assignee_idx`, grouped into a few rows).
pub(super) async fn status_counts(store: &PgStore, team: TeamId) -> Result<Vec<StatusCount>, StoreError> {
    let rows: Vec<(String, Option<Uuid>, i64)> =
        sqlx::query_as("SELECT status, assignee_id, count(*) FROM threads WHERE team_id = $1 GROUP BY 1, 2")
            .bind(team.0)
            .fetch_all(store.db())
            .await?;
    rows.into_iter()
        .map(|(status, assignee, threads)| {
            Ok(StatusCount { status: ThreadStatus::try_from(status)?, assignee: assignee.map(UserId), threads })
        })
        .collect()
}

/// One message of the team (one statement).
pub(super) async fn message(store: &PgStore, team: TeamId, id: MessageId) -> Result<Message, StoreError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE team_id = $1 AND id = $2"));
    let row: MessageRow = sqlx::query_as(sql).bind(team.0).bind(id.0).fetch_one(store.db()).await.map_err(not_found("message"))?;
    Ok(row.into())
}
