//! Follow-ups on threads: keyset pages by due time, and writes that append their thread event in
//! the same transaction. A missed call's callback is inserted only when the call has none and
//! the thread has no pending callback (the unique `call_sid` and the NOT EXISTS in one insert).

use super::events::{append_event, summary};
use crate::store::{PgStore, StoreError, Tx, not_found, op};
use actors::DomainResult;
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

const COLUMNS: &str =
    "id, team_id, thread_id, kind, status, due_at, assignee_id, note, call_sid, created_by, created_at, completed_at, completed_by";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    team_id: Uuid,
    thread_id: Uuid,
    #[sqlx(try_from = "String")]
    kind: FollowUpKind,
    #[sqlx(try_from = "String")]
    status: FollowUpStatus,
    due_at: OffsetDateTime,
    assignee_id: Option<Uuid>,
    note: String,
    call_sid: Option<String>,
    created_by: Option<Uuid>,
    created_at: OffsetDateTime,
    completed_at: Option<OffsetDateTime>,
    completed_by: Option<Uuid>,
}

impl From<Row> for FollowUp {
    fn from(r: Row) -> Self {
        FollowUp {
            id: FollowUpId(r.id),
            team_id: TeamId(r.team_id),
            thread_id: ThreadId(r.thread_id),
            kind: r.kind,
            status: r.status,
            due_at: r.due_at,
            assignee_id: r.assignee_id.map(UserId),
            note: r.note,
            call_sid: r.call_sid,
            created_by: r.created_by.map(UserId),
            created_at: r.created_at,
            completed_at: r.completed_at,
            completed_by: r.completed_by.map(UserId),
        }
    }
}

/// The opaque cursor of a page: the last row's due time and id.
fn encode_cursor(f: &FollowUp) -> String {
    hex::encode(format!("{}|{}", f.due_at.unix_timestamp_nanos(), f.id.0))
}

fn decode_cursor(s: &str) -> Result<(OffsetDateTime, Uuid), StoreError> {
    let bad = || StoreError::invalid("cursor", "is not a cursor this server gave out");
    let raw = String::from_utf8(hex::decode(s).map_err(|_| bad())?).map_err(|_| bad())?;
    let (at, id) = raw.split_once('|').ok_or_else(bad)?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(at.parse().map_err(|_| bad())?).map_err(|_| bad())?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

async fn committed(tx: &mut Tx<'_>, f: FollowUp, kind: &str, actor: Option<UserId>) -> Result<Committed<FollowUp>, StoreError> {
    let event = append_event(tx, f.team_id, f.thread_id, kind, actor, None, serde_json::to_value(&f)?).await?;
    let thread = summary(tx.conn(), f.team_id, f.thread_id).await?;
    Ok(Committed { value: f, events: vec![event], thread })
}

#[async_trait]
impl FollowUpReads for PgStore {
    async fn follow_ups(&self, team: TeamId, f: &FollowUpFilter) -> DomainResult<Page<FollowUp>> {
        op(async move {
            let after = f.cursor.as_deref().map(decode_cursor).transpose()?;
            let sql = format!(
                "SELECT {COLUMNS} FROM follow_ups
                 WHERE team_id = $1
                   AND ($2::uuid IS NULL OR assignee_id = $2 OR ($3 AND assignee_id IS NULL))
                   AND (NOT $3 OR $2::uuid IS NOT NULL OR assignee_id IS NULL)
                   AND ($4::text IS NULL OR status = $4)
                   AND ($5::timestamptz IS NULL OR due_at < $5)
                   AND ($6::uuid IS NULL OR thread_id = $6)
                   AND ($7::timestamptz IS NULL OR (due_at, id) > ($7, $8))
                 ORDER BY due_at, id LIMIT $9"
            );
            let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(f.assignee.map(|a| a.0))
                .bind(f.unassigned)
                .bind(f.status.map(|s| s.as_str()))
                .bind(f.due_before)
                .bind(f.thread.map(|t| t.0))
                .bind(after.map(|(at, _)| at))
                .bind(after.map(|(_, id)| id))
                .bind(f.limit + 1)
                .fetch_all(self.db())
                .await?;
            let mut items: Vec<FollowUp> = rows.into_iter().map(FollowUp::from).collect();
            let more = items.len() as i64 > f.limit;
            items.truncate(f.limit.max(0) as usize);
            let next_cursor = if more { items.last().map(encode_cursor) } else { None };
            Ok(Page { items, next_cursor })
        })
        .await
    }

    async fn follow_up(&self, team: TeamId, id: FollowUpId) -> DomainResult<FollowUp> {
        op(async move {
            let sql = format!("SELECT {COLUMNS} FROM follow_ups WHERE team_id = $1 AND id = $2");
            let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(id.0)
                .fetch_one(self.db())
                .await
                .map_err(not_found("follow-up"))?;
            Ok(row.into())
        })
        .await
    }
}

#[async_trait]
impl FollowUpWrites for PgStore {
    async fn create_follow_up(&self, n: NewFollowUp) -> DomainResult<Option<Committed<FollowUp>>> {
        op(async move {
            let mut tx = self.begin().await?;
            let sql = format!(
                "INSERT INTO follow_ups (id, team_id, thread_id, kind, due_at, assignee_id, note, call_sid, created_by)
                 SELECT $1, t.team_id, t.id, $4, $5, $6, $7, $8, $9 FROM threads t
                 WHERE t.team_id = $2 AND t.id = $3
                   AND ($8::text IS NULL OR NOT EXISTS (
                        SELECT 1 FROM follow_ups f WHERE f.thread_id = t.id AND f.kind = 'callback' AND f.status = 'pending'))
                 ON CONFLICT (call_sid) DO NOTHING
                 RETURNING {COLUMNS}"
            );
            let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(FollowUpId::new().0)
                .bind(n.team.0)
                .bind(n.thread.0)
                .bind(n.kind.as_str())
                .bind(n.due_at)
                .bind(n.assignee.map(|a| a.0))
                .bind(&n.note)
                .bind(&n.call_sid)
                .bind(n.created_by.map(|u| u.0))
                .fetch_optional(tx.conn())
                .await?;
            let Some(row) = row else {
                return if n.call_sid.is_some() { Ok(None) } else { Err(StoreError::NotFound("thread")) };
            };
            let done = committed(&mut tx, row.into(), event::FOLLOW_UP_CREATED, n.created_by).await?;
            tx.commit().await?;
            Ok(Some(done))
        })
        .await
    }

    async fn update_follow_up(&self, team: TeamId, id: FollowUpId, actor: UserId, c: FollowUpChange) -> DomainResult<Committed<FollowUp>> {
        op(async move {
            let mut tx = self.begin().await?;
            let sql = format!(
                "UPDATE follow_ups SET
                    status = COALESCE($3, status),
                    due_at = COALESCE($4, due_at),
                    reminded_at = CASE WHEN $4::timestamptz IS DISTINCT FROM NULL AND $4 <> due_at THEN NULL ELSE reminded_at END,
                    assignee_id = CASE WHEN $5 THEN $6 ELSE assignee_id END,
                    completed_at = CASE WHEN $3::text IS NULL THEN completed_at WHEN $3 = 'pending' THEN NULL ELSE now() END,
                    completed_by = CASE WHEN $3::text IS NULL THEN completed_by WHEN $3 = 'pending' THEN NULL ELSE $7 END
                 WHERE team_id = $1 AND id = $2 RETURNING {COLUMNS}"
            );
            let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(id.0)
                .bind(c.status.map(|s| s.as_str()))
                .bind(c.due_at)
                .bind(c.assignee.is_some())
                .bind(c.assignee.flatten().map(|a| a.0))
                .bind(actor.0)
                .fetch_one(tx.conn())
                .await
                .map_err(not_found("follow-up"))?;
            let done = committed(&mut tx, row.into(), event::FOLLOW_UP_UPDATED, Some(actor)).await?;
            tx.commit().await?;
            Ok(done)
        })
        .await
    }
}

#[derive(sqlx::FromRow)]
struct DueRow {
    #[sqlx(flatten)]
    follow_up: Row,
    thread_assignee: Option<Uuid>,
    contact_name: String,
    contact_phone: String,
}

#[async_trait]
impl FollowUpReminders for PgStore {
    async fn claim_due_reminders(&self, now: OffsetDateTime, limit: i64) -> DomainResult<Vec<DueFollowUp>> {
        op(async move {
            let returning = COLUMNS.split(", ").map(|c| format!("f.{c}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "WITH due AS (
                   SELECT id FROM follow_ups
                    WHERE status = 'pending' AND reminded_at IS NULL AND due_at <= $1
                    ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                 UPDATE follow_ups f SET reminded_at = now()
                   FROM due, threads t JOIN contacts c ON c.id = t.contact_id
                  WHERE f.id = due.id AND t.id = f.thread_id
                 RETURNING {returning}, t.assignee_id AS thread_assignee, c.name AS contact_name, c.phone AS contact_phone"
            );
            let rows: Vec<DueRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).bind(limit).fetch_all(self.db()).await?;
            let mut due: Vec<DueFollowUp> = rows
                .into_iter()
                .map(|r| DueFollowUp {
                    follow_up: r.follow_up.into(),
                    thread_assignee: r.thread_assignee.map(UserId),
                    contact_name: r.contact_name,
                    contact_phone: r.contact_phone,
                })
                .collect();
            due.sort_by_key(|d| d.follow_up.due_at);
            Ok(due)
        })
        .await
    }
}
