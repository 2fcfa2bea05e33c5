//! Dashboard numbers and the message export.

use super::{PgStore, op};
use actors::DomainResult;
use actors::domain::{ChannelKind, Direction, MessageStatus};
use actors::ids::*;
use actors::ports::{AnalyticsStore, ExportRow};
use async_trait::async_trait;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct Summary {
    open: i64,
    pending: i64,
    resolved: i64,
    snoozed: i64,
    unread_threads: i64,
    unassigned_open: i64,
    inbound_24h: i64,
    outbound_24h: i64,
    delivered_7d: i64,
    failed_7d: i64,
    finished_7d: i64,
    scheduled_pending: i64,
    median_first_response_secs: Option<f64>,
    p90_first_response_secs: Option<f64>,
}

#[async_trait]
impl AnalyticsStore for PgStore {
    async fn summary(&self, team: TeamId) -> DomainResult<Value> {
        op(async move {
            // First response: for each inbound message of the last 7 days that follows an outbound
            // one (or opens the thread), the time until the team's next outbound message.
            let s: Summary = sqlx::query_as(
                "WITH t AS (SELECT * FROM threads WHERE team_id = $1),
                      m AS (SELECT * FROM messages WHERE team_id = $1 AND created_at > now() - interval '7 days'),
                      turns AS (
                        SELECT i.created_at AS asked,
                               (SELECT min(o.created_at) FROM messages o
                                 WHERE o.thread_id = i.thread_id AND o.direction = 'outbound' AND o.created_at > i.created_at
                                   AND o.status NOT IN ('scheduled', 'canceled')) AS answered
                        FROM m i
                        WHERE i.direction = 'inbound'
                          AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.thread_id = i.thread_id AND p.created_at < i.created_at
                                            AND p.created_at > i.created_at - interval '7 days' AND p.direction = 'inbound'
                                            AND NOT EXISTS (SELECT 1 FROM messages q WHERE q.thread_id = i.thread_id AND q.direction = 'outbound'
                                                              AND q.created_at > p.created_at AND q.created_at < i.created_at)))
                 SELECT
                   (SELECT count(*) FROM t WHERE status = 'open') AS open,
                   (SELECT count(*) FROM t WHERE status = 'pending') AS pending,
                   (SELECT count(*) FROM t WHERE status = 'resolved') AS resolved,
                   (SELECT count(*) FROM t WHERE status = 'snoozed') AS snoozed,
                   (SELECT count(*) FROM t WHERE unread_count > 0) AS unread_threads,
                   (SELECT count(*) FROM t WHERE status = 'open' AND assignee_id IS NULL) AS unassigned_open,
                   (SELECT count(*) FROM m WHERE direction = 'inbound' AND created_at > now() - interval '1 day') AS inbound_24h,
                   (SELECT count(*) FROM m WHERE direction = 'outbound' AND status NOT IN ('scheduled', 'canceled')
                      AND created_at > now() - interval '1 day') AS outbound_24h,
                   (SELECT count(*) FROM m WHERE direction = 'outbound' AND status IN ('delivered', 'read')) AS delivered_7d,
                   (SELECT count(*) FROM m WHERE direction = 'outbound' AND status IN ('failed', 'undelivered')) AS failed_7d,
                   (SELECT count(*) FROM m WHERE direction = 'outbound' AND status IN ('delivered', 'read', 'failed', 'undelivered')) AS finished_7d,
                   (SELECT count(*) FROM messages WHERE team_id = $1 AND status = 'scheduled') AS scheduled_pending,
                   (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM answered - asked)) FROM turns WHERE answered IS NOT NULL)
                      AS median_first_response_secs,
                   (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM answered - asked)) FROM turns WHERE answered IS NOT NULL)
                      AS p90_first_response_secs",
            )
            .bind(team.0)
            .fetch_one(self.db())
            .await?;
            let rate = (s.finished_7d > 0).then(|| s.delivered_7d as f64 / s.finished_7d as f64);
            Ok(json!({
                "threads": { "open": s.open, "pending": s.pending, "resolved": s.resolved, "snoozed": s.snoozed,
                             "unread": s.unread_threads, "unassigned_open": s.unassigned_open },
                "messages_24h": { "inbound": s.inbound_24h, "outbound": s.outbound_24h },
                "delivery_7d": { "delivered": s.delivered_7d, "failed": s.failed_7d, "rate": rate },
                "first_response_7d": { "median_seconds": s.median_first_response_secs, "p90_seconds": s.p90_first_response_secs },
                "scheduled_pending": s.scheduled_pending,
            }))
        })
        .await
    }

    async fn export(&self, team: TeamId, since: OffsetDateTime, limit: i64) -> DomainResult<Vec<ExportRow>> {
        op(async move {
            #[derive(sqlx::FromRow)]
            struct Row {
                created_at: OffsetDateTime,
                thread_id: Uuid,
                name: String,
                phone: String,
                #[sqlx(try_from = "String")]
                channel_kind: ChannelKind,
                #[sqlx(try_from = "String")]
                direction: Direction,
                #[sqlx(try_from = "String")]
                status: MessageStatus,
                body: String,
                error_code: Option<i32>,
                error_reason: Option<String>,
            }
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT m.created_at, m.thread_id, c.name, c.phone, m.channel_kind, m.direction, m.status, m.body, m.error_code, m.error_reason
                 FROM messages m JOIN threads t ON t.id = m.thread_id JOIN contacts c ON c.id = t.contact_id
                 WHERE m.team_id = $1 AND m.created_at >= $2 ORDER BY m.created_at, m.id LIMIT $3",
            )
            .bind(team.0)
            .bind(since)
            .bind(limit)
            .fetch_all(self.db())
            .await?;
            Ok(rows
                .into_iter()
                .map(|r| ExportRow {
                    created_at: r.created_at,
                    thread_id: ThreadId(r.thread_id),
                    contact_name: r.name,
                    contact_phone: r.phone,
                    channel: r.channel_kind,
                    direction: r.direction,
                    status: r.status,
                    body: r.body,
                    error_code: r.error_code,
                    error_reason: r.error_reason,
                })
                .collect())
        })
        .await
    }
}
