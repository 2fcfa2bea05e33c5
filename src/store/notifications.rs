//! Notifications per user. Creating one is one statement for every recipient of a fact: the
//! recipients are resolved in SQL (active members of the fact's team who want its kind; for an
//! inbound message on an unassigned thread, those who opted in), the insert skips anyone who
//! has the fact already (`UNIQUE (user_id, fact)`), and each stored row comes back with its
//! owner's unread count. Marking read is one statement too.

use super::{PgStore, StoreError, cursor, op};
use actors::DomainResult;
use actors::ids::*;
use actors::ports::{Created, Notification, NotificationPrefs, NotificationStore, Page, ReadWhich};
use actors::rules::notifications::{Fact, NotificationKind, Recipients};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    thread_id: Option<Uuid>,
    actor_id: Option<Uuid>,
    actor_name: Option<String>,
    data: serde_json::Value,
    read_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

impl TryFrom<Row> for Notification {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Notification, StoreError> {
        Ok(Notification {
            id: NotificationId(r.id),
            user_id: UserId(r.user_id),
            kind: NotificationKind::parse(&r.kind).map_err(|e| StoreError::Internal(e.to_string()))?,
            thread_id: r.thread_id.map(ThreadId),
            actor_id: r.actor_id.map(UserId),
            actor_name: r.actor_name,
            data: r.data,
            read_at: r.read_at,
            created_at: r.created_at,
        })
    }
}

const DEFAULT_KINDS: &str = "'{mention,assigned,inbound,snooze_ended,send_failed,follow_up_due}'::text[]";

async fn create(store: &PgStore, fact: &Fact) -> Result<Vec<Created>, StoreError> {
    let (watchers, users) = match &fact.recipients {
        Recipients::Users(users) => (false, users.iter().map(|u| u.0).collect::<Vec<_>>()),
        Recipients::UnassignedWatchers => (true, Vec::new()),
    };
    let sql = format!(
        "WITH recipients AS (
           SELECT u.id FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id
            WHERE u.team_id = $1 AND u.deactivated_at IS NULL AND u.removed_at IS NULL
              AND CASE WHEN $2 THEN COALESCE(p.inbound_unassigned, false) ELSE u.id = ANY($3) END
              AND $4 = ANY(COALESCE(p.kinds, {DEFAULT_KINDS}))
         ), ins AS (
           INSERT INTO notifications (id, team_id, user_id, kind, thread_id, fact, actor_id, data)
           SELECT gen_random_uuid(), $1, r.id, $4, $5, $6, $7, $8 FROM recipients r
           ON CONFLICT (user_id, fact) DO NOTHING
           RETURNING *
         )
         SELECT ins.id, ins.user_id, ins.kind, ins.thread_id, ins.actor_id, a.name AS actor_name, ins.data, ins.read_at,
                ins.created_at,
                (SELECT count(*) FROM notifications n WHERE n.user_id = ins.user_id AND n.read_at IS NULL) + 1 AS unread
           FROM ins LEFT JOIN users a ON a.id = ins.actor_id"
    );
    #[derive(sqlx::FromRow)]
    struct CreatedRow {
        #[sqlx(flatten)]
        row: Row,
        unread: i64,
    }
    let rows: Vec<CreatedRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(fact.team.0)
        .bind(watchers)
        .bind(users)
        .bind(fact.kind.as_str())
        .bind(fact.thread.0)
        .bind(&fact.key)
        .bind(fact.actor.map(|a| a.0))
        .bind(&fact.data)
        .fetch_all(store.db())
        .await?;
    rows.into_iter().map(|r| Ok(Created { notification: r.row.try_into()?, unread: r.unread })).collect()
}

async fn list(store: &PgStore, user: UserId, after: Option<&str>, limit: i64) -> Result<Page<Notification>, StoreError> {
    let after = after.map(cursor::decode).transpose()?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT n.id, n.user_id, n.kind, n.thread_id, n.actor_id, a.name AS actor_name, n.data, n.read_at, n.created_at
           FROM notifications n LEFT JOIN users a ON a.id = n.actor_id
          WHERE n.user_id = $1 AND ($2::timestamptz IS NULL OR (n.created_at, n.id) < ($2, $3))
          ORDER BY n.created_at DESC, n.id DESC LIMIT $4",
    )
    .bind(user.0)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit + 1)
    .fetch_all(store.db())
    .await?;
    let more = rows.len() as i64 > limit;
    let mut items = rows.into_iter().take(limit.max(0) as usize).map(Notification::try_from).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if more { items.last().map(|n| cursor::encode(n.created_at, n.id.0)) } else { None };
    items.truncate(limit.max(0) as usize);
    Ok(Page { items, next_cursor })
}

async fn unread(store: &PgStore, user: UserId) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
        .bind(user.0)
        .fetch_one(store.db())
        .await?)
}

async fn mark_read(store: &PgStore, user: UserId, which: &ReadWhich) -> Result<(Vec<NotificationId>, i64), StoreError> {
    let (all, ids) = match which {
        ReadWhich::All => (true, Vec::new()),
        ReadWhich::Ids(ids) => (false, ids.iter().map(|i| i.0).collect::<Vec<_>>()),
    };
    let (changed, unread): (Vec<Uuid>, i64) = sqlx::query_as(
        "WITH upd AS (
           UPDATE notifications SET read_at = now()
            WHERE user_id = $1 AND read_at IS NULL AND ($2 OR id = ANY($3)) RETURNING id
         )
         SELECT COALESCE((SELECT array_agg(id) FROM upd), '{}'),
                (SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL) - (SELECT count(*) FROM upd)",
    )
    .bind(user.0)
    .bind(all)
    .bind(ids)
    .fetch_one(store.db())
    .await?;
    Ok((changed.into_iter().map(NotificationId).collect(), unread))
}

fn prefs_of(row: Option<(Vec<String>, bool, bool)>) -> Result<NotificationPrefs, StoreError> {
    let Some((kinds, inbound_unassigned, browser)) = row else { return Ok(NotificationPrefs::default()) };
    let mut kinds =
        kinds.iter().map(|k| NotificationKind::parse(k)).collect::<Result<Vec<_>, _>>().map_err(|e| StoreError::Internal(e.to_string()))?;
    kinds.sort_by_key(|k| NotificationKind::ALL.iter().position(|a| a == k));
    Ok(NotificationPrefs { kinds, inbound_unassigned, browser })
}

async fn prefs(store: &PgStore, user: UserId) -> Result<NotificationPrefs, StoreError> {
    let row = sqlx::query_as("SELECT kinds, inbound_unassigned, browser FROM notification_preferences WHERE user_id = $1")
        .bind(user.0)
        .fetch_optional(store.db())
        .await?;
    prefs_of(row)
}

async fn set_prefs(store: &PgStore, team: TeamId, user: UserId, p: &NotificationPrefs) -> Result<NotificationPrefs, StoreError> {
    let kinds: Vec<&str> = p.kinds.iter().map(|k| k.as_str()).collect();
    let row = sqlx::query_as(
        "INSERT INTO notification_preferences (user_id, team_id, kinds, inbound_unassigned, browser) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET kinds = $3, inbound_unassigned = $4, browser = $5, updated_at = now()
         RETURNING kinds, inbound_unassigned, browser",
    )
    .bind(user.0)
    .bind(team.0)
    .bind(kinds)
    .bind(p.inbound_unassigned)
    .bind(p.browser)
    .fetch_optional(store.db())
    .await?;
    prefs_of(row)
}

#[async_trait]
impl NotificationStore for PgStore {
    async fn create_notifications(&self, fact: &Fact) -> DomainResult<Vec<Created>> {
        op(create(self, fact)).await
    }

    async fn notifications(&self, user: UserId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Notification>> {
        op(list(self, user, cursor, limit)).await
    }

    async fn unread_notifications(&self, user: UserId) -> DomainResult<i64> {
        op(unread(self, user)).await
    }

    async fn mark_notifications_read(&self, user: UserId, which: &ReadWhich) -> DomainResult<(Vec<NotificationId>, i64)> {
        op(mark_read(self, user, which)).await
    }

    async fn notification_prefs(&self, user: UserId) -> DomainResult<NotificationPrefs> {
        op(prefs(self, user)).await
    }

    async fn set_notification_prefs(&self, team: TeamId, user: UserId, p: &NotificationPrefs) -> DomainResult<NotificationPrefs> {
        op(set_prefs(self, team, user, p)).await
    }

    async fn has_unassigned_watchers(&self, team: TeamId) -> DomainResult<bool> {
        op(async move {
            let any: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM notification_preferences WHERE team_id = $1 AND inbound_unassigned)")
                    .bind(team.0)
                    .fetch_one(self.db())
                    .await?;
            Ok(any)
        })
        .await
    }
}
