//! Calls and follow-ups (issue 14): a call on a thread (the payload of its `call` event) and the
//! tasks that follow a missed one, or that an agent writes down.

use super::*;

text_enum!(
    /// How a call ended for the team: someone picked up, nobody did, or the caller left a
    /// voicemail.
    CallOutcome { Answered = "answered", Missed = "missed", Voicemail = "voicemail" }
);

/// A call on a thread: the payload of its `call` event.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Call {
    pub call_sid: String,
    pub thread_id: ThreadId,
    pub direction: Direction,
    pub status: CallOutcome,
    /// Seconds: the conversation (answered) or the recording (voicemail).
    pub duration: i32,
    pub recording_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

text_enum!(
    /// What a follow-up asks for: call the customer back, check an automatic SMS, or anything
    /// an agent wrote down.
    FollowUpKind { Callback = "callback", AutoSms = "auto_sms", Manual = "manual" }
);

text_enum!(
    /// Where a follow-up is.
    FollowUpStatus { Pending = "pending", Done = "done", Failed = "failed" }
);

/// A task on a thread, due at a time, for an agent (or nobody yet).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FollowUp {
    pub id: FollowUpId,
    pub team_id: TeamId,
    pub thread_id: ThreadId,
    #[serde(rename = "type")]
    pub kind: FollowUpKind,
    pub status: FollowUpStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    pub assignee_id: Option<UserId>,
    pub note: String,
    /// The missed call that created it.
    pub call_sid: Option<String>,
    pub created_by: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub completed_by: Option<UserId>,
}
