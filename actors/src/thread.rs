//! ThreadActor: the single writer of one thread on this node. Every change to a thread (an agent's
//! message, a note, a read, an assignment, an inbound message, a delivery status, a scheduled
//! dispatch) passes through here, is committed to Postgres (which assigns the event's seq), and
//! is then fanned out. Typing state lives here too, with its expiry.

use crate::core::Core;
use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::hub::ConnRef;
use crate::ids::*;
use crate::ports::*;
use crate::protocol::{self, ChannelName};
use bytes::Bytes;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// What a thread actor does.
pub enum ThreadMsg {
    /// An agent sends a message now, or schedules it when `send_at` is set.
    Send {
        author: User,
        body: String,
        media_urls: Vec<String>,
        send_at: Option<OffsetDateTime>,
        cancel_on_reply: bool,
        reply: RpcReplyPort<DomainResult<Message>>,
    },
    /// The scheduler claimed this message (now `sending`): hand it to the carrier, holding one
    /// of the node's send slots until the carrier answers.
    Dispatch { message: MessageId, slot: Option<tokio::sync::OwnedSemaphorePermit> },
    /// The carrier answered for a message this actor handed over.
    SendFinished { message: MessageId, outcome: SendOutcome },
    /// A verified inbound webhook for this thread; `created` when the webhook created the thread.
    Inbound { msg: NewInbound, created: bool, reply: RpcReplyPort<DomainResult<InboundOutcome>> },
    /// A verified status callback for a message of this thread.
    Status {
        sid: String,
        status: MessageStatus,
        error_code: Option<i32>,
        reason: Option<String>,
        raw: serde_json::Value,
        reply: RpcReplyPort<DomainResult<Option<Message>>>,
    },
    /// An agent adds a note (mentions are resolved here).
    AddNote { author: User, body: String, visibility: Visibility, reply: RpcReplyPort<DomainResult<Note>> },
    /// An agent read the thread.
    MarkRead { reader: User, reply: RpcReplyPort<DomainResult<ThreadSummary>> },
    /// An agent changes status and/or assignee (`Some(None)` unassigns).
    Update { actor: User, status: Option<ThreadStatus>, assignee: Option<Option<UserId>>, reply: RpcReplyPort<DomainResult<ThreadSummary>> },
    /// An agent edits a scheduled message.
    EditScheduled {
        actor: User,
        message: MessageId,
        body: Option<String>,
        send_at: Option<OffsetDateTime>,
        reply: RpcReplyPort<DomainResult<Message>>,
    },
    /// An agent cancels a scheduled message.
    CancelScheduled { actor: User, message: MessageId, reply: RpcReplyPort<DomainResult<Message>> },
    /// An agent is typing (relayed by the gateway already; this keeps the expiry).
    Typing { user: UserId, typing: bool },
    /// A socket just joined the thread channel: tell it who is typing now.
    ViewerJoined { conn: ConnRef },
    /// Timer: expire typing, stop when idle.
    Tick,
}

/// The live state of one thread.
pub struct ThreadState {
    core: Arc<Core>,
    id: ThreadId,
    team: TeamId,
    /// Who is typing, until when.
    typing: HashMap<UserId, Instant>,
    last_activity: Instant,
}

/// The actor; its state is [`ThreadState`].
pub struct ThreadActor;

#[ractor::async_trait]
impl Actor for ThreadActor {
    type Msg = ThreadMsg;
    type State = ThreadState;
    type Arguments = (Arc<Core>, ThreadId);

    async fn pre_start(&self, myself: ActorRef<ThreadMsg>, (core, id): Self::Arguments) -> Result<ThreadState, ActorProcessingErr> {
        // Load the thread: an unknown id fails the spawn, which the caller reports as 404.
        let team = core.store.thread_owner(id).await?.ok_or("no such thread")?;
        let tick = (core.config.typing_ttl / 3).max(Duration::from_millis(200));
        myself.send_interval(tick, || ThreadMsg::Tick);
        Ok(ThreadState { core, id, team, typing: HashMap::new(), last_activity: Instant::now() })
    }

    async fn handle(&self, myself: ActorRef<ThreadMsg>, msg: ThreadMsg, state: &mut ThreadState) -> Result<(), ActorProcessingErr> {
        if !matches!(msg, ThreadMsg::Tick) {
            state.last_activity = Instant::now();
        }
        // Set when the store failed in a way we do not understand (not a domain refusal).
        let mut crash: Option<String> = None;
        match msg {
            ThreadMsg::Send { author, body, media_urls, send_at, cancel_on_reply, reply } => {
                let result = state.send(&myself, author, body, media_urls, send_at, cancel_on_reply).await;
                crash = answer(reply, result);
            }
            ThreadMsg::Dispatch { message, slot } => state.spawn_send(&myself, message, slot),
            ThreadMsg::SendFinished { message, outcome } => {
                if let Err(e) = state.finish_send(message, outcome).await {
                    tracing::error!(%message, error = %e, "could not record a send result");
                    crash = crash_reason(&e);
                }
            }
            ThreadMsg::Inbound { msg, created, reply } => {
                let result = state.inbound(msg, created).await;
                crash = answer(reply, result);
            }
            ThreadMsg::Status { sid, status, error_code, reason, raw, reply } => {
                let result = state.core.store.apply_status(&sid, status, error_code, reason, raw).await;
                let result = result.map(|committed| {
                    committed.map(|c| {
                        state.core.fan_out(&c, false);
                        c.value
                    })
                });
                crash = answer(reply, result);
            }
            ThreadMsg::AddNote { author, body, visibility, reply } => {
                crash = answer(reply, state.add_note(author, body, visibility).await);
            }
            ThreadMsg::MarkRead { reader, reply } => {
                let result = state.core.store.mark_read(state.team, state.id).await;
                if let Ok(summary) = &result {
                    // The reader's other tabs clear their badge; every inbox sees the new count.
                    state.core.publish(
                        ChannelName::User(reader.id),
                        event::THREAD_READ,
                        &serde_json::json!({ "thread_id": state.id, "thread": summary }),
                    );
                    state.core.team_changed(summary.clone(), false);
                }
                crash = answer(reply, result);
            }
            ThreadMsg::Update { actor, status, assignee, reply } => {
                let result = state.core.store.update_thread(state.team, state.id, actor.id, status, assignee).await;
                let result = result.map(|c| {
                    state.core.fan_out(&c, false);
                    c.value
                });
                crash = answer(reply, result);
            }
            ThreadMsg::EditScheduled { actor, message, body, send_at, reply } => {
                let result = state.core.store.edit_scheduled(state.team, message, actor.id, body, send_at).await;
                let result = result.map(|c| {
                    state.core.fan_out(&c, false);
                    if let Some(at) = c.value.scheduled_at {
                        state.core.scheduled(at);
                    }
                    c.value
                });
                crash = answer(reply, result);
            }
            ThreadMsg::CancelScheduled { actor, message, reply } => {
                let result = state.core.store.cancel_scheduled(state.team, message, actor.id).await;
                let result = result.map(|c| {
                    state.core.fan_out(&c, false);
                    c.value
                });
                crash = answer(reply, result);
            }
            ThreadMsg::Typing { user, typing } => {
                if typing {
                    state.typing.insert(user, Instant::now() + state.core.config.typing_ttl);
                } else if state.typing.remove(&user).is_some() {
                    state.typing_stopped(user);
                }
            }
            ThreadMsg::ViewerJoined { conn } => {
                let channel = ChannelName::Thread(state.id).to_string();
                for user in state.typing.keys() {
                    let frame = typing_frame(&channel, *user, true);
                    conn.push(Bytes::from(frame));
                }
            }
            ThreadMsg::Tick => {
                let now = Instant::now();
                let expired: Vec<UserId> = state.typing.iter().filter(|(_, until)| **until <= now).map(|(u, _)| *u).collect();
                for user in expired {
                    state.typing.remove(&user);
                    state.typing_stopped(user);
                }
                if state.typing.is_empty() && state.last_activity.elapsed() >= state.core.config.thread_idle {
                    // Leave the registry first, so new commands spawn a fresh actor, then finish
                    // what is already queued: a stop would drop it.
                    state.core.forget(&myself.get_cell());
                    let _ = myself.drain();
                }
            }
        }
        // Let it crash: the caller already has its answer; the supervisor forgets this actor
        // and the next command spawns a fresh one that reloads from Postgres.
        match crash {
            Some(reason) => Err(reason.into()),
            None => Ok(()),
        }
    }

    async fn post_stop(&self, myself: ActorRef<ThreadMsg>, state: &mut ThreadState) -> Result<(), ActorProcessingErr> {
        state.core.forget(&myself.get_cell());
        Ok(())
    }
}

/// Answers a caller and says whether the actor should crash (an internal store failure).
fn answer<T>(reply: RpcReplyPort<DomainResult<T>>, result: DomainResult<T>) -> Option<String> {
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
    async fn send(
        &mut self,
        myself: &ActorRef<ThreadMsg>,
        author: User,
        body: String,
        media_urls: Vec<String>,
        send_at: Option<OffsetDateTime>,
        cancel_on_reply: bool,
    ) -> DomainResult<Message> {
        if body.trim().is_empty() && media_urls.is_empty() {
            return Err(DomainError::invalid("body", "a message needs a body or a media URL"));
        }
        if let Some(at) = send_at {
            let now = OffsetDateTime::now_utc();
            if at <= now {
                return Err(DomainError::invalid("send_at", "must be in the future"));
            }
            if at - now > self.core.config.schedule_horizon {
                return Err(DomainError::invalid("send_at", "is too far in the future"));
            }
        }
        // Refuse before anything is stored or sent: opted-out contact, trial guard.
        let summary = self.core.store.thread(self.team, self.id).await?;
        if summary.contact.opted_out_at.is_some() {
            return Err(DomainError::OptedOut);
        }
        self.core.check_verified(&summary.contact.phone)?;

        let committed = self
            .core
            .store
            .create_outbound(NewOutbound {
                team: self.team,
                thread: self.id,
                author: Some(author.id),
                body,
                media_urls,
                send_at,
                cancel_on_reply,
            })
            .await?;
        self.core.fan_out(&committed, false);
        if self.typing.remove(&author.id).is_some() {
            self.typing_stopped(author.id);
        }
        match committed.value.scheduled_at {
            Some(at) if committed.value.status == MessageStatus::Scheduled => self.core.scheduled(at),
            _ => self.spawn_send(myself, committed.value.id, None),
        }
        Ok(committed.value)
    }

    /// Hands a message to the carrier off the actor: the rate limiter and the carrier's network
    /// round trip must never hold up this thread's other commands.
    fn spawn_send(&self, myself: &ActorRef<ThreadMsg>, message: MessageId, slot: Option<tokio::sync::OwnedSemaphorePermit>) {
        let core = self.core.clone();
        let me = myself.clone();
        tokio::spawn(async move {
            let outcome = deliver(&core, message).await;
            drop(slot);
            let Some(outcome) = outcome else { return };
            if me.cast(ThreadMsg::SendFinished { message, outcome: outcome.clone() }).is_err() {
                // This actor stopped meanwhile: a fresh one records the result.
                let _ = core.tell_thread_of(message, ThreadMsg::SendFinished { message, outcome }).await;
            }
        });
    }

    async fn finish_send(&mut self, message: MessageId, outcome: SendOutcome) -> DomainResult<()> {
        if let Some(committed) = self.core.store.record_send(message, outcome).await? {
            self.core.fan_out(&committed, false);
        }
        Ok(())
    }

    async fn inbound(&mut self, msg: NewInbound, created: bool) -> DomainResult<InboundOutcome> {
        let outcome = self.core.store.record_inbound(msg).await?;
        if let InboundOutcome::Stored(committed) = &outcome {
            self.core.fan_out(committed, created);
        }
        Ok(outcome)
    }

    async fn add_note(&mut self, author: User, body: String, visibility: Visibility) -> DomainResult<Note> {
        if body.trim().is_empty() {
            return Err(DomainError::invalid("body", "a note needs a body"));
        }
        let members = self.core.store.members(self.team).await?;
        let mentions = resolve_mentions(&body, &members, author.id);
        let committed = self.core.store.add_note(self.team, self.id, author.id, body.trim(), visibility, &mentions).await?;
        self.core.fan_out(&committed, false);
        // A private note's mentions stay private: only public notes notify others.
        if visibility == Visibility::Public {
            for user in &committed.value.mentions {
                self.core.publish(
                    ChannelName::User(*user),
                    event::MENTION,
                    &serde_json::json!({ "thread_id": self.id, "note": committed.value, "by": author.name }),
                );
            }
        }
        Ok(committed.value)
    }

    fn typing_stopped(&self, user: UserId) {
        let channel = ChannelName::Thread(self.id).to_string();
        let frame = typing_frame(&channel, user, false);
        self.core.publish_frame(channel, frame, None);
    }
}

/// Checks a message against opt-out and the trial guard, waits for the sender's rate limit, and
/// asks the carrier. Runs outside the actor. `None` when the message is no longer ours to send
/// (the stale sweep failed it meanwhile).
async fn deliver(core: &Arc<Core>, message: MessageId) -> Option<SendOutcome> {
    let failed = |code, reason| Some(SendOutcome::Failed { code, reason });
    let out = match core.store.outgoing(message).await {
        Ok(out) => out,
        Err(e) => return failed(None, format!("could not load the message: {e}")),
    };
    if out.opted_out {
        return failed(Some(21610), DomainError::OptedOut.to_string());
    }
    if let Err(e) = core.check_verified(&out.to) {
        return failed(Some(21608), e.to_string());
    }
    // One budget per sender as Twilio counts it: the messaging service, else the number on
    // this channel kind (an SMS burst must not slow the same number's WhatsApp).
    let sender = match &out.channel.messaging_service_sid {
        Some(service) => service.clone(),
        None => format!("{}:{}", out.channel.kind, out.channel.number),
    };
    // While waiting for the sender's budget, keep the claim fresh: the stale sweep is for sends
    // whose process died, not for sends that are merely queued behind others.
    let refresh = (core.config.stale_sending_after / 3).max(std::time::Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = core.send_limiter.until_key_ready(&sender) => break,
            _ = tokio::time::sleep(refresh) => {
                if !core.store.touch_claim(message).await.unwrap_or(false) {
                    return None;
                }
            }
        }
    }
    // Last check before the carrier: a message the sweep failed meanwhile is never sent.
    match core.store.touch_claim(message).await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => return Some(SendOutcome::Failed { code: None, reason: format!("could not confirm the claim: {e}") }),
    }
    let req = CarrierRequest {
        channel: out.channel,
        to: out.to,
        body: out.message.body,
        media_urls: out.message.media.into_iter().map(|m| m.url).collect(),
        status_callback: core.status_callback_url(),
    };
    Some(match core.carrier.send(req).await {
        Ok(sid) => SendOutcome::Sent { sid },
        Err(e) => SendOutcome::Failed { code: e.code, reason: e.reason },
    })
}

/// Finds `@Name` mentions of team members: full name, first name or email local part, any case.
/// The longest match wins so `@Ann Lee` is not read as `@Ann` when both exist.
pub fn resolve_mentions(body: &str, members: &[User], author: UserId) -> Vec<UserId> {
    let lower = body.to_lowercase();
    let mut found = Vec::new();
    for (i, _) in lower.match_indices('@') {
        let rest = &lower[i + 1..];
        let mut best: Option<(usize, UserId)> = None;
        for m in members {
            let full = m.name.to_lowercase();
            let first = full.split_whitespace().next().unwrap_or_default().to_owned();
            let local = m.email.split('@').next().unwrap_or_default().to_lowercase();
            for handle in [full, first, local] {
                if handle.is_empty() || !rest.starts_with(&handle) {
                    continue;
                }
                // The handle must end at a word boundary.
                let next = rest[handle.len()..].chars().next();
                if next.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                if best.is_none_or(|(len, _)| handle.len() > len) {
                    best = Some((handle.len(), m.id));
                }
            }
        }
        if let Some((_, id)) = best
            && id != author
            && !found.contains(&id)
        {
            found.push(id);
        }
    }
    found
}

impl Core {
    /// Tells the actor of the thread a message belongs to (used when the original actor stopped).
    pub(crate) async fn tell_thread_of(self: &Arc<Self>, message: MessageId, msg: ThreadMsg) -> DomainResult<()> {
        let thread = self.store.thread_of_message(message).await?;
        self.tell_thread(thread, msg).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, email: &str) -> User {
        User { id: UserId::new(), team_id: TeamId::new(), email: email.into(), name: name.into(), role: Role::Agent }
    }

    #[test]
    fn mentions_match_names_and_handles() {
        let ann = user("Ann Lee", "ann@x.io");
        let annie = user("Annie Hall", "annie@x.io");
        let bob = user("Bob Stone", "bstone@x.io");
        let members = vec![ann.clone(), annie.clone(), bob.clone()];
        let got = resolve_mentions("hey @Ann Lee and @annie, also @bstone.", &members, UserId::new());
        assert_eq!(got, vec![ann.id, annie.id, bob.id]);
        assert!(resolve_mentions("mail ann@x.io", &members, UserId::new()).is_empty());
        assert!(resolve_mentions("@Bob", &members, bob.id).is_empty(), "no self-mention");
    }
}
