//! Row shapes of the thread tables and their conversion into domain types. Kept apart from the
//! queries so every query that reads a message, a note, an event or an inbox row decodes it the
//! same way. Enum columns decode through `TryFrom<String>`: a value this code does not know is
//! an error, never a silent default.

use actors::domain::*;
use actors::ids::*;
use actors::ports::Committed;
use serde_json::Value;
use sqlx::types::Json;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// The inbox row of a thread; the caller appends WHERE/ORDER.
macro_rules! summary_sql {
    ($tail:literal) => {
        concat!(
            "SELECT ",
            $crate::store::threads::sql::summary_columns!(),
            ", ",
            $crate::store::threads::sql::scheduled_count!(),
            " AS t_scheduled_count FROM threads t",
            $crate::store::threads::sql::summary_joins!(),
            $tail
        )
    };
}
pub(crate) use summary_sql;

#[derive(sqlx::FromRow)]
pub(crate) struct SummaryRow {
    #[sqlx(rename = "t_id")]
    pub id: Uuid,
    #[sqlx(rename = "t_team_id")]
    team_id: Uuid,
    #[sqlx(rename = "t_status", try_from = "String")]
    status: ThreadStatus,
    #[sqlx(rename = "t_snoozed_until")]
    snoozed_until: Option<OffsetDateTime>,
    #[sqlx(rename = "t_assignee_id")]
    assignee_id: Option<Uuid>,
    #[sqlx(rename = "t_assignee_name")]
    assignee_name: Option<String>,
    #[sqlx(rename = "t_unread_count")]
    unread_count: i32,
    #[sqlx(rename = "t_last_message_at")]
    last_message_at: Option<OffsetDateTime>,
    #[sqlx(rename = "t_last_preview")]
    last_preview: String,
    #[sqlx(rename = "t_last_seq")]
    last_seq: i64,
    #[sqlx(rename = "t_created_at")]
    created_at: OffsetDateTime,
    #[sqlx(rename = "t_contact_id")]
    contact_id: Uuid,
    #[sqlx(rename = "t_contact_name")]
    contact_name: String,
    #[sqlx(rename = "t_contact_phone")]
    contact_phone: String,
    #[sqlx(rename = "t_contact_opted_out_at")]
    contact_opted_out_at: Option<OffsetDateTime>,
    #[sqlx(rename = "t_channel_id")]
    channel_id: Uuid,
    #[sqlx(rename = "t_channel_kind", try_from = "String")]
    channel_kind: ChannelKind,
    #[sqlx(rename = "t_channel_number")]
    channel_number: String,
    #[sqlx(rename = "t_scheduled_count")]
    scheduled_count: i64,
    #[sqlx(rename = "t_priority", try_from = "i16")]
    priority: PriorityRank,
    #[sqlx(rename = "t_label_ids")]
    label_ids: Vec<Uuid>,
    #[sqlx(rename = "t_last_inbound_at")]
    last_inbound_at: Option<OffsetDateTime>,
    /// Only in reads for one reader (the inbox list, a read or unread mark).
    #[sqlx(rename = "t_marked_unread", default)]
    marked_unread: Option<bool>,
}

/// A stored priority rank; a rank no priority has is an error, never a default.
pub(crate) struct PriorityRank(Priority);

impl TryFrom<i16> for PriorityRank {
    type Error = UnknownValue;
    fn try_from(rank: i16) -> Result<Self, UnknownValue> {
        Priority::from_rank(rank).map(PriorityRank).ok_or(UnknownValue { kind: "Priority", value: rank.to_string() })
    }
}

impl SummaryRow {
    /// The inbox sort key: the last message, or the thread's creation for an empty thread.
    pub fn activity(&self) -> OffsetDateTime {
        self.last_message_at.unwrap_or(self.created_at)
    }

    /// The priority's stored rank (the inbox's order by priority).
    pub fn rank(&self) -> i16 {
        self.priority.0.rank()
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
            snoozed_until: r.snoozed_until,
            assignee_id: r.assignee_id.map(UserId),
            assignee_name: r.assignee_name,
            unread_count: r.unread_count,
            last_message_at: r.last_message_at,
            last_preview: r.last_preview,
            last_seq: r.last_seq,
            scheduled_count: r.scheduled_count,
            created_at: r.created_at,
            priority: r.priority.0,
            label_ids: r.label_ids.into_iter().map(LabelId).collect(),
            last_inbound_at: r.last_inbound_at,
            whatsapp_window_closes_at: actors::rules::whatsapp::window_closes_at(r.channel_kind, r.last_inbound_at, actors::clock::now()),
            marked_unread: r.marked_unread,
        }
    }
}

/// The columns of a [`MessageRow`], in `SELECT` or `RETURNING`.
pub(crate) const MESSAGE_COLUMNS: &str =
    "id, team_id, thread_id, direction, channel_kind, body, media, status, provider_sid, error_code, error_reason,
     author_id, scheduled_at, cancel_on_reply, sent_at, delivered_at, read_at, created_at, content_sid, content_variables";

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
    content_sid: Option<String>,
    content_variables: Option<Json<BTreeMap<String, String>>>,
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
            content: r.content_sid.map(|sid| ContentRef { sid, variables: r.content_variables.map(|v| v.0).unwrap_or_default() }),
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
    #[sqlx(rename = "e_thread_id")]
    thread_id: Uuid,
    #[sqlx(rename = "e_seq")]
    seq: i64,
    #[sqlx(rename = "e_team_id")]
    team_id: Uuid,
    #[sqlx(rename = "e_type")]
    kind: String,
    #[sqlx(rename = "e_actor_id")]
    actor_id: Option<Uuid>,
    #[sqlx(rename = "e_audience")]
    audience: Option<Uuid>,
    #[sqlx(rename = "e_payload")]
    payload: Json<Value>,
    #[sqlx(rename = "e_created_at")]
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

/// A committed change as a single-statement writer returns it: one row per appended event, each
/// carrying the message and the thread's new inbox row (see `sql`).
#[derive(sqlx::FromRow)]
pub(crate) struct CommittedRow {
    #[sqlx(flatten)]
    message: MessageRow,
    #[sqlx(flatten)]
    event: EventRow,
    #[sqlx(flatten)]
    thread: SummaryRow,
}

impl CommittedRow {
    /// The thread the row changed.
    pub(crate) fn thread_id(&self) -> Uuid {
        self.thread.id
    }

    /// The carrier's sid of the row's message.
    pub(crate) fn message_sid(&self) -> Option<&str> {
        self.message.provider_sid.as_deref()
    }

    /// The message, the event and the thread's inbox row of one row.
    pub(crate) fn into_parts(self) -> (MessageRow, EventRow, SummaryRow) {
        (self.message, self.event, self.thread)
    }
}

/// The committed change of a single-statement writer; `None` when it changed nothing (no rows).
pub(crate) fn committed(rows: Vec<CommittedRow>) -> Option<Committed<Message>> {
    let mut events = Vec::with_capacity(rows.len());
    let mut first = None;
    for row in rows {
        events.push(ThreadEvent::from(row.event));
        first.get_or_insert((row.message, row.thread));
    }
    events.sort_by_key(|e| e.seq);
    first.map(|(message, thread)| Committed { value: message.into(), events, thread: thread.into() })
}

/// A message's preview line for the inbox.
pub(crate) fn preview(body: &str, media: usize) -> String {
    let mut p: String = body.chars().take(140).collect();
    if p.trim().is_empty() && media > 0 {
        p = "📎 Attachment".into();
    }
    p
}
