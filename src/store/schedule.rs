//! The scheduler's queries: what is due, claiming it exactly once, and failing stale sends.

use super::{PgStore, op};
use actors::DomainResult;
use actors::ids::*;
use actors::ports::{Claimed, ScheduleStore};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl ScheduleStore for PgStore {
    async fn due_before(&self, until: OffsetDateTime, limit: i64) -> DomainResult<Vec<(MessageId, OffsetDateTime)>> {
        op(async move {
            let rows: Vec<(Uuid, OffsetDateTime)> = sqlx::query_as(
                "SELECT id, scheduled_at FROM messages WHERE status = 'scheduled' AND scheduled_at <= $1 ORDER BY scheduled_at LIMIT $2",
            )
            .bind(until)
            .bind(limit)
            .fetch_all(self.db())
            .await?;
            Ok(rows.into_iter().map(|(id, at)| (MessageId(id), at)).collect())
        })
        .await
    }

    async fn claim_due(&self, now: OffsetDateTime, limit: i64) -> DomainResult<Vec<Claimed>> {
        op(async move {
            // SKIP LOCKED: rows another node is claiming right now are passed over, not waited for,
            // and the status change makes a claimed row invisible to every later claim. The rows
            // come back in due order (the same instant: in the order they were created), the
            // order each thread sends its share in.
            let rows: Vec<(Uuid, Uuid, Uuid, OffsetDateTime)> = sqlx::query_as(
                "WITH c AS (
                    UPDATE messages SET status = 'sending', claimed_at = now(), updated_at = now()
                    WHERE id IN (SELECT id FROM messages WHERE status = 'scheduled' AND scheduled_at <= $1
                                 ORDER BY scheduled_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                    RETURNING id, thread_id, team_id, scheduled_at, created_at)
                 SELECT id, thread_id, team_id, scheduled_at FROM c ORDER BY scheduled_at, created_at, id",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(self.db())
            .await?;
            Ok(rows
                .into_iter()
                .map(|(id, thread, team, at)| Claimed {
                    message: MessageId(id),
                    thread: ThreadId(thread),
                    team: TeamId(team),
                    scheduled_at: at,
                })
                .collect())
        })
        .await
    }

    async fn stale_sends(&self, older_than: OffsetDateTime, limit: i64) -> DomainResult<Vec<(ThreadId, MessageId)>> {
        op(async move {
            let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
                "SELECT thread_id, id FROM messages
                 WHERE status IN ('queued', 'sending') AND provider_sid IS NULL AND claimed_at < $1
                 ORDER BY claimed_at LIMIT $2",
            )
            .bind(older_than)
            .bind(limit)
            .fetch_all(self.db())
            .await?;
            Ok(rows.into_iter().map(|(t, m)| (ThreadId(t), MessageId(m))).collect())
        })
        .await
    }

    async fn touch_claim(&self, message: MessageId) -> DomainResult<bool> {
        op(async move {
            let row: Option<Uuid> = sqlx::query_scalar(
                "UPDATE messages SET claimed_at = now() WHERE id = $1 AND status IN ('queued', 'sending') AND provider_sid IS NULL RETURNING id",
            )
            .bind(message.0)
            .fetch_optional(self.db())
            .await?;
            Ok(row.is_some())
        })
        .await
    }

    async fn due_snoozes(&self, now: OffsetDateTime, limit: i64) -> DomainResult<Vec<ThreadId>> {
        op(async move {
            let ids: Vec<Uuid> = sqlx::query_scalar(
                "SELECT id FROM threads WHERE status = 'snoozed' AND snoozed_until <= $1 ORDER BY snoozed_until LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(self.db())
            .await?;
            Ok(ids.into_iter().map(ThreadId).collect())
        })
        .await
    }

    async fn unclaim(&self, message: MessageId) -> DomainResult<()> {
        op(async move {
            sqlx::query(
                "UPDATE messages SET status = 'scheduled', scheduled_at = COALESCE(scheduled_at, now()), claimed_at = NULL,
                        updated_at = now()
                 WHERE id = $1 AND status IN ('queued', 'sending') AND provider_sid IS NULL",
            )
            .bind(message.0)
            .execute(self.db())
            .await?;
            Ok(())
        })
        .await
    }
}
