//! Domain types: what the core reasons about. They are plain data; the JSON the API and the
//! socket carry is built from them in `web::wire` and `protocol`.

use crate::ids::*;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// A closed set of lowercase names stored as text in Postgres (each has a CHECK constraint).
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stored and wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(UnknownValue { kind: stringify!($name), value: s.chars().take(40).collect() }),
                }
            }
        }

        /// A stored spelling read back from Postgres: an unknown one is an error, never a default.
        impl TryFrom<String> for $name {
            type Error = UnknownValue;
            fn try_from(s: String) -> Result<Self, UnknownValue> {
                s.parse()
            }
        }
    };
}

/// A string that is not one of an enum's spellings.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

text_enum!(
    /// What a user may do: admins also manage channels, invites and settings.
    Role { Admin = "admin", Agent = "agent" }
);

text_enum!(
    /// The kind of Twilio number a thread runs on.
    ChannelKind { Sms = "sms", Whatsapp = "whatsapp" }
);

text_enum!(
    /// A thread's workflow state.
    ThreadStatus { Open = "open", Pending = "pending", Resolved = "resolved", Snoozed = "snoozed" }
);

text_enum!(
    /// How urgent a conversation is; the inbox can sort by it (urgent first).
    Priority { None = "none", Low = "low", Medium = "medium", High = "high", Urgent = "urgent" }
);

impl Priority {
    /// Its rank, as stored (0 none … 4 urgent): a higher rank sorts first.
    pub fn rank(self) -> i16 {
        Priority::ALL.iter().position(|p| *p == self).unwrap_or(0) as i16
    }

    /// The priority of a stored rank; `None` for a rank no priority has.
    pub fn from_rank(rank: i16) -> Option<Priority> {
        usize::try_from(rank).ok().and_then(|r| Priority::ALL.get(r)).copied()
    }
}

text_enum!(
    /// An automatic reply, each sent at most once per contact, channel and period: to a missed
    /// call, to a message outside business hours, to the first message of a conversation.
    AutoReplyKind { MissedCall = "missed_call", OutOfHours = "out_of_hours", FirstMessage = "first_message" }
);

text_enum!(
    /// Who a canned reply belongs to: the whole team (admins manage it) or one agent.
    ReplyScope { Team = "team", Personal = "personal" }
);

text_enum!(
    /// Which way a message went.
    Direction { Inbound = "inbound", Outbound = "outbound" }
);

text_enum!(
    /// Who may see a note.
    Visibility { Public = "public", Private = "private" }
);

text_enum!(
    /// A message's life. Outbound: scheduled → queued → sending → sent → delivered → read, or
    /// undelivered/failed/canceled. Inbound messages are `received`.
    MessageStatus {
        Scheduled = "scheduled",
        Queued = "queued",
        Sending = "sending",
        Sent = "sent",
        Delivered = "delivered",
        Read = "read",
        Undelivered = "undelivered",
        Failed = "failed",
        Canceled = "canceled",
        Received = "received",
    }
);

impl MessageStatus {
    /// Position on the forward-only delivery ladder; `None` for states that never move on.
    /// Twilio callbacks may arrive late or out of order, so a status only replaces a lower rank.
    pub fn rank(self) -> u8 {
        match self {
            MessageStatus::Scheduled => 0,
            MessageStatus::Queued => 1,
            MessageStatus::Sending => 2,
            MessageStatus::Sent => 3,
            MessageStatus::Delivered => 4,
            MessageStatus::Read => 5,
            // Final states: nothing replaces them.
            MessageStatus::Undelivered | MessageStatus::Failed | MessageStatus::Canceled | MessageStatus::Received => 6,
        }
    }

    /// Whether a callback saying `next` may replace `self`.
    pub fn may_become(self, next: MessageStatus) -> bool {
        if self.rank() >= 6 {
            return false;
        }
        next.rank() > self.rank()
    }

    /// Twilio's status words, mapped to ours. `accepted` and `scheduled` (Twilio's own scheduling)
    /// both mean Twilio holds the message.
    pub fn from_twilio(s: &str) -> Option<MessageStatus> {
        Some(match s {
            "accepted" | "queued" | "scheduled" => MessageStatus::Queued,
            "sending" => MessageStatus::Sending,
            "sent" => MessageStatus::Sent,
            "delivered" => MessageStatus::Delivered,
            "read" => MessageStatus::Read,
            "undelivered" => MessageStatus::Undelivered,
            "failed" => MessageStatus::Failed,
            "canceled" => MessageStatus::Canceled,
            "received" | "receiving" => MessageStatus::Received,
            _ => return None,
        })
    }
}

/// A readable reason for Twilio's error codes.
pub fn twilio_error_reason(code: i32) -> String {
    let text = match code {
        21211 => "invalid 'To' phone number",
        21408 => "sending to this region is not enabled on the Twilio account",
        21608 => "the number is unverified: a trial account can only send to verified numbers",
        21610 => "the recipient has unsubscribed (replied STOP)",
        21614 => "the 'To' number is not a mobile number",
        30003 => "unreachable destination handset",
        30004 => "message blocked by the recipient or carrier",
        30005 => "unknown destination handset",
        30006 => "landline or unreachable carrier",
        30007 => "message filtered by the carrier as spam",
        30008 => "unknown error from the carrier",
        63016 => "outside the WhatsApp 24-hour window: only an approved template may be sent",
        _ => return format!("Twilio error {code}"),
    };
    format!("{text} (Twilio error {code})")
}

/// A team and whether it runs on the built-in simulator.
#[derive(Clone, Debug, Serialize)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    /// True while the team has no channel with real Twilio credentials.
    pub simulator_mode: bool,
    /// Where local phone numbers are read (ISO 3166 alpha-2), when set.
    pub default_country: Option<String>,
}

/// A team's automatic assignment: new conversations go round robin to online agents, each under
/// a cap of open conversations (`None`: no cap). Checked by `rules::auto_assignment`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoAssignment {
    pub enabled: bool,
    pub max_open_per_agent: Option<i32>,
}

/// A person who signs in.
#[derive(Clone, Debug, Serialize)]
pub struct User {
    pub id: UserId,
    pub team_id: TeamId,
    pub email: String,
    pub name: String,
    pub role: Role,
}

/// Someone the team talks to. `name` is what the app shows: as entered, or derived from the
/// first and last name when only those were given.
#[derive(Clone, Debug, Serialize)]
pub struct Contact {
    pub id: ContactId,
    pub team_id: TeamId,
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: String,
    pub email: Option<String>,
    pub tags: Vec<String>,
    pub company: Option<String>,
    pub notes: Option<String>,
    /// Where the contact came from ("import", "inbound", "manual", or the team's own words).
    pub source: Option<String>,
    /// Values of the team's custom fields, by key.
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub opted_out_at: Option<OffsetDateTime>,
    pub opt_out_reason: Option<String>,
    /// Set while the contact is deleted (hidden; its threads stay readable).
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    /// The latest message of any of its threads.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_activity_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Contact {
    /// A contact with only a name and a phone (the rest empty).
    pub fn new(id: ContactId, team_id: TeamId, name: String, phone: String, created_at: OffsetDateTime) -> Contact {
        Contact {
            id,
            team_id,
            name,
            first_name: None,
            last_name: None,
            phone,
            email: None,
            tags: vec![],
            company: None,
            notes: None,
            source: None,
            custom_fields: serde_json::Map::new(),
            opted_out_at: None,
            opt_out_reason: None,
            deleted_at: None,
            last_activity_at: None,
            created_at,
        }
    }
}

/// A custom contact field the team defined: `{{contact.KEY}}` in templates.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ContactField {
    pub key: String,
    pub label: String,
}

/// A canned reply: a saved answer an agent inserts with `/shortcut`; its body is a template
/// (`templates.rs`) filled in for the conversation before it is sent.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CannedReply {
    pub id: ReplyId,
    pub team_id: TeamId,
    pub scope: ReplyScope,
    /// The agent a personal reply belongs to; `None` for a team reply.
    pub owner_id: Option<UserId>,
    /// Lower-case `[a-z0-9_-]{1,32}`, unique per team (team replies) or per owner (personal).
    pub shortcut: String,
    pub title: String,
    pub body: String,
    pub created_by: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One of a team's numbers. The auth token never leaves the server.
#[derive(Clone, Serialize)]
pub struct Channel {
    pub id: ChannelId,
    pub team_id: TeamId,
    pub kind: ChannelKind,
    pub number: String,
    pub account_sid: String,
    #[serde(skip)]
    pub auth_token: secrecy::SecretString,
    pub messaging_service_sid: Option<String>,
    pub simulated: bool,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("number", &self.number)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"[redacted]")
            .field("simulated", &self.simulated)
            .finish()
    }
}

/// What a call to one of a team's numbers does, and what follows a missed one (issue 14).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ChannelSettings {
    /// The number a call is forwarded to (E.164); `None`: nobody picks up, the caller hears
    /// the greeting and, with `voicemail`, may leave a message.
    pub forward_to: Option<String>,
    /// How long a forwarded call rings before it counts as missed (Twilio's `<Dial timeout>`).
    pub ring_seconds: i32,
    /// Said to the caller first (`<Say>`).
    pub greeting: Option<String>,
    /// Whether an unanswered caller may leave a voicemail (`<Record>`).
    pub voicemail: bool,
    /// The text (a template) sent back after a missed call; `None`: no reply.
    pub missed_call_reply: Option<String>,
    /// At most one missed-call reply per caller per this many hours.
    pub missed_call_reply_hours: i32,
}

impl Default for ChannelSettings {
    fn default() -> Self {
        ChannelSettings {
            forward_to: None,
            ring_seconds: 20,
            greeting: None,
            voicemail: false,
            missed_call_reply: None,
            missed_call_reply_hours: 12,
        }
    }
}

/// A media attachment of a message.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Media {
    pub url: String,
    pub content_type: Option<String>,
}

/// An inbound or outbound message.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub team_id: TeamId,
    pub thread_id: ThreadId,
    pub direction: Direction,
    pub channel: ChannelKind,
    pub body: String,
    pub media: Vec<Media>,
    pub status: MessageStatus,
    pub provider_sid: Option<String>,
    pub error_code: Option<i32>,
    pub error_reason: Option<String>,
    pub author_id: Option<UserId>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub scheduled_at: Option<OffsetDateTime>,
    pub cancel_on_reply: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The approved template it is sent with (Twilio's `ContentSid` and variables); absent for
    /// free-form and inbound messages. A retry sends it again the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentRef>,
}

impl Message {
    /// The fields a status change moves, with the message's identity and its author: the
    /// `message.updated` payload of a carrier's status callback, so that tabs merge it into the
    /// message they hold instead of receiving the whole message again. Absent fields (null) did
    /// not change. The author stays so that a failure reaches whoever sent it.
    pub fn status_change(&self) -> serde_json::Value {
        const KEPT: [&str; 9] =
            ["id", "thread_id", "status", "error_code", "error_reason", "author_id", "sent_at", "delivered_at", "read_at"];
        let serde_json::Value::Object(full) = serde_json::to_value(self).unwrap_or_default() else { return serde_json::Value::Null };
        full.into_iter().filter(|(k, v)| KEPT.contains(&k.as_str()) && !v.is_null()).collect()
    }

    /// The `message.updated` payload of the carrier's answer to a send: the status change and the
    /// sid it gave (when it accepted the message).
    pub fn answer_change(&self) -> serde_json::Value {
        let mut change = self.status_change();
        if let (serde_json::Value::Object(fields), Some(sid)) = (&mut change, &self.provider_sid) {
            fields.insert("provider_sid".into(), sid.clone().into());
        }
        change
    }
}

/// What a template send carries to the carrier: Twilio's `ContentSid` and the values of its
/// `ContentVariables` (a JSON object of strings keyed by the template's keys).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContentRef {
    pub sid: String,
    pub variables: std::collections::BTreeMap<String, String>,
}

impl ContentRef {
    /// `ContentVariables` as Twilio expects it: a JSON object string, such as
    /// `{"1":"Ada","2":"#1042"}`; `None` when the template has no variables (the parameter is
    /// then left out).
    pub fn variables_json(&self) -> Option<String> {
        (!self.variables.is_empty()).then(|| serde_json::to_string(&self.variables).expect("a map of strings serializes"))
    }
}

/// An internal note on a thread.
#[derive(Clone, Debug, Serialize)]
pub struct Note {
    pub id: NoteId,
    pub team_id: TeamId,
    pub thread_id: ThreadId,
    pub author_id: UserId,
    pub author_name: String,
    pub body: String,
    pub visibility: Visibility,
    pub mentions: Vec<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A thread as the inbox lists it: the thread plus what the list row shows.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadSummary {
    pub id: ThreadId,
    pub team_id: TeamId,
    pub contact: ContactBrief,
    pub channel: ChannelBrief,
    pub status: ThreadStatus,
    /// When a snoozed conversation opens again by itself (`None`: until someone opens it).
    #[serde(with = "time::serde::rfc3339::option")]
    pub snoozed_until: Option<OffsetDateTime>,
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    pub unread_count: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_message_at: Option<OffsetDateTime>,
    pub last_preview: String,
    pub last_seq: i64,
    pub scheduled_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub priority: Priority,
    /// The team's labels on this conversation (their names and colours: `GET /api/labels`).
    pub label_ids: Vec<LabelId>,
    /// When the contact last wrote (the WhatsApp 24-hour window counts from it).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_inbound_at: Option<OffsetDateTime>,
    /// When a WhatsApp conversation's 24-hour window closes, as of this row (`None`: closed, or
    /// not WhatsApp): `rules::whatsapp::window_closes_at`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub whatsapp_window_closes_at: Option<OffsetDateTime>,
    /// Whether the reader marked it unread: only in answers for one reader (the inbox list, a
    /// mark unread or read), never in team events, which every member shares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marked_unread: Option<bool>,
}

/// A team's label for conversations.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Label {
    pub id: LabelId,
    pub team_id: TeamId,
    /// 1 to 40 characters, unique in the team regardless of case.
    pub name: String,
    /// `#rrggbb`, lower case.
    pub color: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// How many conversations each inbox tab holds, for one reader (`mine`, `unassigned`: of the
/// Open tab).
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ThreadCounts {
    pub open: i64,
    pub snoozed: i64,
    pub resolved: i64,
    pub all: i64,
    pub mine: i64,
    pub unassigned: i64,
}

/// The part of a contact a thread row shows.
#[derive(Clone, Debug, Serialize)]
pub struct ContactBrief {
    pub id: ContactId,
    pub name: String,
    pub phone: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub opted_out_at: Option<OffsetDateTime>,
}

/// The part of a channel a thread row shows.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelBrief {
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub number: String,
}

/// What happened on a thread: the durable log entry, and the payload of the socket event.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadEvent {
    pub seq: i64,
    pub thread_id: ThreadId,
    pub team_id: TeamId,
    /// `message.created`, `message.updated`, `note.created`, `thread.updated`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Who did it; `None` for the contact or the carrier.
    pub actor_id: Option<UserId>,
    /// Set only for events one user may see (private notes).
    #[serde(skip)]
    pub audience: Option<UserId>,
    pub data: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

mod calls;
mod lists;
pub use calls::*;
pub use lists::*;

/// Event type names, spelled once.
pub mod event;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_moves_only_forward() {
        use MessageStatus::*;
        assert!(Queued.may_become(Sent));
        assert!(Sent.may_become(Delivered));
        assert!(Sent.may_become(Failed));
        assert!(!Delivered.may_become(Sent));
        assert!(!Failed.may_become(Delivered));
        assert!(!Undelivered.may_become(Read));
        assert!(Delivered.may_become(Read));
        assert!(!Read.may_become(Delivered));
    }

    #[test]
    fn enums_round_trip_their_spelling() {
        for s in MessageStatus::ALL {
            assert_eq!(s.as_str().parse::<MessageStatus>().unwrap(), *s);
        }
        assert!("bogus".parse::<ThreadStatus>().is_err());
    }
}
