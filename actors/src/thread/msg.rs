//! The commands a thread actor takes (`ThreadMsg`), what each answers, and the few facts the
//! actor asks of a command before doing it: whether its caller gave up, which team it acts for,
//! whether it is background work (an unwatched actor stops early), how to refuse it.

use super::{Automated, BatchReport, CampaignSend, Claim, FollowUpOp, SendReport};
use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::hub::ConnRef;
use crate::ids::*;
use crate::ports::*;
use crate::rules::Draft;
use ractor::RpcReplyPort;
use time::OffsetDateTime;

pub(super) type Reply<T> = RpcReplyPort<DomainResult<T>>;

/// What a thread actor does. Commands carry the caller's team: a thread of another team answers
/// "not found", exactly like a missing one.
pub enum ThreadMsg {
    /// An agent sends a message now, or schedules it when the draft has `send_at`.
    Send { team: TeamId, author: User, draft: Draft, reply: Reply<Message> },
    /// An agent adds a note (mentions are resolved here).
    AddNote { team: TeamId, author: User, body: String, visibility: Visibility, reply: Reply<Note> },
    /// An agent read the thread.
    MarkRead { team: TeamId, reader: User, reply: Reply<ThreadSummary> },
    /// An agent marked the thread unread, for themselves.
    MarkUnread { team: TeamId, reader: User, reply: Reply<ThreadSummary> },
    /// An agent retries a failed send: a new message with its body and media, sent like any.
    Retry { team: TeamId, author: User, message: MessageId, reply: Reply<Message> },
    /// An agent changes status and/or assignee (`Some(None)` unassigns).
    Update { team: TeamId, actor: User, change: ThreadChange, reply: Reply<ThreadSummary> },
    /// An agent edits a scheduled message.
    EditScheduled {
        team: TeamId,
        actor: User,
        message: MessageId,
        body: Option<String>,
        send_at: Option<OffsetDateTime>,
        reply: Reply<Message>,
    },
    /// An agent cancels a scheduled message.
    CancelScheduled { team: TeamId, actor: User, message: MessageId, reply: Reply<Message> },
    /// A verified inbound webhook for this thread; `created` when the webhook created the thread.
    Inbound { msg: NewInbound, created: bool, reply: Reply<InboundOutcome> },
    /// A call to the thread's number ended (a verified voice webhook); `created` when the call
    /// created the thread. Answers `None` when the CallSid was recorded before.
    Call { call: NewCall, settings: Box<ChannelSettings>, created: bool, reply: Reply<Option<Call>> },
    /// An agent creates a follow-up on this thread, or changes one of its follow-ups.
    FollowUp { team: TeamId, actor: User, op: FollowUpOp, reply: Reply<FollowUp> },
    /// A verified status callback for a message of this thread.
    Status { update: StatusUpdate, reply: Reply<Option<Message>> },
    /// A verified status callback whose sid we never recorded, for our message `message` (named
    /// by the callback URL): its send's answer was lost, and the callback repairs it.
    Adopt { message: MessageId, update: StatusUpdate, reply: Reply<Option<Message>> },
    /// The scheduler claimed these messages of this thread (now `sending`), in due order: hand
    /// them to the carrier in that order, each holding one of the node's send slots until the
    /// carrier answers (see `dispatch.rs`). Dropped unhandled (the actor crashed with them
    /// queued), they give their claims back.
    Dispatch(Vec<Claim>),
    /// A campaign's runner claimed a recipient whose thread this is: store its message quietly
    /// and hand it to the carrier.
    CampaignSend(CampaignSend),
    /// The team's automation claimed a reply and/or rules for an inbound message of this
    /// thread: do them (once: the claims were taken before).
    Automate(Box<Automated>),
    /// A send task is over. Dropped unhandled, it is told again to a fresh actor.
    SendFinished(SendReport),
    /// A batch send task's answers (all of them, or those so far). Dropped unhandled, they are
    /// told again to a fresh actor.
    SendsFinished(BatchReport),
    /// The scheduler's sweep found a send of ours waiting for the carrier since before `cutoff`.
    FailUnknown { message: MessageId, cutoff: OffsetDateTime },
    /// The scheduler found this thread's snooze over: open it (once, across nodes) and tell
    /// its assignee.
    Wake,
    /// Automatic assignment's backlog: the customer waits and nobody has the conversation; give
    /// it an agent if one can take it now. Answers who got it (`None`: nobody could).
    AutoAssign { team: TeamId, reply: Reply<crate::backlog::Assigned> },
    /// The thread's contact changed (name, phone, opt-out): record it and refresh every view.
    ContactChanged { contact: Box<Contact> },
    /// The thread was deleted with its contact: tell every view, then stop.
    Retire,
    /// An agent is typing (relayed by the gateway already; this keeps the expiry).
    Typing { user: UserId, typing: bool },
    /// A socket just joined the thread channel: tell it who is typing now.
    ViewerJoined { conn: ConnRef },
    /// Timer: expire typing, stop when idle.
    Tick,
}

impl ThreadMsg {
    /// Whether the caller already gave up on this command (its reply port is closed); `None`
    /// for messages that are not counted commands.
    pub(super) fn abandoned(&self) -> Option<bool> {
        Some(match self {
            ThreadMsg::Send { reply, .. } => reply.is_closed(),
            ThreadMsg::AddNote { reply, .. } => reply.is_closed(),
            ThreadMsg::MarkRead { reply, .. } => reply.is_closed(),
            ThreadMsg::MarkUnread { reply, .. } => reply.is_closed(),
            ThreadMsg::Retry { reply, .. } => reply.is_closed(),
            ThreadMsg::Update { reply, .. } => reply.is_closed(),
            ThreadMsg::EditScheduled { reply, .. } => reply.is_closed(),
            ThreadMsg::CancelScheduled { reply, .. } => reply.is_closed(),
            ThreadMsg::Inbound { reply, .. } => reply.is_closed(),
            ThreadMsg::Call { reply, .. } => reply.is_closed(),
            ThreadMsg::FollowUp { reply, .. } => reply.is_closed(),
            ThreadMsg::Status { reply, .. } => reply.is_closed(),
            ThreadMsg::Adopt { reply, .. } => reply.is_closed(),
            ThreadMsg::AutoAssign { reply, .. } => reply.is_closed(),
            _ => return None,
        })
    }

    /// Work no one is waiting to see: a campaign's message, a scheduled send, the carrier's
    /// answers and statuses, the timer.
    pub(super) fn is_background(&self) -> bool {
        matches!(
            self,
            ThreadMsg::CampaignSend(_)
                | ThreadMsg::Dispatch(_)
                | ThreadMsg::SendFinished(_)
                | ThreadMsg::Status { .. }
                | ThreadMsg::Adopt { .. }
                | ThreadMsg::FailUnknown { .. }
                | ThreadMsg::AutoAssign { .. }
                | ThreadMsg::Tick
        )
    }

    /// The team a command acts for.
    pub(super) fn team(&self) -> Option<TeamId> {
        Some(match self {
            ThreadMsg::Send { team, .. }
            | ThreadMsg::AddNote { team, .. }
            | ThreadMsg::MarkRead { team, .. }
            | ThreadMsg::MarkUnread { team, .. }
            | ThreadMsg::Retry { team, .. }
            | ThreadMsg::Update { team, .. }
            | ThreadMsg::EditScheduled { team, .. }
            | ThreadMsg::CancelScheduled { team, .. }
            | ThreadMsg::FollowUp { team, .. }
            | ThreadMsg::AutoAssign { team, .. } => *team,
            ThreadMsg::Inbound { msg, .. } => msg.team,
            ThreadMsg::Call { call, .. } => call.team,
            ThreadMsg::Status { update, .. } | ThreadMsg::Adopt { update, .. } => update.team,
            _ => return None,
        })
    }

    /// Answers a command with `error` without doing it.
    pub(super) fn refuse(self, error: DomainError) {
        match self {
            ThreadMsg::Send { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::AddNote { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::MarkRead { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::MarkUnread { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::Retry { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::Update { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::EditScheduled { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::CancelScheduled { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::Inbound { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::Call { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::FollowUp { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::Status { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::Adopt { reply, .. } => drop(reply.send(Err(error))),
            ThreadMsg::AutoAssign { reply, .. } => drop(reply.send(Err(error))),
            _ => {}
        }
    }
}

/// A verified delivery status for a message of this thread.
#[derive(Clone, Debug)]
pub struct StatusUpdate {
    /// The team of the channel whose token verified the callback.
    pub team: TeamId,
    pub sid: String,
    pub status: MessageStatus,
    pub error_code: Option<i32>,
    pub raw: serde_json::Value,
    /// The callback is not kept yet: the statement that applies it keeps it too (one write).
    pub keep_receipt: bool,
}
