//! Threads, messages, notes and the per-thread event log. Every write appends its thread events
//! in the same transaction, taking each seq from `threads.last_seq` with `UPDATE … RETURNING`:
//! the row lock orders concurrent writers, on this node or any other.

use super::contacts::page;
use super::{PgStore, cursor, db, like_pattern, not_found, parse};
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use actors::{DomainError, DomainResult};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// The inbox row of a thread; the caller appends WHERE/ORDER.
macro_rules! summary_sql {
    ($tail:literal) => {
        concat!(
            "SELECT t.id, t.team_id, t.status, t.assignee_id, u.name AS assignee_name, t.unread_count,
                    t.last_message_at, t.last_preview, t.last_seq, t.created_at,
                    c.id AS contact_id, c.name AS contact_name, c.phone AS contact_phone,
                    c.opted_out_at AS contact_opted_out_at,
                    ch.id AS channel_id, ch.kind AS channel_kind, ch.number AS channel_number,
                    (SELECT count(*) FROM messages m WHERE m.thread_id = t.id AND m.status = 'scheduled') AS scheduled_count
             FROM threads t
             JOIN contacts c ON c.id = t.contact_id
             JOIN channels ch ON ch.id = t.channel_id
             LEFT JOIN users u ON u.id = t.assignee_id ",
            $tail
        )
    };
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    team_id: Uuid,
    status: String,
    assignee_id: Option<Uuid>,
    assignee_name: Option<String>,
    unread_count: i32,
    last_message_at: Option<OffsetDateTime>,
    last_preview: String,
    last_seq: i64,
    created_at: OffsetDateTime,
    contact_id: Uuid,
    contact_name: String,
    contact_phone: String,
    contact_opted_out_at: Option<OffsetDateTime>,
    channel_id: Uuid,
    channel_kind: String,
    channel_number: String,
    scheduled_count: i64,
}

impl SummaryRow {
    fn activity(&self) -> OffsetDateTime {
        self.last_message_at.unwrap_or(self.created_at)
    }
}

impl From<SummaryRow> for ThreadSummary {
    fn from(r: SummaryRow) -> ThreadSummary {
        ThreadSummary {
            id: ThreadId(r.id),
            team_id: TeamId(r.team_id),
            contact: ContactBrief {
                id: ContactId(r.contact_id),
                name: r.contact_name,
                phone: r.contact_phone,
                opted_out_at: r.contact_opted_out_at,
            },
            channel: ChannelBrief {
                id: ChannelId(r.channel_id),
                kind: r.channel_kind.parse().unwrap_or(ChannelKind::Sms),
                number: r.channel_number,
            },
            status: r.status.parse().unwrap_or(ThreadStatus::Open),
            assignee_id: r.assignee_id.map(UserId),
            assignee_name: r.assignee_name,
            unread_count: r.unread_count,
            last_message_at: r.last_message_at,
            last_preview: r.last_preview,
            last_seq: r.last_seq,
            scheduled_count: r.scheduled_count,
            created_at: r.created_at,
        }
    }
}

pub(crate) const MESSAGE_COLUMNS: &str =
    "id, team_id, thread_id, direction, channel_kind, body, media, status, provider_sid, error_code, error_reason,
     author_id, scheduled_at, cancel_on_reply, sent_at, delivered_at, read_at, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    id: Uuid,
    team_id: Uuid,
    thread_id: Uuid,
    direction: String,
    channel_kind: String,
    body: String,
    media: Json<Vec<Media>>,
    status: String,
    provider_sid: Option<String>,
    error_code: Option<i32>,
    error_reason: Option<String>,
    author_id: Option<Uuid>,
    scheduled_at: Option<OffsetDateTime>,
    cancel_on_reply: bool,
    sent_at: Option<OffsetDateTime>,
    delivered_at: Option<OffsetDateTime>,
    read_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

impl From<MessageRow> for Message {
    fn from(r: MessageRow) -> Message {
        Message {
            id: MessageId(r.id),
            team_id: TeamId(r.team_id),
            thread_id: ThreadId(r.thread_id),
            direction: r.direction.parse().unwrap_or(Direction::Outbound),
            channel: r.channel_kind.parse().unwrap_or(ChannelKind::Sms),
            body: r.body,
            media: r.media.0,
            status: r.status.parse().unwrap_or(MessageStatus::Failed),
            provider_sid: r.provider_sid,
            error_code: r.error_code,
            error_reason: r.error_reason,
            author_id: r.author_id.map(UserId),
            scheduled_at: r.scheduled_at,
            cancel_on_reply: r.cancel_on_reply,
            sent_at: r.sent_at,
            delivered_at: r.delivered_at,
            read_at: r.read_at,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct NoteRow {
    id: Uuid,
    team_id: Uuid,
    thread_id: Uuid,
    author_id: Uuid,
    author_name: String,
    body: String,
    visibility: String,
    mentions: Vec<Uuid>,
    created_at: OffsetDateTime,
}

impl From<NoteRow> for Note {
    fn from(r: NoteRow) -> Note {
        Note {
            id: NoteId(r.id),
            team_id: TeamId(r.team_id),
            thread_id: ThreadId(r.thread_id),
            author_id: UserId(r.author_id),
            author_name: r.author_name,
            body: r.body,
            visibility: r.visibility.parse().unwrap_or(Visibility::Private),
            mentions: r.mentions.into_iter().map(UserId).collect(),
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    thread_id: Uuid,
    seq: i64,
    team_id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    actor_id: Option<Uuid>,
    audience: Option<Uuid>,
    payload: Json<Value>,
    created_at: OffsetDateTime,
}

impl From<EventRow> for ThreadEvent {
    fn from(r: EventRow) -> ThreadEvent {
        ThreadEvent {
            seq: r.seq,
            thread_id: ThreadId(r.thread_id),
            team_id: TeamId(r.team_id),
            kind: r.kind,
            actor_id: r.actor_id.map(UserId),
            audience: r.audience.map(UserId),
            data: r.payload.0,
            created_at: r.created_at,
        }
    }
}

/// The inbox row of one thread, inside a transaction.
pub(crate) async fn summary(conn: &mut PgConnection, team: TeamId, thread: ThreadId) -> DomainResult<ThreadSummary> {
    let row: SummaryRow = sqlx::query_as(summary_sql!("WHERE t.team_id = $1 AND t.id = $2"))
        .bind(team.0)
        .bind(thread.0)
        .fetch_one(conn)
        .await
        .map_err(not_found("thread"))?;
    Ok(row.into())
}

/// Appends one event to a thread's log and returns it with its seq.
pub(crate) async fn append_event(
    conn: &mut PgConnection,
    team: TeamId,
    thread: ThreadId,
    kind: &str,
    actor: Option<UserId>,
    audience: Option<UserId>,
    data: Value,
) -> DomainResult<ThreadEvent> {
    let seq: i64 = sqlx::query_scalar("UPDATE threads SET last_seq = last_seq + 1 WHERE id = $1 AND team_id = $2 RETURNING last_seq")
        .bind(thread.0)
        .bind(team.0)
        .fetch_one(&mut *conn)
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
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    Ok(ThreadEvent { seq, thread_id: thread, team_id: team, kind: kind.to_owned(), actor_id: actor, audience, data, created_at })
}

/// Appends a `message.*` event carrying the message itself.
pub(crate) async fn message_event(conn: &mut PgConnection, msg: &Message, kind: &str, actor: Option<UserId>) -> DomainResult<ThreadEvent> {
    let data = serde_json::to_value(msg).map_err(|e| DomainError::Internal(e.to_string()))?;
    append_event(conn, msg.team_id, msg.thread_id, kind, actor, None, data).await
}

/// Loads one message by id, inside a transaction, optionally locking its row.
pub(crate) async fn load_message(conn: &mut PgConnection, id: MessageId) -> DomainResult<Message> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"));
    let row: MessageRow = sqlx::query_as(sql).bind(id.0).fetch_one(conn).await.map_err(not_found("message"))?;
    Ok(row.into())
}

/// After a message changed: reloads it, appends its `message.updated` event and reads the
/// thread's new summary, all inside the caller's transaction.
pub(crate) async fn message_updated(conn: &mut PgConnection, id: MessageId, actor: Option<UserId>) -> DomainResult<Committed<Message>> {
    let msg = load_message(conn, id).await?;
    let event = message_event(conn, &msg, event::MESSAGE_UPDATED, actor).await?;
    let thread = summary(conn, msg.team_id, msg.thread_id).await?;
    Ok(Committed { value: msg, events: vec![event], thread })
}

/// A new message moves its thread up the inbox with a fresh preview; an inbound one also counts
/// as unread.
async fn bump_thread(conn: &mut PgConnection, msg: &Message, unread: bool) -> DomainResult<()> {
    sqlx::query(
        "UPDATE threads SET last_message_at = $2, last_preview = $3, unread_count = unread_count + CASE WHEN $4 THEN 1 ELSE 0 END
         WHERE id = $1",
    )
    .bind(msg.thread_id.0)
    .bind(msg.created_at)
    .bind(preview(&msg.body, msg.media.len()))
    .bind(unread)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// A message's preview line for the inbox.
fn preview(body: &str, media: usize) -> String {
    let mut p: String = body.chars().take(140).collect();
    if p.trim().is_empty() && media > 0 {
        p = "📎 Attachment".into();
    }
    p
}

#[async_trait]
impl ThreadReads for PgStore {
    async fn list_threads(&self, team: TeamId, f: &ThreadFilter) -> DomainResult<Page<ThreadSummary>> {
        let after = f.cursor.as_deref().map(cursor::decode).transpose()?;
        let pattern = f.search.as_deref().map(like_pattern);
        let rows: Vec<SummaryRow> = sqlx::query_as(summary_sql!(
            "WHERE t.team_id = $1
               AND (NOT $2 OR t.unread_count > 0)
               AND (NOT $3 OR EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.status = 'scheduled'))
               AND ($4::text IS NULL OR ch.kind = $4)
               AND ($5::text IS NULL OR t.status = $5)
               AND ($6::uuid IS NULL OR t.assignee_id = $6)
               AND (NOT $7 OR t.assignee_id IS NULL)
               AND ($8::text IS NULL OR c.name ILIKE $8 OR c.phone LIKE $8)
               AND ($9::timestamptz IS NULL OR (COALESCE(t.last_message_at, t.created_at), t.id) < ($9, $10))
             ORDER BY COALESCE(t.last_message_at, t.created_at) DESC, t.id DESC
             LIMIT $11"
        ))
        .bind(team.0)
        .bind(f.unread)
        .bind(f.scheduled)
        .bind(f.channel.map(ChannelKind::as_str))
        .bind(f.status.map(ThreadStatus::as_str))
        .bind(f.assignee.map(|a| a.0))
        .bind(f.unassigned)
        .bind(pattern)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(f.limit + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(page(rows, f.limit, |r| cursor::encode(r.activity(), r.id)))
    }

    async fn thread(&self, team: TeamId, id: ThreadId) -> DomainResult<ThreadSummary> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        summary(&mut conn, team, id).await
    }

    async fn messages(&self, team: TeamId, thread: ThreadId, after: Option<&str>, limit: i64) -> DomainResult<Page<Message>> {
        let after = after.map(cursor::decode).transpose()?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE team_id = $1 AND thread_id = $2 AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
             ORDER BY created_at DESC, id DESC LIMIT $5"
        ));
        let rows: Vec<MessageRow> = sqlx::query_as(sql)
            .bind(team.0)
            .bind(thread.0)
            .bind(after.map(|a| a.0))
            .bind(after.map(|a| a.1))
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        Ok(page(rows, limit, |r| cursor::encode(r.created_at, r.id)))
    }

    async fn notes(&self, team: TeamId, thread: ThreadId, viewer: UserId) -> DomainResult<Vec<Note>> {
        let rows: Vec<NoteRow> = sqlx::query_as(
            "SELECT n.id, n.team_id, n.thread_id, n.author_id, u.name AS author_name, n.body, n.visibility, n.mentions, n.created_at
             FROM notes n JOIN users u ON u.id = n.author_id
             WHERE n.team_id = $1 AND n.thread_id = $2 AND (n.visibility = 'public' OR n.author_id = $3)
             ORDER BY n.created_at, n.id",
        )
        .bind(team.0)
        .bind(thread.0)
        .bind(viewer.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(Note::from).collect())
    }

    async fn events_after(&self, team: TeamId, thread: ThreadId, viewer: UserId, after: i64, limit: i64) -> DomainResult<Vec<ThreadEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT thread_id, seq, team_id, type, actor_id, audience, payload, created_at FROM thread_events
             WHERE team_id = $1 AND thread_id = $2 AND seq > $3 AND (audience IS NULL OR audience = $4)
             ORDER BY seq LIMIT $5",
        )
        .bind(team.0)
        .bind(thread.0)
        .bind(after)
        .bind(viewer.0)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(ThreadEvent::from).collect())
    }

    async fn thread_for_contact(&self, team: TeamId, contact: ContactId, kind: ChannelKind) -> DomainResult<(ThreadId, bool)> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let exists: Option<Uuid> = sqlx::query_scalar("SELECT id FROM contacts WHERE team_id = $1 AND id = $2")
            .bind(team.0)
            .bind(contact.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        exists.ok_or(DomainError::NotFound("contact"))?;
        // The team's first live channel of that kind (real numbers before simulated ones).
        let channel: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM channels WHERE team_id = $1 AND kind = $2 AND deleted_at IS NULL ORDER BY simulated, created_at LIMIT 1",
        )
        .bind(team.0)
        .bind(kind.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let channel = channel.ok_or_else(|| DomainError::invalid("channel", format!("the team has no {kind} number")))?;
        let result = upsert_thread(&mut tx, team, ContactId(contact.0), ChannelId(channel)).await?;
        tx.commit().await.map_err(db)?;
        Ok(result)
    }

    async fn thread_for_inbound(
        &self,
        team: TeamId,
        channel: ChannelId,
        phone: &str,
        profile_name: Option<&str>,
    ) -> DomainResult<(ThreadId, bool)> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // The contact, created if new. An existing one is not rewritten on every message (that
        // would cost a write and a dead row each time): only an empty name takes the WhatsApp
        // profile name.
        let contact: Uuid = sqlx::query_scalar(
            "WITH ins AS (
                INSERT INTO contacts (id, team_id, phone, name) VALUES ($1, $2, $3, COALESCE($4, ''))
                ON CONFLICT (team_id, phone) DO NOTHING RETURNING id)
             SELECT id FROM ins UNION ALL SELECT id FROM contacts WHERE team_id = $2 AND phone = $3 LIMIT 1",
        )
        .bind(ContactId::new().0)
        .bind(team.0)
        .bind(phone)
        .bind(profile_name.map(|n| n.chars().take(200).collect::<String>()))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if let Some(name) = profile_name.filter(|n| !n.trim().is_empty()) {
            sqlx::query("UPDATE contacts SET name = $2, updated_at = now() WHERE id = $1 AND name = ''")
                .bind(contact)
                .bind(name.chars().take(200).collect::<String>())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        let result = upsert_thread(&mut tx, team, ContactId(contact), channel).await?;
        tx.commit().await.map_err(db)?;
        Ok(result)
    }

    async fn message_thread(&self, team: TeamId, message: MessageId) -> DomainResult<ThreadId> {
        let id: Uuid = sqlx::query_scalar("SELECT thread_id FROM messages WHERE team_id = $1 AND id = $2")
            .bind(team.0)
            .bind(message.0)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found("message"))?;
        Ok(ThreadId(id))
    }

    async fn thread_of_message(&self, message: MessageId) -> DomainResult<ThreadId> {
        let id: Uuid = sqlx::query_scalar("SELECT thread_id FROM messages WHERE id = $1")
            .bind(message.0)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found("message"))?;
        Ok(ThreadId(id))
    }

    async fn load_thread(&self, thread: ThreadId) -> DomainResult<Option<ThreadSummary>> {
        let row: Option<SummaryRow> =
            sqlx::query_as(summary_sql!("WHERE t.id = $1")).bind(thread.0).fetch_optional(&self.pool).await.map_err(db)?;
        Ok(row.map(ThreadSummary::from))
    }
}

/// Status callbacks that arrived before the send's sid was recorded (kept as receipts by the
/// webhook) are applied now, forward-only, as one change.
async fn apply_early_callbacks(conn: &mut PgConnection, message: MessageId, sid: &str) -> DomainResult<()> {
    let receipts: Vec<Json<Value>> =
        sqlx::query_scalar("SELECT params FROM webhook_receipts WHERE kind = 'status' AND message_sid = $1 ORDER BY id")
            .bind(sid)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
    let mut best: Option<(MessageStatus, Option<i32>)> = None;
    let mut current = MessageStatus::Sent;
    for Json(params) in receipts {
        let Some(status) = params["MessageStatus"].as_str().and_then(MessageStatus::from_twilio) else { continue };
        if current.may_become(status) {
            current = status;
            let code = params["ErrorCode"].as_str().and_then(|c| c.parse().ok()).filter(|c: &i32| *c != 0);
            best = Some((status, code));
        }
    }
    let Some((status, code)) = best else { return Ok(()) };
    sqlx::query(
        "UPDATE messages SET status = $2, error_code = COALESCE($3, error_code), error_reason = COALESCE($4, error_reason),
                delivered_at = CASE WHEN $2 IN ('delivered', 'read') THEN now() ELSE delivered_at END,
                read_at = CASE WHEN $2 = 'read' THEN now() ELSE read_at END, updated_at = now()
         WHERE id = $1",
    )
    .bind(message.0)
    .bind(status.as_str())
    .bind(code)
    .bind(code.map(twilio_error_reason))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Locks a message of the team that is still `scheduled`: NotFound for another team's or a
/// missing one, Conflict once it has moved on (claimed, sent, canceled).
async fn lock_scheduled(conn: &mut PgConnection, team: TeamId, message: MessageId) -> DomainResult<()> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM messages WHERE team_id = $1 AND id = $2 FOR UPDATE")
        .bind(team.0)
        .bind(message.0)
        .fetch_optional(conn)
        .await
        .map_err(db)?;
    match status.as_deref() {
        None => Err(DomainError::NotFound("message")),
        Some("scheduled") => Ok(()),
        Some(other) => Err(DomainError::Conflict(format!("the message is no longer scheduled (it is {other})"))),
    }
}

/// The thread of (team, contact, channel), created if missing; says whether it was created.
async fn upsert_thread(conn: &mut PgConnection, team: TeamId, contact: ContactId, channel: ChannelId) -> DomainResult<(ThreadId, bool)> {
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO threads (id, team_id, contact_id, channel_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (team_id, contact_id, channel_id) DO NOTHING RETURNING id",
    )
    .bind(ThreadId::new().0)
    .bind(team.0)
    .bind(contact.0)
    .bind(channel.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    if let Some(id) = inserted {
        return Ok((ThreadId(id), true));
    }
    let id: Uuid = sqlx::query_scalar("SELECT id FROM threads WHERE team_id = $1 AND contact_id = $2 AND channel_id = $3")
        .bind(team.0)
        .bind(contact.0)
        .bind(channel.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    Ok((ThreadId(id), false))
}

#[async_trait]
impl ThreadWrites for PgStore {
    async fn create_outbound(&self, m: NewOutbound) -> DomainResult<Committed<Message>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let kind: String =
            sqlx::query_scalar("SELECT ch.kind FROM threads t JOIN channels ch ON ch.id = t.channel_id WHERE t.team_id = $1 AND t.id = $2")
                .bind(m.team.0)
                .bind(m.thread.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(not_found("thread"))?;
        let media: Vec<Media> = m.media_urls.iter().map(|u| Media { url: u.clone(), content_type: None }).collect();
        let status = if m.send_at.is_some() { MessageStatus::Scheduled } else { MessageStatus::Queued };
        // An immediate send is claimed at once: if the process dies before the carrier answers,
        // the stale sweep fails it instead of sending it again.
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO messages (id, team_id, thread_id, direction, channel_kind, body, media, status, author_id, scheduled_at,
                                   cancel_on_reply, claimed_at)
             VALUES ($1, $2, $3, 'outbound', $4, $5, $6, $7, $8, $9, $10, CASE WHEN $9::timestamptz IS NULL THEN now() END)
             RETURNING {MESSAGE_COLUMNS}"
        ));
        let row: MessageRow = sqlx::query_as(sql)
            .bind(MessageId::new().0)
            .bind(m.team.0)
            .bind(m.thread.0)
            .bind(&kind)
            .bind(&m.body)
            .bind(Json(&media))
            .bind(status.as_str())
            .bind(m.author.map(|a| a.0))
            .bind(m.send_at)
            .bind(m.cancel_on_reply)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let msg = Message::from(row);
        if status != MessageStatus::Scheduled {
            bump_thread(&mut tx, &msg, false).await?;
        }
        let event = message_event(&mut tx, &msg, event::MESSAGE_CREATED, m.author).await?;
        let thread = summary(&mut tx, m.team, m.thread).await?;
        tx.commit().await.map_err(db)?;
        Ok(Committed { value: msg, events: vec![event], thread })
    }

    async fn begin_send(&self, message: MessageId) -> DomainResult<Option<Outgoing>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            channel: super::channels::ChannelRow,
            phone: String,
            opted_out: bool,
        }
        // The claim is refreshed only while the message still waits for the carrier.
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE messages SET claimed_at = now()
             WHERE id = $1 AND status IN ('queued', 'sending') AND provider_sid IS NULL
             RETURNING {MESSAGE_COLUMNS}"
        ));
        let msg: Option<MessageRow> = sqlx::query_as(sql).bind(message.0).fetch_optional(&self.pool).await.map_err(db)?;
        let Some(msg) = msg else { return Ok(None) };
        let msg = Message::from(msg);
        let row: Row = sqlx::query_as(
            "SELECT ch.id, ch.team_id, ch.kind, ch.number, ch.account_sid, ch.auth_token, ch.messaging_service_sid, ch.simulated,
                    c.phone, c.opted_out_at IS NOT NULL AS opted_out
             FROM threads t JOIN contacts c ON c.id = t.contact_id JOIN channels ch ON ch.id = t.channel_id
             WHERE t.id = $1",
        )
        .bind(msg.thread_id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(not_found("thread"))?;
        Ok(Some(Outgoing { message: msg, channel: row.channel.into_channel()?, to: row.phone, opted_out: row.opted_out }))
    }

    async fn fail_unknown(&self, message: MessageId, older_than: OffsetDateTime) -> DomainResult<Option<Committed<Message>>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let failed: Option<Uuid> = sqlx::query_scalar(
            "UPDATE messages SET status = 'failed',
                    error_reason = 'outcome unknown: the server stopped while sending; not retried to avoid a duplicate',
                    updated_at = now()
             WHERE id = $1 AND status IN ('queued', 'sending') AND provider_sid IS NULL AND claimed_at < $2
             RETURNING id",
        )
        .bind(message.0)
        .bind(older_than)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if failed.is_none() {
            return Ok(None);
        }
        let committed = message_updated(&mut tx, message, None).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(committed))
    }

    async fn record_contact_change(&self, team: TeamId, thread: ThreadId, contact: &Contact) -> DomainResult<Committed<()>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let data = serde_json::to_value(contact).map_err(|e| DomainError::Internal(e.to_string()))?;
        let event = append_event(&mut tx, team, thread, event::CONTACT_UPDATED, None, None, data).await?;
        let summary = summary(&mut tx, team, thread).await?;
        tx.commit().await.map_err(db)?;
        Ok(Committed { value: (), events: vec![event], thread: summary })
    }

    async fn record_send(&self, message: MessageId, outcome: SendOutcome) -> DomainResult<Option<Committed<Message>>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let (status, sid, code, reason) = match outcome {
            SendOutcome::Sent { sid } => (MessageStatus::Sent, Some(sid), None, None),
            SendOutcome::Failed { code, reason } => (MessageStatus::Failed, None, code, Some(reason)),
        };
        // Only a message still waiting for the carrier takes its answer (the stale sweep may
        // have failed it meanwhile).
        let updated: Option<Uuid> = sqlx::query_scalar(
            "UPDATE messages SET status = $2, provider_sid = $3, error_code = $4, error_reason = $5,
                    sent_at = CASE WHEN $2 = 'sent' THEN now() END, updated_at = now()
             WHERE id = $1 AND status IN ('queued', 'sending') RETURNING id",
        )
        .bind(message.0)
        .bind(status.as_str())
        .bind(&sid)
        .bind(code)
        .bind(&reason)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if updated.is_none() {
            return Ok(None);
        }
        if let Some(sid) = &sid {
            apply_early_callbacks(&mut tx, message, sid).await?;
        }
        let committed = message_updated(&mut tx, message, None).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(committed))
    }

    async fn apply_status(
        &self,
        sid: &str,
        status: MessageStatus,
        error_code: Option<i32>,
        reason: Option<String>,
        raw: Value,
    ) -> DomainResult<Option<Committed<Message>>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let current: Option<(Uuid, String)> = sqlx::query_as("SELECT id, status FROM messages WHERE provider_sid = $1 FOR UPDATE")
            .bind(sid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let Some((id, current)) = current else {
            return Ok(None);
        };
        let current: MessageStatus = parse(&current)?;
        if !current.may_become(status) {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE messages SET status = $2,
                    error_code = COALESCE($3, error_code), error_reason = COALESCE($4, error_reason),
                    sent_at = CASE WHEN $2 IN ('sent', 'delivered', 'read') THEN COALESCE(sent_at, now()) ELSE sent_at END,
                    delivered_at = CASE WHEN $2 IN ('delivered', 'read') THEN COALESCE(delivered_at, now()) ELSE delivered_at END,
                    read_at = CASE WHEN $2 = 'read' THEN now() ELSE read_at END,
                    raw = $5, updated_at = now()
             WHERE id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(error_code)
        .bind(reason)
        .bind(Json(raw))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let committed = message_updated(&mut tx, MessageId(id), None).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(committed))
    }

    async fn record_inbound(&self, m: NewInbound) -> DomainResult<InboundOutcome> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let status = MessageStatus::Received;
        // Idempotent by MessageSid: a retried webhook inserts nothing.
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO messages (id, team_id, thread_id, direction, channel_kind, body, media, status, provider_sid, raw)
             VALUES ($1, $2, $3, 'inbound', $4, $5, $6, $7, $8, $9)
             ON CONFLICT (provider_sid) WHERE provider_sid IS NOT NULL DO NOTHING
             RETURNING {MESSAGE_COLUMNS}"
        ));
        let row: Option<MessageRow> = sqlx::query_as(sql)
            .bind(MessageId::new().0)
            .bind(m.team.0)
            .bind(m.thread.0)
            .bind(m.kind.as_str())
            .bind(&m.body)
            .bind(Json(&m.media))
            .bind(status.as_str())
            .bind(&m.message_sid)
            .bind(Json(&m.raw))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        // The raw receipt goes in the same transaction, duplicates included (they are part of
        // what Twilio did).
        sqlx::query("INSERT INTO webhook_receipts (team_id, kind, message_sid, params) VALUES ($1, 'inbound', $2, $3)")
            .bind(m.team.0)
            .bind(&m.message_sid)
            .bind(Json(&m.raw))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let Some(row) = row else {
            tx.commit().await.map_err(db)?;
            return Ok(InboundOutcome::Duplicate);
        };
        let msg = Message::from(row);
        bump_thread(&mut tx, &msg, true).await?;
        if let Some(out) = m.opt_out {
            sqlx::query(
                "UPDATE contacts SET opted_out_at = CASE WHEN $2 THEN COALESCE(opted_out_at, now()) ELSE NULL END, updated_at = now()
                 WHERE id = (SELECT contact_id FROM threads WHERE id = $1)",
            )
            .bind(m.thread.0)
            .bind(out)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        let mut events = vec![message_event(&mut tx, &msg, event::MESSAGE_CREATED, None).await?];
        // The contact replied: scheduled messages marked "cancel if they reply" are canceled.
        let canceled: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE messages SET status = 'canceled', error_reason = 'canceled: the contact replied first', updated_at = now()
             WHERE thread_id = $1 AND status = 'scheduled' AND cancel_on_reply RETURNING id",
        )
        .bind(m.thread.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        for id in canceled {
            let c = load_message(&mut tx, MessageId(id)).await?;
            events.push(message_event(&mut tx, &c, event::MESSAGE_UPDATED, None).await?);
        }
        let thread = summary(&mut tx, m.team, m.thread).await?;
        tx.commit().await.map_err(db)?;
        Ok(InboundOutcome::Stored(Box::new(Committed { value: msg, events, thread })))
    }

    async fn add_note(
        &self,
        team: TeamId,
        thread: ThreadId,
        author: UserId,
        body: &str,
        visibility: Visibility,
        mentions: &[UserId],
    ) -> DomainResult<Committed<Note>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
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
        .fetch_one(&mut *tx)
        .await
        .map_err(not_found("thread"))?;
        let note = Note::from(row);
        let audience = (visibility == Visibility::Private).then_some(author);
        let data = serde_json::to_value(&note).map_err(|e| DomainError::Internal(e.to_string()))?;
        let event = append_event(&mut tx, team, thread, event::NOTE_CREATED, Some(author), audience, data).await?;
        let summary = summary(&mut tx, team, thread).await?;
        tx.commit().await.map_err(db)?;
        Ok(Committed { value: note, events: vec![event], thread: summary })
    }

    async fn mark_read(&self, team: TeamId, thread: ThreadId) -> DomainResult<ThreadSummary> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = sqlx::query("UPDATE threads SET unread_count = 0 WHERE team_id = $1 AND id = $2")
            .bind(team.0)
            .bind(thread.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("thread"));
        }
        let s = summary(&mut tx, team, thread).await?;
        tx.commit().await.map_err(db)?;
        Ok(s)
    }

    async fn update_thread(
        &self,
        team: TeamId,
        thread: ThreadId,
        actor: UserId,
        status: Option<ThreadStatus>,
        assignee: Option<Option<UserId>>,
    ) -> DomainResult<Committed<ThreadSummary>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        if let Some(Some(user)) = assignee {
            // Only a member of the same team can be assigned.
            let ok: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE team_id = $1 AND id = $2")
                .bind(team.0)
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            ok.ok_or_else(|| DomainError::invalid("assignee_id", "is not a member of this team"))?;
        }
        let done = sqlx::query(
            "UPDATE threads SET status = COALESCE($3, status), assignee_id = CASE WHEN $4 THEN $5 ELSE assignee_id END
             WHERE team_id = $1 AND id = $2",
        )
        .bind(team.0)
        .bind(thread.0)
        .bind(status.map(ThreadStatus::as_str))
        .bind(assignee.is_some())
        .bind(assignee.flatten().map(|a| a.0))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("thread"));
        }
        let s = summary(&mut tx, team, thread).await?;
        let data = serde_json::to_value(&s).map_err(|e| DomainError::Internal(e.to_string()))?;
        let event = append_event(&mut tx, team, thread, event::THREAD_UPDATED, Some(actor), None, data).await?;
        let s = summary(&mut tx, team, thread).await?;
        tx.commit().await.map_err(db)?;
        Ok(Committed { value: s.clone(), events: vec![event], thread: s })
    }

    async fn edit_scheduled(
        &self,
        team: TeamId,
        message: MessageId,
        actor: UserId,
        body: Option<String>,
        send_at: Option<OffsetDateTime>,
    ) -> DomainResult<Committed<Message>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        lock_scheduled(&mut tx, team, message).await?;
        sqlx::query(
            "UPDATE messages SET body = COALESCE($2, body), scheduled_at = COALESCE($3, scheduled_at), updated_at = now() WHERE id = $1",
        )
        .bind(message.0)
        .bind(body)
        .bind(send_at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let committed = message_updated(&mut tx, message, Some(actor)).await?;
        tx.commit().await.map_err(db)?;
        Ok(committed)
    }

    async fn cancel_scheduled(&self, team: TeamId, message: MessageId, actor: UserId) -> DomainResult<Committed<Message>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Claiming moves a due row to `sending` under a row lock, so a cancel either lands first
        // (and the claim skips the row) or finds it no longer scheduled: never both.
        lock_scheduled(&mut tx, team, message).await?;
        sqlx::query("UPDATE messages SET status = 'canceled', updated_at = now() WHERE id = $1")
            .bind(message.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let committed = message_updated(&mut tx, message, Some(actor)).await?;
        tx.commit().await.map_err(db)?;
        Ok(committed)
    }
}
