//! Scheduled messages while they are still scheduled: editing and canceling them. Both lock
//! the row first, so each lands either before the scheduler claims the message or not at all.

use super::events::message_updated;
use crate::store::Tx;
use crate::store::{PgStore, StoreError};
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use time::OffsetDateTime;

/// Edits a still-scheduled message (one transaction).
pub(super) async fn edit_scheduled(
    store: &PgStore,
    team: TeamId,
    message: MessageId,
    actor: UserId,
    body: Option<String>,
    send_at: Option<OffsetDateTime>,
) -> Result<Committed<Message>, StoreError> {
    let mut tx = store.begin().await?;
    lock_scheduled(&mut tx, team, message).await?;
    sqlx::query(
        "UPDATE messages SET body = COALESCE($2, body), scheduled_at = COALESCE($3, scheduled_at), updated_at = now() WHERE id = $1",
    )
    .bind(message.0)
    .bind(body)
    .bind(send_at)
    .execute(tx.conn())
    .await?;
    let committed = message_updated(&mut tx, message, Some(actor)).await?;
    tx.commit().await?;
    Ok(committed)
}

/// Cancels a still-scheduled message (one transaction).
pub(super) async fn cancel_scheduled(
    store: &PgStore,
    team: TeamId,
    message: MessageId,
    actor: UserId,
) -> Result<Committed<Message>, StoreError> {
    let mut tx = store.begin().await?;
    // Claiming moves a due row to `sending` under a row lock, so a cancel either lands first
    // (and the claim skips the row) or finds it no longer scheduled: never both.
    lock_scheduled(&mut tx, team, message).await?;
    sqlx::query("UPDATE messages SET status = 'canceled', updated_at = now() WHERE id = $1").bind(message.0).execute(tx.conn()).await?;
    let committed = message_updated(&mut tx, message, Some(actor)).await?;
    tx.commit().await?;
    Ok(committed)
}

/// Locks a message of the team that is still `scheduled`: NotFound for another team's or a
/// missing one, Conflict once it has moved on (claimed, sent, canceled).
pub(super) async fn lock_scheduled(tx: &mut Tx<'_>, team: TeamId, message: MessageId) -> Result<(), StoreError> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM messages WHERE team_id = $1 AND id = $2 FOR UPDATE")
        .bind(team.0)
        .bind(message.0)
        .fetch_optional(tx.conn())
        .await?;
    match status.as_deref() {
        None => Err(StoreError::NotFound("message")),
        Some("scheduled") => Ok(()),
        Some(other) => Err(StoreError::Conflict(format!("the message is no longer scheduled (it is {other})"))),
    }
}
