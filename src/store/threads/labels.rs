//! A thread's triage state beyond its status: its labels (part of a thread change, inside the
//! change's transaction), each agent's own "marked unread", the counts of the inbox's tabs, and
//! one message (what a retry copies).

use super::events::summary;
use super::rows::{MESSAGE_COLUMNS, MessageRow};
use crate::store::{PgStore, StoreError, Tx, not_found};
use actors::domain::*;
use actors::ids::*;
use actors::rules::labels::MAX_PER_THREAD;
use actors::rules::views::View;
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

/// How many threads each tab holds (one statement; the tabs' statuses from `rules::views`).
pub(super) async fn thread_counts(store: &PgStore, team: TeamId, viewer: UserId) -> Result<ThreadCounts, StoreError> {
    let names = |v: View| v.statuses().iter().map(|s| s.as_str()).collect::<Vec<_>>();
    let (open, snoozed, resolved, all, mine, unassigned): (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = ANY($2)), count(*) FILTER (WHERE status = ANY($3)),
                count(*) FILTER (WHERE status = ANY($4)), count(*),
                count(*) FILTER (WHERE status = ANY($2) AND assignee_id = $5),
                count(*) FILTER (WHERE status = ANY($2) AND assignee_id IS NULL)
         FROM threads WHERE team_id = $1",
    )
    .bind(team.0)
    .bind(names(View::Open))
    .bind(names(View::Snoozed))
    .bind(names(View::Resolved))
    .bind(viewer.0)
    .fetch_one(store.db())
    .await?;
    Ok(ThreadCounts { open, snoozed, resolved, all, mine, unassigned })
}

/// One message of the team (one statement).
pub(super) async fn message(store: &PgStore, team: TeamId, id: MessageId) -> Result<Message, StoreError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE team_id = $1 AND id = $2"));
    let row: MessageRow = sqlx::query_as(sql).bind(team.0).bind(id.0).fetch_one(store.db()).await.map_err(not_found("message"))?;
    Ok(row.into())
}
