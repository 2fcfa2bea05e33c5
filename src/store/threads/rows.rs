//! Row shapes of the thread tables and their conversion into domain types. Kept apart from the
//! queries so every query that reads a message, a note, an event or an inbox row decodes it the
//! same way. Enum columns decode through `TryFrom<String>`: a value this code does not know is
//! an error, never a silent default.

use actors::domain::*;
use actors::ids::*;
use serde_json::Value;
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
pub(crate) use summary_sql;

#[derive(sqlx::FromRow)]
pub(crate) struct SummaryRow {
    pub id: Uuid,
    team_id: Uuid,
    #[sqlx(try_from = "String")]
    status: ThreadStatus,
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
    #[sqlx(try_from = "String")]
    channel_kind: ChannelKind,
    channel_number: String,
    scheduled_count: i64,
}

impl SummaryRow {
    /// The inbox sort key: the last message, or the thread's creation for an empty thread.
    pub fn activity(&self) -> OffsetDateTime {
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
            channel: ChannelBrief { id: ChannelId(r.channel_id), kind: r.channel_kind, number: r.channel_number },
            status: r.status,
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

/// The columns of a [`MessageRow`], in `SELECT` or `RETURNING`.
pub(crate) const MESSAGE_COLUMNS: &str =
    "id, team_id, thread_id, direction, channel_kind, body, media, status, provider_sid, error_code, error_reason,
     author_id, scheduled_at, cancel_on_reply, sent_at, delivered_at, read_at, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    pub id: Uuid,
    team_id: Uuid,
    thread_id: Uuid,
    #[sqlx(try_from = "String")]
    direction: Direction,
    #[sqlx(try_from = "String")]
    channel_kind: ChannelKind,
    body: String,
    media: Json<Vec<Media>>,
    #[sqlx(try_from = "String")]
    status: MessageStatus,
    provider_sid: Option<String>,
    error_code: Option<i32>,
    error_reason: Option<String>,
    author_id: Option<Uuid>,
    scheduled_at: Option<OffsetDateTime>,
    cancel_on_reply: bool,
    sent_at: Option<OffsetDateTime>,
    delivered_at: Option<OffsetDateTime>,
    read_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl From<MessageRow> for Message {
    fn from(r: MessageRow) -> Message {
        Message {
            id: MessageId(r.id),
            team_id: TeamId(r.team_id),
            thread_id: ThreadId(r.thread_id),
            direction: r.direction,
            channel: r.channel_kind,
            body: r.body,
            media: r.media.0,
            status: r.status,
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
pub(crate) struct NoteRow {
    id: Uuid,
    team_id: Uuid,
    thread_id: Uuid,
    author_id: Uuid,
    author_name: String,
    body: String,
    #[sqlx(try_from = "String")]
    visibility: Visibility,
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
            visibility: r.visibility,
            mentions: r.mentions.into_iter().map(UserId).collect(),
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
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

/// A message's preview line for the inbox.
pub(crate) fn preview(body: &str, media: usize) -> String {
    let mut p: String = body.chars().take(140).collect();
    if p.trim().is_empty() && media > 0 {
        p = "📎 Attachment".into();
    }
    p
}
