//! Internal notes on a thread. A private note's event is for its author alone (`audience`), so
//! other readers see the thread's seq skip it.

use super::events::{append_event, summary};
use super::rows::NoteRow;
use crate::store::{PgStore, StoreError, not_found};
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use uuid::Uuid;

/// The notes `viewer` may see, oldest first (one statement).
pub(super) async fn notes(store: &PgStore, team: TeamId, thread: ThreadId, viewer: UserId) -> Result<Vec<Note>, StoreError> {
    let rows: Vec<NoteRow> = sqlx::query_as(
        "SELECT n.id, n.team_id, n.thread_id, n.author_id, u.name AS author_name, n.body, n.visibility, n.mentions, n.created_at
         FROM notes n JOIN users u ON u.id = n.author_id
         WHERE n.team_id = $1 AND n.thread_id = $2 AND (n.visibility = 'public' OR n.author_id = $3)
         ORDER BY n.created_at, n.id",
    )
    .bind(team.0)
    .bind(thread.0)
    .bind(viewer.0)
    .fetch_all(store.db())
    .await?;
    Ok(rows.into_iter().map(Note::from).collect())
}

/// Adds a note and its `note.created` event (one transaction).
pub(super) async fn add_note(
    store: &PgStore,
    team: TeamId,
    thread: ThreadId,
    author: UserId,
    body: &str,
    visibility: Visibility,
    mentions: &[UserId],
) -> Result<Committed<Note>, StoreError> {
    let mut tx = store.begin().await?;
    let mention_ids: Vec<Uuid> = mentions.iter().map(|m| m.0).collect();
    let row: NoteRow = sqlx::query_as(
        "WITH n AS (
            INSERT INTO notes (id, team_id, thread_id, author_id, body, visibility, mentions)
            SELECT $1, $2, t.id, $4, $5, $6, $7 FROM threads t WHERE t.team_id = $2 AND t.id = $3
            RETURNING *)
         SELECT n.id, n.team_id, n.thread_id, n.author_id, u.name AS author_name, n.body, n.visibility, n.mentions, n.created_at
         FROM n JOIN users u ON u.id = n.author_id",
    )
    .bind(NoteId::new().0)
    .bind(team.0)
    .bind(thread.0)
    .bind(author.0)
    .bind(body)
    .bind(visibility.as_str())
    .bind(&mention_ids)
    .fetch_one(tx.conn())
    .await
    .map_err(not_found("thread"))?;
    let note = Note::from(row);
    let audience = (visibility == Visibility::Private).then_some(author);
    let data = serde_json::to_value(&note)?;
    let event = append_event(&mut tx, team, thread, event::NOTE_CREATED, Some(author), audience, data).await?;
    let summary = summary(tx.conn(), team, thread).await?;
    tx.commit().await?;
    Ok(Committed { value: note, events: vec![event], thread: summary })
}
