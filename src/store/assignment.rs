//! Automatic assignment: the team's setting (`team_auto_assignment`) and the pick. The pick is
//! one transaction: lock the team's setting row (so picks of one team on every node take
//! turns), choose among the online active members under the cap the one picked longest ago,
//! and mark them picked.

use super::{PgStore, op};
use actors::DomainResult;
use actors::domain::AutoAssignment;
use actors::ids::*;
use actors::ports::{AssignmentStore, PickFor};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl AssignmentStore for PgStore {
    async fn auto_assignment(&self, team: TeamId) -> DomainResult<AutoAssignment> {
        op(async move {
            let row: Option<(bool, Option<i32>)> =
                sqlx::query_as("SELECT enabled, max_open_per_agent FROM team_auto_assignment WHERE team_id = $1")
                    .bind(team.0)
                    .fetch_optional(self.db())
                    .await?;
            Ok(row.map(|(enabled, max_open_per_agent)| AutoAssignment { enabled, max_open_per_agent }).unwrap_or_default())
        })
        .await
    }

    async fn set_auto_assignment(&self, team: TeamId, setting: AutoAssignment) -> DomainResult<()> {
        op(async move {
            sqlx::query(
                "INSERT INTO team_auto_assignment (team_id, enabled, max_open_per_agent) VALUES ($1, $2, $3)
                 ON CONFLICT (team_id) DO UPDATE SET enabled = $2, max_open_per_agent = $3, updated_at = now()",
            )
            .bind(team.0)
            .bind(setting.enabled)
            .bind(setting.max_open_per_agent)
            .execute(self.db())
            .await?;
            Ok(())
        })
        .await
    }

    async fn next_assignee(&self, team: TeamId, online: &[UserId], r#for: PickFor) -> DomainResult<Option<UserId>> {
        let online: Vec<Uuid> = online.iter().map(|u| u.0).collect();
        op(async move {
            let mut tx = self.begin().await?;
            // The upsert locks the team's row (made, off, when missing) whoever picks: a rule's
            // round robin and automatic assignment take the same turns.
            let row: Option<(bool, Option<i32>)> = sqlx::query_as(
                "INSERT INTO team_auto_assignment AS a (team_id) SELECT id FROM teams WHERE id = $1
                 ON CONFLICT (team_id) DO UPDATE SET team_id = a.team_id
                 RETURNING enabled, max_open_per_agent",
            )
            .bind(team.0)
            .fetch_optional(tx.conn())
            .await?;
            let Some((enabled, cap)) = row else { return Ok(None) };
            if r#for == PickFor::AutoAssignment && !enabled {
                return Ok(None);
            }
            let picked: Option<Uuid> = sqlx::query_scalar(
                "UPDATE users SET last_auto_assigned_at = clock_timestamp()
                 WHERE id = (
                     SELECT u.id FROM users u
                     WHERE u.team_id = $1 AND u.id = ANY($2) AND u.deactivated_at IS NULL AND u.removed_at IS NULL
                       AND ($3::int IS NULL OR (SELECT count(*) FROM threads t
                            WHERE t.team_id = $1 AND t.assignee_id = u.id AND t.status IN ('open', 'pending')) < $3)
                     ORDER BY u.last_auto_assigned_at NULLS FIRST, u.id
                     LIMIT 1)
                 RETURNING id",
            )
            .bind(team.0)
            .bind(&online)
            .bind(cap)
            .fetch_optional(tx.conn())
            .await?;
            tx.commit().await?;
            Ok(picked.map(UserId))
        })
        .await
    }

    async fn claim_backlogs(&self, every: std::time::Duration) -> DomainResult<Vec<TeamId>> {
        op(async move {
            let teams: Vec<Uuid> = sqlx::query_scalar(
                "UPDATE team_auto_assignment SET swept_at = now()
                 WHERE enabled AND (swept_at IS NULL OR swept_at <= now() - make_interval(secs => $1))
                 RETURNING team_id",
            )
            .bind(every.as_secs_f64())
            .fetch_all(self.db())
            .await?;
            Ok(teams.into_iter().map(TeamId).collect())
        })
        .await
    }

    async fn waiting_unassigned(&self, team: TeamId, since: OffsetDateTime, limit: i64) -> DomainResult<Vec<ThreadId>> {
        op(async move {
            let ids: Vec<Uuid> = sqlx::query_scalar(
                "SELECT id FROM threads
                 WHERE team_id = $1 AND assignee_id IS NULL AND status IN ('open', 'pending') AND listed
                   AND last_inbound_at > $2 AND last_inbound_at >= last_message_at
                 ORDER BY last_inbound_at, id LIMIT $3",
            )
            .bind(team.0)
            .bind(since)
            .bind(limit)
            .fetch_all(self.db())
            .await?;
            Ok(ids.into_iter().map(ThreadId).collect())
        })
        .await
    }
}
