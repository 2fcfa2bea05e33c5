//! The threads service: one typed method per command the edge may give a thread. It finds (or
//! creates) the thread, routes the command to the thread's actor through the registry, and
//! answers the actor's result. The edge never builds actor messages and never writes to the
//! store; it calls these methods and maps their errors.

use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::hub::ConnRef;
use crate::ids::*;
use crate::ports::{FollowUpChange, InboundOutcome, NewCall, NewInbound, ThreadChange};
use crate::registry::Registry;
use crate::rules::{self, Draft};
use crate::scheduler::Dispatcher;
use crate::thread::{Claim, FollowUpInput, FollowUpOp, StatusUpdate, ThreadActor, ThreadCtx, ThreadMsg, ThreadStart};
use async_trait::async_trait;
use ractor::{Actor, ActorCell};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::OwnedSemaphorePermit;

/// An inbound message from a verified webhook, before its thread is known.
#[derive(Clone, Debug)]
pub struct InboundMessage {
    /// The channel whose token verified the webhook.
    pub team: TeamId,
    pub channel: ChannelId,
    pub kind: ChannelKind,
    /// The sender, E.164.
    pub from: String,
    /// WhatsApp's profile name, when given.
    pub profile_name: Option<String>,
    pub message_sid: String,
    pub body: String,
    pub media: Vec<Media>,
    /// Every parameter as received (kept as the raw receipt).
    pub raw: serde_json::Value,
    /// Twilio's `OptOutType`, when given.
    pub opt_out_type: Option<String>,
}

/// A verified status callback.
#[derive(Clone, Debug)]
pub struct StatusCallback {
    /// The team of the channel whose token verified the callback.
    pub team: TeamId,
    pub sid: String,
    /// `None` for a status word we do not track (still kept as a receipt).
    pub status: Option<MessageStatus>,
    pub error_code: Option<i32>,
    pub raw: serde_json::Value,
    /// The message's thread and status as the edge found them, or `None` when the sid is not
    /// recorded yet (Twilio may call back before the send's answer reached us).
    pub current: Option<(ThreadId, MessageStatus)>,
    /// Our message and its thread, when the callback URL named it (`?message=`) and the sid is
    /// not recorded: a send whose answer may be lost.
    pub named: Option<(MessageId, ThreadId)>,
}

/// A call's outcome from a verified voice webhook, before its thread is known.
#[derive(Clone, Debug)]
pub struct CallReport {
    /// The team of the channel whose token verified the webhook.
    pub team: TeamId,
    pub channel: ChannelId,
    /// The caller, E.164.
    pub from: String,
    pub call_sid: String,
    pub direction: Direction,
    pub outcome: CallOutcome,
    pub duration: i32,
    pub recording_url: Option<String>,
    /// Every parameter as received.
    pub raw: serde_json::Value,
}

/// How many threads of a bulk change are in flight at once: enough to hide the round trips,
/// few enough not to fill every actor's queue at once.
const BULK_CONCURRENCY: usize = 16;

/// The thread actors of this node, behind typed commands.
pub struct Threads {
    registry: Arc<Registry<ThreadId, ThreadMsg>>,
    ctx: Arc<ThreadCtx>,
}

impl Threads {
    /// The service over `ctx`; thread actors are started under `supervisor`.
    pub fn new(ctx: Arc<ThreadCtx>, supervisor: ActorCell) -> Arc<Threads> {
        let registry = ctx.registry.clone();
        let weak = Arc::downgrade(&ctx);
        registry.set_starter(Box::new(move |id, queued| {
            let weak = weak.clone();
            let supervisor = supervisor.clone();
            Box::pin(async move {
                let ctx = weak.upgrade().ok_or(DomainError::Unavailable)?;
                // Load before spawning, outside any lock: a missing thread is a typed 404, a
                // store that is down a 503, never a failed spawn to interpret.
                let summary = match ctx.store.load_thread(id).await {
                    Ok(Some(summary)) => summary,
                    Ok(None) => return Err(DomainError::NotFound("thread")),
                    Err(e @ (DomainError::Invalid { .. } | DomainError::NotFound(_))) => return Err(e),
                    Err(e) => {
                        tracing::warn!(thread = %id, error = %e, "could not load a thread");
                        return Err(DomainError::Unavailable);
                    }
                };
                let (actor, _) = Actor::spawn_linked(None, ThreadActor, ThreadStart { ctx, summary, queued }, supervisor)
                    .await
                    .map_err(|e| DomainError::Internal(format!("thread actor did not start: {e}")))?;
                Ok(actor)
            })
        }));
        Arc::new(Threads { registry, ctx })
    }

    /// How many thread actors are live on this node.
    pub fn live(&self) -> usize {
        self.registry.len()
    }

    /// Sends (or schedules) a message on a thread.
    pub async fn send(&self, team: TeamId, thread: ThreadId, author: User, draft: Draft) -> DomainResult<Message> {
        self.registry.ask(thread, |reply| ThreadMsg::Send { team, author, draft, reply }).await
    }

    /// Sends (or schedules) a message to a contact on the team's channel of `kind` (the chosen
    /// `number`, else the first), opening the thread first if the contact has none there.
    pub async fn send_to_contact(
        &self,
        team: TeamId,
        contact: ContactId,
        kind: ChannelKind,
        number: Option<ChannelId>,
        author: User,
        draft: Draft,
    ) -> DomainResult<Message> {
        draft.validate(crate::clock::now(), self.ctx.config.horizon)?;
        let thread = self.open_for_contact(team, contact, kind, number).await?;
        self.send(team, thread.id, author, draft).await
    }

    /// The contact's thread on the team's channel of `kind` (the chosen `number`, else the
    /// first), created (and announced to every inbox) if missing.
    pub async fn open_for_contact(
        &self,
        team: TeamId,
        contact: ContactId,
        kind: ChannelKind,
        number: Option<ChannelId>,
    ) -> DomainResult<ThreadSummary> {
        let (id, created) = self.ctx.store.thread_for_contact(team, contact, kind, number).await?;
        let summary = self.ctx.store.thread(team, id).await?;
        if created {
            self.ctx.teams.changed(summary.clone(), true);
        }
        Ok(summary)
    }

    /// Adds a public or private note.
    pub async fn add_note(&self, team: TeamId, thread: ThreadId, author: User, body: String, visibility: Visibility) -> DomainResult<Note> {
        self.registry.ask(thread, |reply| ThreadMsg::AddNote { team, author, body, visibility, reply }).await
    }

    /// Marks the thread read for everyone.
    pub async fn mark_read(&self, team: TeamId, thread: ThreadId, reader: User) -> DomainResult<ThreadSummary> {
        self.registry.ask(thread, |reply| ThreadMsg::MarkRead { team, reader, reply }).await
    }

    /// Marks the thread unread for `reader` alone (until they read it).
    pub async fn mark_unread(&self, team: TeamId, thread: ThreadId, reader: User) -> DomainResult<ThreadSummary> {
        self.registry.ask(thread, |reply| ThreadMsg::MarkUnread { team, reader, reply }).await
    }

    /// Retries a failed send of the team: a new message with its body and media, sent by
    /// `author` through the thread's actor like any other (the failed one is kept).
    pub async fn retry(&self, team: TeamId, message: MessageId, author: User) -> DomainResult<Message> {
        let thread = self.ctx.store.message_thread(team, message).await?;
        self.registry.ask(thread, |reply| ThreadMsg::Retry { team, author, message, reply }).await
    }

    /// The same change to many threads, each through its own actor (never around it), a few at
    /// a time; answers each thread's own result, in the order asked. The change is checked once
    /// first: a change no thread could take is one error, not one per thread.
    pub async fn bulk_update(
        &self,
        team: TeamId,
        threads: Vec<ThreadId>,
        actor: User,
        change: ThreadChange,
    ) -> DomainResult<Vec<(ThreadId, DomainResult<ThreadSummary>)>> {
        use futures_util::StreamExt;
        let threads = rules::bulk_threads(threads)?;
        let change = rules::thread_change(change, crate::clock::now(), self.ctx.config.horizon)?;
        let results = futures_util::stream::iter(threads)
            .map(|thread| {
                let (actor, change) = (actor.clone(), change.clone());
                async move { (thread, self.registry.ask(thread, |reply| ThreadMsg::Update { team, actor, change, reply }).await) }
            })
            .buffered(BULK_CONCURRENCY)
            .collect()
            .await;
        Ok(results)
    }

    /// Changes status and/or assignee (`Some(None)` unassigns).
    pub async fn update(&self, team: TeamId, thread: ThreadId, actor: User, change: ThreadChange) -> DomainResult<ThreadSummary> {
        let change = rules::thread_change(change, crate::clock::now(), self.ctx.config.horizon)?;
        self.registry.ask(thread, |reply| ThreadMsg::Update { team, actor, change, reply }).await
    }

    /// Edits a scheduled message (Conflict once it has moved on).
    pub async fn edit_scheduled(
        &self,
        team: TeamId,
        message: MessageId,
        actor: User,
        body: Option<String>,
        send_at: Option<OffsetDateTime>,
    ) -> DomainResult<Message> {
        let thread = self.ctx.store.message_thread(team, message).await?;
        self.registry.ask(thread, |reply| ThreadMsg::EditScheduled { team, actor, message, body, send_at, reply }).await
    }

    /// Cancels a scheduled message (Conflict once it has moved on).
    pub async fn cancel_scheduled(&self, team: TeamId, message: MessageId, actor: User) -> DomainResult<Message> {
        let thread = self.ctx.store.message_thread(team, message).await?;
        self.registry.ask(thread, |reply| ThreadMsg::CancelScheduled { team, actor, message, reply }).await
    }

    /// Stores an inbound message in its contact's thread (contact and thread created on first
    /// contact); idempotent by MessageSid. Text is stored as received, less NUL characters,
    /// which Postgres cannot store and no phone sends.
    pub async fn inbound(&self, m: InboundMessage) -> DomainResult<InboundOutcome> {
        let profile = m.profile_name.as_deref().map(rules::without_nul);
        let (thread, created) = self.ctx.store.thread_for_inbound(m.team, m.channel, &m.from, profile.as_deref()).await?;
        let body: String = rules::without_nul(&m.body).chars().take(rules::MAX_BODY_CHARS).collect();
        let opt_out = rules::opt_out_intent(m.opt_out_type.as_deref(), &body);
        let media = m.media.into_iter().filter(|media| rules::is_http_url(&media.url)).collect();
        let msg = NewInbound {
            team: m.team,
            thread,
            kind: m.kind,
            message_sid: rules::without_nul(&m.message_sid),
            body,
            media,
            raw: rules::scrub_json(m.raw),
            opt_out,
        };
        self.registry.ask(thread, |reply| ThreadMsg::Inbound { msg, created, reply }).await
    }

    /// Records a call's outcome on the caller's thread (contact and thread created on first
    /// contact), once per CallSid; a missed call gets the channel's reply (at most one per
    /// caller per period). Answers `None` when the CallSid was recorded before.
    pub async fn call(&self, r: CallReport) -> DomainResult<Option<Call>> {
        let call_sid = rules::calls::call_sid(&r.call_sid)?.to_owned();
        let (thread, created) = self.ctx.store.thread_for_inbound(r.team, r.channel, &r.from, None).await?;
        let settings = self.ctx.store.channel_settings(r.team, r.channel).await?;
        let call = NewCall {
            team: r.team,
            thread,
            call_sid,
            direction: r.direction,
            outcome: r.outcome,
            duration: r.duration,
            recording_url: r.recording_url.filter(|u| rules::is_http_url(u)),
            raw: rules::scrub_json(r.raw),
            reply: None,
        };
        let settings = Box::new(settings);
        self.registry.ask(thread, |reply| ThreadMsg::Call { call, settings, created, reply }).await
    }

    /// Adds a follow-up to a thread (`due_at` within a year, note at most 1,000 characters, the
    /// assignee a member of the team).
    pub async fn add_follow_up(&self, team: TeamId, thread: ThreadId, actor: User, mut input: FollowUpInput) -> DomainResult<FollowUp> {
        input.due_at = rules::follow_ups::due_at(input.due_at, crate::clock::now())?;
        input.note = rules::follow_ups::note(&input.note)?;
        let op = FollowUpOp::Create(input);
        self.registry.ask(thread, |reply| ThreadMsg::FollowUp { team, actor, op, reply }).await
    }

    /// Changes a follow-up (done, failed, pending again, due time, assignee) through its thread.
    pub async fn update_follow_up(&self, team: TeamId, id: FollowUpId, actor: User, change: FollowUpChange) -> DomainResult<FollowUp> {
        if let Some(at) = change.due_at {
            rules::follow_ups::due_at(at, crate::clock::now())?;
        }
        let thread = self.ctx.store.follow_up(team, id).await?.thread_id;
        let op = FollowUpOp::Update { id, change };
        self.registry.ask(thread, |reply| ThreadMsg::FollowUp { team, actor, op, reply }).await
    }

    /// Keeps a status callback as a receipt and moves the message's status forward. A status
    /// that can move a known message is kept by the thread's statement that moves it (one
    /// write); one that cannot (late, repeated, unknown) costs no thread command.
    pub async fn status(&self, cb: StatusCallback) -> DomainResult<()> {
        let raw = rules::scrub_json(cb.raw);
        if let (Some(status), Some((thread, current))) = (cb.status, cb.current)
            && current.may_become(status)
        {
            let update = StatusUpdate { team: cb.team, sid: cb.sid, status, error_code: cb.error_code, raw, keep_receipt: true };
            return self.registry.ask(thread, |reply| ThreadMsg::Status { update, reply }).await.map(|_| ());
        }
        self.ctx.store.record_receipt(cb.team, "status", Some(&cb.sid), raw.clone()).await?;
        let Some(status) = cb.status else { return Ok(()) };
        if cb.current.is_some() {
            return Ok(()); // known, and this status cannot move it
        }
        let update = StatusUpdate { team: cb.team, sid: cb.sid, status, error_code: cb.error_code, raw, keep_receipt: false };
        // The send may have recorded its sid between the edge's lookup and our receipt: then
        // apply it now (otherwise the send applies the receipt when it records).
        match self.ctx.store.message_for_sid(&update.sid).await? {
            // Statuses only move forward; the status read can only have moved further since.
            Some((channel, thread, current)) if channel.team_id == update.team => {
                if current.may_become(status) {
                    self.registry.ask(thread, |reply| ThreadMsg::Status { update, reply }).await?;
                }
            }
            // Still unknown: if the URL names our message, its send's answer may be lost (the node
            // died while Twilio had the request). The callback repairs it; a message that is
            // merely slow to record its answer keeps the receipt for then.
            _ => {
                if let Some((message, thread)) = cb.named {
                    self.registry.ask(thread, |reply| ThreadMsg::Adopt { message, update, reply }).await?;
                }
            }
        }
        Ok(())
    }

    /// An agent is typing (or stopped): the actor keeps it with its expiry for latecomers. Never
    /// waits: a thread whose actor is not running is started by an owned task.
    pub fn typing(&self, thread: ThreadId, user: UserId, typing: bool) {
        let msg = ThreadMsg::Typing { user, typing };
        if let Some(live) = self.registry.running(thread) {
            if live.actor.cast(msg).is_ok() || !typing {
                return;
            }
            self.start_and_tell(thread, ThreadMsg::Typing { user, typing });
        } else if typing {
            self.start_and_tell(thread, msg);
        }
    }

    fn start_and_tell(&self, thread: ThreadId, msg: ThreadMsg) {
        let registry = self.registry.clone();
        self.ctx.tasks.spawn(async move {
            let _ = registry.cast(thread, msg).await;
        });
    }

    /// A socket joined a thread channel: a running actor tells it who is typing. A thread whose
    /// actor is not running has nobody typing, so nothing is started.
    pub fn viewer_joined(&self, thread: ThreadId, conn: ConnRef) {
        if let Some(live) = self.registry.running(thread) {
            let _ = live.actor.cast(ThreadMsg::ViewerJoined { conn });
        }
    }

    /// A contact changed: each of its threads records it and refreshes every view.
    pub async fn contact_changed(&self, contact: &Contact, threads: Vec<ThreadId>) {
        for thread in threads {
            if let Err(e) = self.registry.cast(thread, ThreadMsg::ContactChanged { contact: Box::new(contact.clone()) }).await {
                tracing::warn!(%thread, error = %e, "a contact change did not reach its thread");
            }
        }
    }

    /// Threads deleted with their contact: running actors tell their views and stop; for the
    /// others the inboxes are told here.
    pub fn deleted(&self, team: TeamId, threads: Vec<ThreadId>) {
        for thread in threads {
            match self.registry.running(thread) {
                Some(live) if live.actor.cast(ThreadMsg::Retire).is_ok() => {}
                _ => {
                    let data = serde_json::json!({ "id": thread, "thread_id": thread });
                    self.ctx.fanout.publish(crate::protocol::ChannelName::Team(team), event::THREAD_DELETED, &data);
                    self.ctx.fanout.publish(crate::protocol::ChannelName::Thread(thread), event::THREAD_DELETED, &data);
                }
            }
        }
    }

    /// Automatic assignment's backlog: gives a waiting conversation an agent through its actor
    /// (started if needed) if one can take it now.
    pub async fn auto_assign(&self, team: TeamId, thread: ThreadId) -> DomainResult<crate::backlog::Assigned> {
        self.registry.ask(thread, |reply| ThreadMsg::AutoAssign { team, reply }).await
    }

    /// Hands a claimed campaign recipient to its thread's actor (started if needed), which
    /// stores the message quietly and sends it.
    pub async fn campaign_send(&self, thread: ThreadId, send: crate::thread::CampaignSend) -> DomainResult<()> {
        self.registry.cast(thread, ThreadMsg::CampaignSend(send)).await
    }

    /// Stops every thread actor after it has done what is queued (shutdown: send results the
    /// owned tasks reported are recorded first).
    pub async fn drain(&self, deadline: Duration) {
        let actors = self.registry.all();
        let waits = actors.into_iter().map(|a| async move { a.drain_and_wait(Some(deadline)).await });
        futures_util::future::join_all(waits).await;
    }
}

#[async_trait]
impl Dispatcher for Threads {
    async fn dispatch(&self, thread: ThreadId, messages: Vec<MessageId>, mut slots: OwnedSemaphorePermit) -> DomainResult<()> {
        // A claim dropped unhandled gives itself back; the scheduler then must not (and cannot:
        // the claim is gone) put it back a second time.
        let claims = messages.into_iter().map(|m| Claim::new(self.ctx.clone(), m, slots.split(1))).collect();
        self.registry.cast(thread, ThreadMsg::Dispatch(claims)).await
    }

    async fn fail_unknown(&self, thread: ThreadId, message: MessageId, cutoff: OffsetDateTime) -> DomainResult<()> {
        self.registry.cast(thread, ThreadMsg::FailUnknown { message, cutoff }).await
    }

    async fn wake(&self, thread: ThreadId) -> DomainResult<()> {
        self.registry.cast(thread, ThreadMsg::Wake).await
    }
}
