//! Ports of threads: the inbox and its filters, a thread's messages and events (every write
//! answers the events it appended), and the scheduler's claims.

use super::*;
use crate::domain::*;
use crate::error::DomainResult;
use crate::ids::*;
use async_trait::async_trait;
use time::OffsetDateTime;

/// A change to a thread's state. A status other than `snoozed` clears the snooze's end;
/// `snoozed_until` goes with `status: snoozed` (checked by `rules::thread_change`).
#[derive(Clone, Debug, Default)]
pub struct ThreadChange {
    pub status: Option<ThreadStatus>,
    pub snoozed_until: Option<OffsetDateTime>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<UserId>>,
    pub priority: Option<Priority>,
    /// Replaces the thread's labels (each must be one of the team's: else invalid `labels`).
    pub labels: Option<Vec<LabelId>>,
    /// Adds these to the thread's labels (a bulk "add label"), after `labels`.
    pub add_labels: Vec<LabelId>,
}

/// How many of a team's threads have one status and one assignee (`None`: unassigned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusCount {
    pub status: ThreadStatus,
    pub assignee: Option<UserId>,
    pub threads: i64,
}

/// Inbox filters.
#[derive(Debug, Default, Clone)]
pub struct ThreadFilter {
    pub unread: bool,
    pub scheduled: bool,
    pub channel: Option<ChannelKind>,
    pub status: Option<ThreadStatus>,
    pub assignee: Option<UserId>,
    pub unassigned: bool,
    pub search: Option<String>,
    /// One contact's threads (its conversations across channels).
    pub contact: Option<ContactId>,
    /// An inbox tab (`None`: every status).
    pub view: Option<crate::rules::views::View>,
    pub label: Option<LabelId>,
    pub priority: Option<Priority>,
    pub sort: crate::rules::views::Sort,
    /// Who reads the list: their "marked unread" shows (`marked_unread`) and counts as unread.
    pub viewer: Option<UserId>,
    pub cursor: Option<String>,
    pub limit: i64,
}

/// Reads of threads, messages, notes and the event log.
#[async_trait]
pub trait ThreadReads: Send + Sync {
    /// The inbox: newest activity first.
    async fn list_threads(&self, team: TeamId, filter: &ThreadFilter) -> DomainResult<Page<ThreadSummary>>;
    /// One thread of the team.
    async fn thread(&self, team: TeamId, id: ThreadId) -> DomainResult<ThreadSummary>;
    /// Messages of a thread, newest first, before an opaque cursor.
    async fn messages(&self, team: TeamId, thread: ThreadId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Message>>;
    /// Notes of a thread that `viewer` may see, oldest first.
    async fn notes(&self, team: TeamId, thread: ThreadId, viewer: UserId) -> DomainResult<Vec<Note>>;
    /// Events after `after` that `viewer` may see, at most `limit + 1` so the caller can tell
    /// when there were more.
    async fn events_after(&self, team: TeamId, thread: ThreadId, viewer: UserId, after: i64, limit: i64) -> DomainResult<Vec<ThreadEvent>>;
    /// The thread a message belongs to (within the team).
    async fn message_thread(&self, team: TeamId, message: MessageId) -> DomainResult<ThreadId>;
    /// A thread's inbox row (any team), if the thread exists: what a thread actor starts from.
    async fn load_thread(&self, thread: ThreadId) -> DomainResult<Option<ThreadSummary>>;
    /// One message of the team.
    async fn message(&self, team: TeamId, message: MessageId) -> DomainResult<Message>;
    /// The team's threads counted by status and assignee (a few rows: statuses × members);
    /// `rules::views::counts` makes the tabs' counts of them.
    async fn status_counts(&self, team: TeamId) -> DomainResult<Vec<StatusCount>>;
}

/// What a committed change to one thread produced.
#[derive(Clone, Debug)]
pub struct Committed<T> {
    pub value: T,
    pub events: Vec<ThreadEvent>,
    pub thread: ThreadSummary,
}

/// Adds one message's committed change to a batch's (the same thread's, committed after it).
pub fn gather(done: &mut Option<Committed<Vec<Message>>>, c: Committed<Message>) {
    match done {
        Some(d) => {
            d.value.push(c.value);
            d.events.extend(c.events);
            d.thread = c.thread;
        }
        None => *done = Some(Committed { value: vec![c.value], events: c.events, thread: c.thread }),
    }
}

/// An outbound message to store.
#[derive(Clone, Debug)]
pub struct NewOutbound {
    pub team: TeamId,
    pub thread: ThreadId,
    pub author: Option<UserId>,
    pub body: String,
    pub media_urls: Vec<String>,
    pub send_at: Option<OffsetDateTime>,
    pub cancel_on_reply: bool,
    /// An approved template's Content sid and variables (`body` is its rendered text).
    pub content: Option<crate::rules::message_templates::ContentRef>,
}

/// An inbound message from a verified webhook.
#[derive(Clone, Debug)]
pub struct NewInbound {
    pub team: TeamId,
    pub thread: ThreadId,
    pub kind: ChannelKind,
    pub message_sid: String,
    pub body: String,
    pub media: Vec<Media>,
    pub raw: serde_json::Value,
    /// `Some(true)` opts the contact out, `Some(false)` back in.
    pub opt_out: Option<bool>,
}

/// What storing an inbound message did.
#[derive(Clone, Debug)]
pub enum InboundOutcome {
    /// The MessageSid was seen before: nothing was written.
    Duplicate,
    /// Stored; the events include any scheduled messages canceled because the contact replied.
    Stored(Box<Committed<Message>>),
}

/// A delivery outcome from the carrier.
#[derive(Clone, Debug)]
pub enum SendOutcome {
    /// Accepted by the carrier under this sid.
    Sent { sid: String },
    /// Refused, with the carrier's code when it has one.
    Failed { code: Option<i32>, reason: String },
}

/// A scheduled message claimed for dispatch.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub message: MessageId,
    pub thread: ThreadId,
    pub team: TeamId,
    pub scheduled_at: OffsetDateTime,
}

/// Everything needed to hand one message to the carrier.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub message: Message,
    pub channel: Channel,
    pub to: String,
    pub opted_out: bool,
    /// When the contact last wrote (the WhatsApp window).
    pub last_inbound_at: Option<OffsetDateTime>,
}

/// Writes to a thread. Each appends the thread events it causes, with their seq, in the same
/// transaction.
#[async_trait]
pub trait ThreadWrites: Send + Sync {
    /// The thread that `contact` has on the team's `kind` channel, created if missing, and
    /// whether it was created (a get-or-create, correct under concurrency). The channel is
    /// `number` when given (it must be a live `kind` channel of the team: else invalid
    /// `channel_id`), else the team's first live channel of `kind`.
    async fn thread_for_contact(
        &self,
        team: TeamId,
        contact: ContactId,
        kind: ChannelKind,
        number: Option<ChannelId>,
    ) -> DomainResult<(ThreadId, bool)>;
    /// The thread an inbound message from `phone` on `channel` belongs to: upserts the contact
    /// (named from `profile_name` when it has no name) and the thread; says whether the thread
    /// was created.
    async fn thread_for_inbound(
        &self,
        team: TeamId,
        channel: ChannelId,
        phone: &str,
        profile_name: Option<&str>,
    ) -> DomainResult<(ThreadId, bool)>;
    /// Stores an outbound message as queued (or scheduled when `send_at` is set).
    async fn create_outbound(&self, msg: NewOutbound) -> DomainResult<Committed<Message>>;
    /// Takes a message for the carrier: refreshes its claim and loads what the carrier needs in
    /// one step; `None` when it no longer waits for the carrier (the stale sweep failed it, or
    /// it was answered), so it must not be sent.
    async fn begin_send(&self, message: MessageId) -> DomainResult<Option<Outgoing>>;
    /// Records the carrier's answer (queued/sending → sent or failed).
    async fn record_send(&self, message: MessageId, outcome: SendOutcome) -> DomainResult<Option<Committed<Message>>>;
    /// `begin_send` for several messages of one thread at once (the scheduler's claims for it):
    /// what the carrier needs for those still waiting for it, in the order asked. Postgres does
    /// it in one statement; this default asks one by one.
    async fn begin_sends(&self, messages: &[MessageId]) -> DomainResult<Vec<Outgoing>> {
        let mut out = Vec::with_capacity(messages.len());
        for m in messages {
            out.extend(self.begin_send(*m).await?);
        }
        Ok(out)
    }
    /// `record_send` for several answers of one thread's carrier requests, in the order given:
    /// each message still waiting changes and gets its `message.updated`, with seqs in that
    /// order; `None` when none was still waiting. Postgres commits it in one statement (and one
    /// more per message whose status callbacks arrived before the answer); this default records
    /// one by one.
    async fn record_sends(
        &self,
        thread: ThreadId,
        results: Vec<(MessageId, SendOutcome)>,
    ) -> DomainResult<Option<Committed<Vec<Message>>>> {
        let mut done = None;
        for (message, outcome) in results {
            if let Some(c) = self.record_send(message, outcome).await? {
                debug_assert_eq!(c.thread.id, thread);
                gather(&mut done, c);
            }
        }
        Ok(done)
    }
    /// Applies a status callback by provider sid; `None` when it changes nothing (late, unknown).
    /// With `receipt`, the callback's params are also kept as that team's status receipt, in the
    /// same write, even when the status changes nothing.
    async fn apply_status(
        &self,
        sid: &str,
        status: MessageStatus,
        error_code: Option<i32>,
        reason: Option<String>,
        raw: serde_json::Value,
        receipt: Option<TeamId>,
    ) -> DomainResult<Option<Committed<Message>>>;
    /// Stores an inbound message (idempotent by MessageSid), applies opt-out/opt-in, and cancels
    /// the thread's cancel-on-reply scheduled messages.
    async fn record_inbound(&self, msg: NewInbound) -> DomainResult<InboundOutcome>;
    /// Adds a note; private notes' events are for their author alone.
    async fn add_note(
        &self,
        team: TeamId,
        thread: ThreadId,
        author: UserId,
        body: &str,
        visibility: Visibility,
        mentions: &[UserId],
    ) -> DomainResult<Committed<Note>>;
    /// Resets the unread count, and takes off `reader`'s own "marked unread" (the answer's
    /// `marked_unread` is `Some(false)`).
    async fn mark_read(&self, team: TeamId, thread: ThreadId, reader: UserId) -> DomainResult<ThreadSummary>;
    /// Marks the thread unread for `reader` alone, until they read it (`marked_unread:
    /// Some(true)` in the answer).
    async fn mark_unread(&self, team: TeamId, thread: ThreadId, reader: UserId) -> DomainResult<ThreadSummary>;
    /// Changes status, snooze end, assignee, priority and/or labels (see [`ThreadChange`]); `actor` is `None`
    /// when the system does it (an inbound message reopening a resolved thread).
    async fn update_thread(
        &self,
        team: TeamId,
        thread: ThreadId,
        actor: Option<UserId>,
        change: ThreadChange,
    ) -> DomainResult<Committed<ThreadSummary>>;
    /// Opens a snoozed thread whose snooze has ended (`thread.updated`, no actor): `None` when
    /// it is no longer snoozed or not due (another node woke it, or someone changed it).
    async fn wake_thread(&self, thread: ThreadId) -> DomainResult<Option<Committed<ThreadSummary>>>;
    /// Edits a scheduled message; Conflict when it is no longer scheduled.
    async fn edit_scheduled(
        &self,
        team: TeamId,
        message: MessageId,
        actor: UserId,
        body: Option<String>,
        send_at: Option<OffsetDateTime>,
    ) -> DomainResult<Committed<Message>>;
    /// Cancels a scheduled message; Conflict when it is no longer scheduled.
    async fn cancel_scheduled(&self, team: TeamId, message: MessageId, actor: UserId) -> DomainResult<Committed<Message>>;
    /// Fails a send still waiting for the carrier since before `older_than` ("outcome unknown":
    /// never silently sent again); `None` when it has moved on meanwhile.
    async fn fail_unknown(&self, message: MessageId, older_than: OffsetDateTime) -> DomainResult<Option<Committed<Message>>>;
    /// Records a carrier sid learned from a status callback for a send whose answer was lost (its
    /// node died with the request out): the message, still waiting or failed as "outcome
    /// unknown", becomes `sent` with that sid. `None` when it has a sid already or moved on.
    async fn adopt_sid(&self, message: MessageId, sid: &str) -> DomainResult<Option<Committed<Message>>>;
    /// Appends a `contact.updated` event (the contact's new brief) to a thread of the contact.
    async fn record_contact_change(&self, team: TeamId, thread: ThreadId, contact: &Contact) -> DomainResult<Committed<()>>;
    /// Appends a `rule.fired` event (which rule, on which message, what it did) to the thread's
    /// log: the automation's own line in the conversation.
    async fn record_rule_fired(&self, team: TeamId, thread: ThreadId, data: serde_json::Value) -> DomainResult<Committed<()>>;
    /// Stores a campaign's message to one recipient quietly (the thread is not bumped and not
    /// unread), already claimed for the carrier, and links it to the recipient, only while
    /// `claim` is the recipient's current claim: `None` when it is not (nothing stored). Answers
    /// what the carrier needs with it (what `begin_send` would load), so a campaign's send takes
    /// no second statement. The in-memory fake keeps no campaigns and answers Unavailable.
    async fn create_campaign_message(&self, _m: &CampaignMessage) -> DomainResult<Option<(Committed<Message>, Outgoing)>> {
        Err(crate::error::DomainError::Unavailable)
    }
}

/// A campaign's message to one claimed recipient.
#[derive(Clone, Debug)]
pub struct CampaignMessage {
    pub team: TeamId,
    pub thread: ThreadId,
    pub campaign: CampaignId,
    pub recipient: i64,
    pub claim: uuid::Uuid,
    /// The text the thread shows (rendered for the contact).
    pub body: String,
    /// An approved template's ContentSid and values: what the carrier gets instead of the body.
    pub content: Option<crate::rules::message_templates::ContentRef>,
}

/// The scheduler's queries.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Scheduled messages due before `until` (not claimed), soonest first.
    async fn due_before(&self, until: OffsetDateTime, limit: i64) -> DomainResult<Vec<(MessageId, OffsetDateTime)>>;
    /// Atomically moves due rows to `sending` and returns them; rows locked by another node are
    /// skipped, so each row is claimed once.
    async fn claim_due(&self, now: OffsetDateTime, limit: i64) -> DomainResult<Vec<Claimed>>;
    /// Sends left in `sending`/`queued` without a carrier answer since before `older_than`: their
    /// process died. Their threads fail them (`ThreadWrites::fail_unknown`).
    async fn stale_sends(&self, older_than: OffsetDateTime, limit: i64) -> DomainResult<Vec<(ThreadId, MessageId)>>;
    /// Refreshes a send's claim; false when the message is no longer waiting for the carrier
    /// (the stale sweep failed it), so it must not be sent.
    async fn touch_claim(&self, message: MessageId) -> DomainResult<bool>;
    /// Snoozed threads whose snooze has ended, oldest end first.
    async fn due_snoozes(&self, now: OffsetDateTime, limit: i64) -> DomainResult<Vec<ThreadId>>;
    /// Puts a message that never reached the carrier back to `scheduled`, due now at the latest,
    /// for any node to send: its hand-off failed, or its node stopped before sending it.
    async fn unclaim(&self, message: MessageId) -> DomainResult<()>;
}
