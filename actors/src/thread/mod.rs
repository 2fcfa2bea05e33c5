//! ThreadActor: the one writer of one thread on this node. Every change to a thread (an agent's
//! message, a note, a read, an assignment, an inbound message, a delivery status, a dispatch, a
//! contact change) passes through here, is committed to Postgres (which assigns the event's seq),
//! and is then fanned out. Typing state lives here too, with its expiry.
//!
//! The actor never waits on the carrier: a send runs as an owned task that reports back with
//! `SendFinished`, and the actor does not stop for idleness while one is out.

mod assign;
mod automation;
mod calls;
mod campaign;
mod dispatch;
mod follow_ups;
mod msg;
mod send;

pub use automation::Automated;
pub use campaign::CampaignSend;
pub use dispatch::BatchReport;
pub use follow_ups::{FollowUpInput, FollowUpOp};
use msg::Reply;
pub use msg::{StatusUpdate, ThreadMsg};

pub use send::{Claim, SendReport};
use send::{deliver, deliver_loaded, report, retell};

use crate::assignment::AutoAssign;
use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::fanout::Fanout;
use crate::ids::*;
use crate::ports::*;
use crate::protocol::{self, ChannelName};
use crate::registry::{self, Registry};
use crate::rules::{self, Draft};
use crate::scheduler::Schedule;
use crate::send_guard::SendGuard;
use crate::team::Teams;
use bytes::Bytes;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long an actor stays up that only did background work: a campaign's message and its
/// statuses, a scheduled send. Nobody is looking at its thread, so keeping it for the full idle
/// time would hold one actor per recipient (tens of thousands in a large campaign) for nothing;
/// a later command reloads it. Never longer than the configured idle time.
const UNWATCHED_IDLE: Duration = Duration::from_secs(15);

/// Settings of the thread actors.
#[derive(Clone, Debug)]
pub struct ThreadConfig {
    /// How long a `client-typing` stays on without a refresh.
    pub typing_ttl: Duration,
    /// A thread actor with nothing to do for this long stops (it reloads on next use).
    pub idle: Duration,
    /// How far ahead a message may be scheduled.
    pub horizon: Duration,
    /// A send waiting for the carrier this long is taken for lost; a queued send refreshes its
    /// claim well before.
    pub stale_after: Duration,
    /// Where Twilio posts delivery statuses.
    pub status_callback_url: String,
}

/// The ports a thread actor uses, and nothing else.
pub struct ThreadCtx {
    pub store: Arc<dyn ThreadStore>,
    /// Told the notifiable facts of each commit (`rules::notifications`).
    pub notifications: Arc<crate::notifications::Notifications>,
    pub carrier: Arc<dyn Carrier>,
    pub fanout: Arc<Fanout>,
    pub teams: Arc<Teams>,
    pub guard: Arc<SendGuard>,
    pub schedule: Arc<Schedule>,
    /// Finds an agent for a conversation a customer's message left without one.
    pub assign: Arc<AutoAssign>,
    /// The team's business hours, automatic replies and rules (a per-node cache), and the
    /// claims that make them happen once.
    pub automation: Arc<crate::automation::Automation>,
    pub registry: Arc<Registry<ThreadId, ThreadMsg>>,
    /// Owns the send tasks: shutdown waits for them.
    pub tasks: TaskTracker,
    /// Cancelled at shutdown: sends still waiting for their budget give their message back.
    pub shutdown: CancellationToken,
    pub config: ThreadConfig,
}

/// What a thread actor starts from.
pub struct ThreadStart {
    pub ctx: Arc<ThreadCtx>,
    pub summary: ThreadSummary,
    pub queued: Arc<AtomicUsize>,
}

/// The live state of one thread.
pub struct ThreadState {
    ctx: Arc<ThreadCtx>,
    id: ThreadId,
    /// The thread as of our last commit (team, contact, channel): checks before a write.
    summary: ThreadSummary,
    queued: Arc<AtomicUsize>,
    /// Who is typing, until when.
    typing: HashMap<UserId, Instant>,
    /// Send tasks out with the carrier: the actor stays up until they report.
    sending: usize,
    /// The scheduler's claims waiting for the running batch to end (`dispatch.rs`).
    due: VecDeque<Claim>,
    /// Whether a batch send task is running.
    dispatching: bool,
    /// When the queued claims' `claimed_at` was last refreshed (or the first was queued).
    due_touched: Instant,
    /// Campaign messages of this thread that may still change: their changes stay out of the
    /// inboxes (see `campaign.rs`).
    quiet: HashSet<MessageId>,
    last_activity: Instant,
    /// Whether anything but background work (a campaign's send, a scheduled send, their
    /// statuses) reached this actor: then it keeps the full idle time.
    watched: bool,
}

/// The actor; its state is [`ThreadState`].
pub struct ThreadActor;

#[ractor::async_trait]
impl Actor for ThreadActor {
    type Msg = ThreadMsg;
    type State = ThreadState;
    type Arguments = ThreadStart;

    async fn pre_start(&self, myself: ActorRef<ThreadMsg>, start: ThreadStart) -> Result<ThreadState, ActorProcessingErr> {
        // The state was loaded by whoever started us: no I/O here.
        let tick = (start.ctx.config.typing_ttl / 3).max(Duration::from_millis(200));
        myself.send_interval(tick, || ThreadMsg::Tick);
        Ok(ThreadState {
            id: start.summary.id,
            ctx: start.ctx,
            summary: start.summary,
            queued: start.queued,
            typing: HashMap::new(),
            sending: 0,
            due: VecDeque::new(),
            dispatching: false,
            due_touched: Instant::now(),
            quiet: HashSet::new(),
            last_activity: Instant::now(),
            watched: false,
        })
    }

    async fn handle(&self, myself: ActorRef<ThreadMsg>, msg: ThreadMsg, state: &mut ThreadState) -> Result<(), ActorProcessingErr> {
        if let Some(abandoned) = msg.abandoned() {
            registry::taken(&state.queued);
            if abandoned {
                // The caller timed out and was told so: doing it now would surprise them.
                metrics::counter!("switchboard_commands_abandoned_total").increment(1);
                return Ok(());
            }
        }
        if msg.team().is_some_and(|team| team != state.summary.team_id) {
            // Another team's thread looks exactly like a missing one.
            msg.refuse(DomainError::NotFound("thread"));
            return Ok(());
        }
        if !matches!(msg, ThreadMsg::Tick) {
            state.last_activity = Instant::now();
        }
        if !msg.is_background() {
            state.watched = true;
        }
        // Set when the store failed in a way we do not understand (not a domain refusal).
        let crash = match msg {
            ThreadMsg::Send { author, draft, reply, .. } => answer(reply, state.send(author, draft).await),
            ThreadMsg::AddNote { author, body, visibility, reply, .. } => answer(reply, state.add_note(author, &body, visibility).await),
            ThreadMsg::MarkRead { reader, reply, .. } => answer(reply, state.mark_read(reader).await),
            ThreadMsg::MarkUnread { reader, reply, .. } => answer(reply, state.mark_unread(reader).await),
            ThreadMsg::Retry { author, message, reply, .. } => answer(reply, state.retry(author, message).await),
            ThreadMsg::Update { team, actor, change, reply } => {
                let assigned = change.assignee.flatten();
                let result = state.ctx.store.update_thread(team, state.id, Some(actor.id), change).await;
                answer(reply, result.map(|c| state.commit(c, false, assigned)))
            }
            ThreadMsg::EditScheduled { actor, message, body, send_at, reply, .. } => {
                answer(reply, state.edit_scheduled(actor, message, body, send_at).await)
            }
            ThreadMsg::CancelScheduled { team, actor, message, reply } => {
                let result = state.ctx.store.cancel_scheduled(team, message, actor.id).await;
                answer(reply, result.map(|c| state.apply(c)))
            }
            ThreadMsg::Inbound { msg, created, reply } => answer(reply, state.inbound(msg, created).await),
            ThreadMsg::Call { call, settings, created, reply } => answer(reply, state.call(call, *settings, created).await),
            ThreadMsg::FollowUp { actor, op, reply, .. } => answer(reply, state.follow_up(actor, op).await),
            ThreadMsg::Status { update, reply } => {
                let reason = update.error_code.map(twilio_error_reason);
                let receipt = update.keep_receipt.then_some(update.team);
                let result = state.ctx.store.apply_status(&update.sid, update.status, update.error_code, reason, update.raw, receipt).await;
                let result = result.map(|c| c.map(|c| state.apply_message(c)));
                answer(reply, result)
            }
            ThreadMsg::Adopt { message, update, reply } => answer(reply, state.adopt(message, update).await),
            ThreadMsg::Dispatch(claims) => {
                state.queue_claims(claims);
                None
            }
            ThreadMsg::SendsFinished(report) => state.batch_reported(report).await,
            ThreadMsg::CampaignSend(send) => state.campaign_send(send).await,
            ThreadMsg::SendFinished(report) => {
                let (message, outcome, attempt) = report.take();
                state.sending = state.sending.saturating_sub(1);
                match outcome {
                    Some(outcome) => state.finish_send(message, outcome, attempt).await,
                    None => None,
                }
            }
            ThreadMsg::FailUnknown { message, cutoff } => match state.ctx.store.fail_unknown(message, cutoff).await {
                Ok(committed) => {
                    if let Some(c) = committed {
                        tracing::warn!(%message, "a send's outcome is unknown (its node stopped): failed, not retried");
                        state.apply_message(c);
                    }
                    None
                }
                Err(e) => crash_reason(&e),
            },
            ThreadMsg::AutoAssign { reply, .. } => answer(reply, state.auto_assign_waiting().await),
            ThreadMsg::Wake => match state.ctx.store.wake_thread(state.id).await {
                Ok(Some(c)) => {
                    let woke = c.events.first().cloned();
                    let summary = state.apply(c);
                    let fact = woke.and_then(|e| rules::notifications::snooze_ended(&summary, &e));
                    state.ctx.notifications.tell(fact.into_iter().collect());
                    // The assignee hears of it on every tab and node.
                    if let Some(assignee) = summary.assignee_id {
                        state.ctx.fanout.publish(
                            ChannelName::User(assignee),
                            event::SNOOZE_ENDED,
                            &serde_json::json!({ "thread_id": state.id, "thread": summary }),
                        );
                    }
                    None
                }
                Ok(None) => None,
                Err(e) => crash_reason(&e),
            },
            ThreadMsg::ContactChanged { contact } => {
                match state.ctx.store.record_contact_change(state.summary.team_id, state.id, &contact).await {
                    Ok(c) => {
                        state.apply(c);
                        None
                    }
                    Err(DomainError::NotFound(_)) => None,
                    Err(e) => crash_reason(&e),
                }
            }
            ThreadMsg::Automate(automated) => {
                state.automated(*automated).await;
                None
            }
            ThreadMsg::Retire => {
                state.retire(&myself);
                None
            }
            ThreadMsg::Typing { user, typing } => {
                if typing {
                    state.typing.insert(user, Instant::now() + state.ctx.config.typing_ttl);
                } else if state.typing.remove(&user).is_some() {
                    state.typing_stopped(user);
                }
                None
            }
            ThreadMsg::ViewerJoined { conn } => {
                let channel = ChannelName::Thread(state.id).to_string();
                for user in state.typing.keys() {
                    conn.push(Bytes::from(typing_frame(&channel, *user, true)));
                }
                None
            }
            ThreadMsg::Tick => {
                state.tick(&myself);
                None
            }
        };
        // Let it crash: the caller already has its answer; the supervisor forgets this actor
        // and the next command starts a fresh one that reloads from Postgres.
        match crash {
            Some(reason) => Err(reason.into()),
            None => Ok(()),
        }
    }

    async fn post_stop(&self, myself: ActorRef<ThreadMsg>, state: &mut ThreadState) -> Result<(), ActorProcessingErr> {
        use crate::registry::Forget;
        state.ctx.registry.forget(myself.get_id());
        Ok(())
    }
}

/// Answers a caller and says whether the actor should crash (an internal store failure).
fn answer<T>(reply: Reply<T>, result: DomainResult<T>) -> Option<String> {
    let crash = result.as_ref().err().and_then(crash_reason);
    let _ = reply.send(result);
    crash
}

fn crash_reason(e: &DomainError) -> Option<String> {
    match e {
        DomainError::Internal(detail) => Some(format!("store failure: {detail}")),
        _ => None,
    }
}

/// The typing frame every client handles: `client-typing` with the typist's id.
fn typing_frame(channel: &str, user: UserId, typing: bool) -> String {
    let uid = user.to_string();
    protocol::client_event_frame(event::TYPING, channel, &serde_json::json!({ "user_id": uid, "typing": typing }), Some(&uid))
}

impl ThreadState {
    /// Fans out what a commit produced and keeps its summary; answers the committed value.
    fn apply<T>(&mut self, committed: Committed<T>) -> T {
        self.apply_created(committed, false)
    }

    fn apply_created<T>(&mut self, committed: Committed<T>, created: bool) -> T {
        self.commit(committed, created, None)
    }

    /// `apply_created`, knowing whom the command assigned the thread to.
    fn commit<T>(&mut self, committed: Committed<T>, created: bool, assigned: Option<UserId>) -> T {
        // Who should hear of this commit (a mention, an assignment, an inbound message, a failed
        // send): stored once per person and fact, told on their private channel.
        self.ctx.notifications.tell(rules::notifications::facts(&self.summary, &committed.thread, assigned, &committed.events));
        for event in &committed.events {
            self.ctx.fanout.publish_event(event);
        }
        self.summary = committed.thread.clone();
        self.ctx.teams.changed(committed.thread, created);
        committed.value
    }

    async fn send(&mut self, author: User, draft: Draft) -> DomainResult<Message> {
        draft.validate(crate::clock::now(), self.ctx.config.horizon)?;
        // Refuse before anything is stored: opted-out contact, trial guard. The send task checks
        // again against Postgres, which another node may have changed.
        let contact = &self.summary.contact;
        self.ctx.guard.allows(&contact.phone, contact.opted_out_at.is_some())?;
        // WhatsApp's 24-hour window: a free-form message outside it is refused before anything
        // is stored or sent (a scheduled one is checked again when it comes due: `deliver`).
        let kind = self.summary.channel.kind;
        rules::whatsapp::may_send(kind, draft.content.is_some(), self.summary.last_inbound_at, crate::clock::now())?;
        let committed = self
            .ctx
            .store
            .create_outbound(NewOutbound {
                team: self.summary.team_id,
                thread: self.id,
                author: Some(author.id),
                body: draft.body,
                media_urls: draft.media_urls,
                send_at: draft.send_at,
                cancel_on_reply: draft.cancel_on_reply,
                content: draft.content,
            })
            .await?;
        let message = self.apply(committed);
        if self.typing.remove(&author.id).is_some() {
            self.typing_stopped(author.id);
        }
        match message.scheduled_at {
            Some(at) if message.status == MessageStatus::Scheduled => self.ctx.schedule.due(at),
            _ => self.spawn_send(message.id, None),
        }
        Ok(message)
    }

    async fn add_note(&mut self, author: User, body: &str, visibility: Visibility) -> DomainResult<Note> {
        let body = rules::note_body(body)?;
        let team = self.summary.team_id;
        let members = self.ctx.store.members(team).await?;
        let mentions = rules::resolve_mentions(&body, &members, author.id);
        let committed = self.ctx.store.add_note(team, self.id, author.id, &body, visibility, &mentions).await?;
        let note = self.apply(committed);
        // A private note's mentions stay private: only public notes notify others.
        if visibility == Visibility::Public {
            for user in &note.mentions {
                self.ctx.fanout.publish(
                    ChannelName::User(*user),
                    event::MENTION,
                    &serde_json::json!({ "thread_id": self.id, "note": note, "by": author.name }),
                );
            }
        }
        Ok(note)
    }

    async fn mark_read(&mut self, reader: User) -> DomainResult<ThreadSummary> {
        let summary = self.ctx.store.mark_read(self.summary.team_id, self.id, reader.id).await?;
        // The reader's other tabs clear their badge (and their own "marked unread"); every
        // inbox sees the new count, without the reader's own mark.
        self.ctx.fanout.publish(
            ChannelName::User(reader.id),
            event::THREAD_READ,
            &serde_json::json!({ "thread_id": self.id, "thread": summary }),
        );
        self.keep_shared(summary.clone());
        Ok(summary)
    }

    /// "Mark unread" is the reader's alone: their other tabs hear it on their user channel;
    /// nobody else's inbox changes, so the team hears nothing.
    async fn mark_unread(&mut self, reader: User) -> DomainResult<ThreadSummary> {
        let summary = self.ctx.store.mark_unread(self.summary.team_id, self.id, reader.id).await?;
        self.ctx.fanout.publish(
            ChannelName::User(reader.id),
            event::THREAD_UNREAD,
            &serde_json::json!({ "thread_id": self.id, "thread": summary }),
        );
        self.summary = ThreadSummary { marked_unread: None, ..summary.clone() };
        Ok(summary)
    }

    /// Keeps a row that every member may see (no reader's own state) and hands it to the team.
    fn keep_shared(&mut self, summary: ThreadSummary) {
        let shared = ThreadSummary { marked_unread: None, ..summary };
        self.summary = shared.clone();
        self.ctx.teams.changed(shared, false);
    }

    /// A new message with a failed one's body and media, through the normal send path (checks,
    /// one statement, the send task); the failed one stays as it was.
    async fn retry(&mut self, author: User, message: MessageId) -> DomainResult<Message> {
        let failed = self.ctx.store.message(self.summary.team_id, message).await?;
        if failed.thread_id != self.id {
            return Err(DomainError::NotFound("message"));
        }
        let draft = rules::retry_draft(&failed)?;
        self.send(author, draft).await
    }

    async fn edit_scheduled(
        &mut self,
        actor: User,
        message: MessageId,
        body: Option<String>,
        send_at: Option<OffsetDateTime>,
    ) -> DomainResult<Message> {
        if let Some(b) = &body {
            rules::body(b)?;
            if b.trim().is_empty() {
                return Err(DomainError::invalid("body", "must not be empty"));
            }
        }
        if let Some(at) = send_at {
            rules::send_at(at, crate::clock::now(), self.ctx.config.horizon)?;
        }
        let committed = self.ctx.store.edit_scheduled(self.summary.team_id, message, actor.id, body, send_at).await?;
        let message = self.apply(committed);
        if let Some(at) = message.scheduled_at {
            self.ctx.schedule.due(at);
        }
        Ok(message)
    }

    async fn inbound(&mut self, msg: NewInbound, created: bool) -> DomainResult<InboundOutcome> {
        let team = msg.team;
        let outcome = self.ctx.store.record_inbound(msg).await?;
        Ok(match outcome {
            InboundOutcome::Stored(committed) => {
                let events = committed.events.clone();
                let thread = committed.thread.clone();
                let value = self.apply_created(*committed, created);
                // A customer writing to a resolved or snoozed conversation is never missed: it
                // opens again (`thread.updated` with no actor: the system did it).
                if rules::reopens_on_inbound(thread.status) {
                    let open = ThreadChange { status: Some(ThreadStatus::Open), ..ThreadChange::default() };
                    match self.ctx.store.update_thread(team, self.id, None, open).await {
                        Ok(reopened) => {
                            self.apply(reopened);
                        }
                        Err(e) => tracing::warn!(thread = %self.id, error = %e, "could not reopen the conversation"),
                    }
                }
                // Nobody has it: the team's automatic assignment may give it an agent.
                self.auto_assign().await;
                // The team's replies and rules, after the webhook's answer (an owned task).
                self.automate(&value);
                InboundOutcome::Stored(Box::new(Committed { value, events, thread }))
            }
            InboundOutcome::Duplicate => InboundOutcome::Duplicate,
        })
    }

    /// Hands a message to the carrier off the actor: the rate limiter and the carrier's network
    /// round trip must never hold up this thread's other commands.
    fn spawn_send(&mut self, message: MessageId, slot: Option<OwnedSemaphorePermit>) {
        let ctx = self.ctx.clone();
        self.spawn_delivery(message, slot, async move { deliver(&ctx, message).await });
    }

    /// [`Self::spawn_send`] for a message already taken for the carrier by the statement that
    /// stored it (a campaign's: `create_campaign_message`).
    fn spawn_taken_send(&mut self, out: Outgoing, slot: Option<OwnedSemaphorePermit>) {
        let ctx = self.ctx.clone();
        self.spawn_delivery(out.message.id, slot, async move { deliver_loaded(&ctx, out, &[]).await });
    }

    /// Runs a delivery as an owned task and tells this thread how it ended.
    fn spawn_delivery(
        &mut self,
        message: MessageId,
        slot: Option<OwnedSemaphorePermit>,
        delivery: impl Future<Output = Option<SendOutcome>> + Send + 'static,
    ) {
        self.sending += 1;
        let ctx = self.ctx.clone();
        let thread = self.id;
        self.ctx.tasks.spawn(async move {
            let outcome = delivery.await;
            drop(slot);
            report(ctx, thread, message, outcome, 0).await;
        });
    }

    /// A lost send answer, repaired by a status callback: the sid is recorded (the message is
    /// `sent`), then the callback's own status applies, forward-only.
    async fn adopt(&mut self, message: MessageId, update: StatusUpdate) -> DomainResult<Option<Message>> {
        let Some(committed) = self.ctx.store.adopt_sid(message, &update.sid).await? else { return Ok(None) };
        tracing::warn!(%message, sid = %update.sid, "a lost send answer was repaired by a status callback");
        metrics::counter!("switchboard_sends_repaired_total").increment(1);
        let mut value = self.apply(committed);
        if MessageStatus::Sent.may_become(update.status) {
            let reason = update.error_code.map(twilio_error_reason);
            if let Some(later) =
                self.ctx.store.apply_status(&update.sid, update.status, update.error_code, reason, update.raw, None).await?
            {
                value = self.apply(later);
            }
        }
        Ok(Some(value))
    }

    async fn finish_send(&mut self, message: MessageId, outcome: SendOutcome, attempt: u32) -> Option<String> {
        match self.ctx.store.record_send(message, outcome.clone()).await {
            Ok(Some(committed)) => {
                self.apply_message(committed);
                None
            }
            Ok(None) => None,
            Err(e) => {
                // The carrier has answered: the answer must not be lost with this attempt. It is
                // told again (to a fresh actor if this one crashes now), a few times, with a pause.
                tracing::error!(%message, error = %e, attempt, "could not record a send result; it will be told again");
                retell(self.ctx.clone(), self.id, message, Some(outcome), attempt + 1);
                crash_reason(&e)
            }
        }
    }

    fn retire(&mut self, myself: &ActorRef<ThreadMsg>) {
        let data = serde_json::json!({ "id": self.id, "thread_id": self.id });
        self.ctx.fanout.publish(ChannelName::Thread(self.id), event::THREAD_DELETED, &data);
        self.ctx.fanout.publish(ChannelName::Team(self.summary.team_id), event::THREAD_DELETED, &data);
        use crate::registry::Forget;
        self.ctx.registry.forget(myself.get_id());
        let _ = myself.drain();
    }

    fn tick(&mut self, myself: &ActorRef<ThreadMsg>) {
        self.refresh_queued();
        let now = Instant::now();
        let expired: Vec<UserId> = self.typing.iter().filter(|(_, until)| **until <= now).map(|(u, _)| *u).collect();
        for user in expired {
            self.typing.remove(&user);
            self.typing_stopped(user);
        }
        let idle = if self.watched { self.ctx.config.idle } else { self.ctx.config.idle.min(UNWATCHED_IDLE) };
        if self.typing.is_empty() && self.sending == 0 && self.last_activity.elapsed() >= idle {
            // Leave the registry first, so new commands start a fresh actor, then finish what is
            // already queued: a stop would drop it.
            use crate::registry::Forget;
            self.ctx.registry.forget(myself.get_id());
            let _ = myself.drain();
        }
    }

    fn typing_stopped(&self, user: UserId) {
        let channel = ChannelName::Thread(self.id).to_string();
        let frame = typing_frame(&channel, user, false);
        self.ctx.fanout.publish_frame(channel, frame, None);
    }
}
